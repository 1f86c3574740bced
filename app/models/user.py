"""Portal users, their roles, and their server-side sign-in sessions."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, VersionedMixin, utcnow
from app.models.org import Franchisee, Region, Store

ROLES = {
    "hq_admin": _l("HQ administrator"),
    "hq_auditor": _l("HQ customer-experience auditor"),
    "hq_supervisor": _l("Regional supervisor"),
    "hq_department": _l("HQ department member"),
    "hq_viewer": _l("HQ viewer (committee)"),
    "mystery_shopper": _l("Mystery shopper"),
    "franchise_owner": _l("Franchise owner"),
    "store_manager": _l("Store manager"),
    "store_staff": _l("Store staff"),
}
FRANCHISE_ROLES = ("franchise_owner", "store_manager", "store_staff")
STORE_ROLES = ("store_manager", "store_staff")

DEPARTMENTS = {
    "customer_service": _l("Customer service"),
    "marketing": _l("Marketing"),
    "sales": _l("Sales"),
    "rnd": _l("R&D"),
    "logistics": _l("Logistics"),
    "hr": _l("Human resources"),
}

user_store = Table(
    "user_store",
    db.metadata,
    Column("user_id", ForeignKey("user.id"), primary_key=True),
    Column("store_id", ForeignKey("store.id"), primary_key=True),
)
user_region = Table(
    "user_region",
    db.metadata,
    Column("user_id", ForeignKey("user.id"), primary_key=True),
    Column("region_id", ForeignKey("region.id"), primary_key=True),
)


class User(UserMixin, TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(30))
    franchisee_id: Mapped[int | None] = mapped_column(ForeignKey("franchisee.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(30))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Unread portal notifications (models/notification.py), kept by services/notifications.py
    # so the count in the navigation costs no query: it comes with the user's row.
    unread_notifications: Mapped[int] = mapped_column(default=0, server_default="0")

    franchisee: Mapped[Franchisee | None] = relationship()
    stores: Mapped[list[Store]] = relationship(secondary=user_store, order_by=Store.code)
    regions: Mapped[list[Region]] = relationship(secondary=user_region, order_by=Region.code)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self):
        return ROLES[self.role]

    @property
    def department_label(self):
        return DEPARTMENTS.get(self.department, "")

    @property
    def is_hq(self) -> bool:
        return self.role.startswith("hq_")

    def __str__(self) -> str:
        return f"{self.display_name} ({self.username})"


class UserSession(db.Model):
    """One sign-in. The cookie carries a random token; only its SHA-256 is stored.

    Signing out, a password change or deactivation sets ``revoked_at``, so a
    cookie captured earlier stops working at once.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()
