"""The franchise network: regions, franchisees, stores and who owned each store when."""
import secrets
from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import StoreOwned, TimestampMixin, VersionedMixin

FRANCHISEE_STATUSES = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "terminated": _l("Terminated"),
}
STORE_STATUSES = {
    "open": _l("Open"),
    "closed": _l("Closed"),
}


class Region(TimestampMixin, VersionedMixin, db.Model):
    """A group of stores (区域) supervised by regional field supervisors."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    stores: Mapped[list["Store"]] = relationship(back_populates="region")

    def __str__(self) -> str:
        return self.name


class Franchisee(TimestampMixin, VersionedMixin, db.Model):
    """A franchisee (加盟商) operating stores under a franchise contract."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    legal_entity: Mapped[str] = mapped_column(String(150))
    contract_no: Mapped[str] = mapped_column(String(40), unique=True)
    contract_start: Mapped[date]
    contract_end: Mapped[date]
    owner_name: Mapped[str] = mapped_column(String(60))
    owner_phone: Mapped[str] = mapped_column(String(30))
    owner_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="active")

    stores: Mapped[list["Store"]] = relationship(
        back_populates="franchisee", order_by="Store.code"
    )

    @property
    def status_label(self):
        return FRANCHISEE_STATUSES[self.status]

    def __str__(self) -> str:
        return self.name


class Store(TimestampMixin, VersionedMixin, db.Model):
    """A store (门店). ``franchisee_id`` is the current owner; history is in StoreOwnership."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    city: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    opened_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(20), default="open")
    closed_on: Mapped[date | None]
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)
    # Opening hours, for the complaint clock (empty: 10:00 to 21:00); closed_weekdays lists
    # the weekdays the store is closed as digits, 0 = Monday ("6": closed on Sundays).
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    closed_weekdays: Mapped[str] = mapped_column(String(7), default="", server_default="")
    # small | medium | large: sets the team's size by position (models/training.StaffingNorm).
    size: Mapped[str] = mapped_column(String(10), default="medium", server_default="medium")
    # The store's public complaint page is /feedback/<public_key> (printed as a QR code): a random
    # key, so the pages of the network cannot be walked by store code. Set when the store is created.
    public_key: Mapped[str | None] = mapped_column(String(24), unique=True, index=True,
                                                   default=lambda: secrets.token_urlsafe(12))

    region: Mapped[Region] = relationship(back_populates="stores")
    franchisee: Mapped[Franchisee] = relationship(back_populates="stores")
    ownerships: Mapped[list["StoreOwnership"]] = relationship(
        back_populates="store", order_by="StoreOwnership.start_on"
    )

    @property
    def status_label(self):
        return STORE_STATUSES[self.status]

    def owner_on(self, day: date) -> int | None:
        """Id of the franchisee that owned this store on ``day`` (for past-period reports)."""
        return db.session.scalar(
            select(StoreOwnership.franchisee_id).where(
                StoreOwnership.store_id == self.id,
                StoreOwnership.start_on <= day,
                (StoreOwnership.end_on.is_(None)) | (StoreOwnership.end_on >= day),
            )
        )

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StoreOwnership(StoreOwned, db.Model):
    """One period in which a franchisee owned a store; ``end_on`` is None while current."""

    __table_args__ = (UniqueConstraint("store_id", "start_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    start_on: Mapped[date]
    end_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(String(200))

    store: Mapped[Store] = relationship(back_populates="ownerships")
    franchisee: Mapped[Franchisee] = relationship()
