"""Column mixins shared by the models."""
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    """Naive UTC; every timestamp in the database is UTC, shown in the portal's zone."""
    return datetime.now(UTC).replace(tzinfo=None)


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _zone_name() -> str:
    # (Imported above, not here: the import runs 200,000 times in an import's check.)
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"


def local_date(moment: datetime) -> date:
    """The date, where the stores are, of a stored (naive UTC) timestamp."""
    return moment.replace(tzinfo=UTC).astimezone(_zone(_zone_name())).date()


def local_today() -> date:
    """Today's date where the stores are (PORTAL_TIMEZONE, Asia/Shanghai by default): the date of
    purchases, consents, due care and churn. ``utcnow().date()`` is still yesterday in China until
    08:00, which refused a consent dated today and defaulted forms to yesterday (issue 8)."""
    return datetime.now(_zone(_zone_name())).date()


class BilingualName:
    """``name_zh`` / ``name_en``, shown in the reader's language."""

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VersionedMixin:
    """Optimistic locking: an UPDATE whose version is stale raises StaleDataError."""

    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class StoreOwned:
    """A record that belongs to one store (and the franchisee owning it at the time).

    Every class with this mixin is filtered by the tenant scope automatically
    (app/security/tenancy.py); views never add the filter themselves.
    """

    # A class whose own composite indexes lead with store_id and franchisee_id sets this to
    # False: a single-column index beside them only costs every insert (Customer: the 100,000-row
    # import wrote two more index entries per row for indexes no query picks).
    owner_columns_indexed = True

    @declared_attr
    def store_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("store.id"), index=cls.owner_columns_indexed)

    @declared_attr
    def franchisee_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("franchisee.id"), index=cls.owner_columns_indexed)


class CurrentOwner(StoreOwned):
    """A ``StoreOwned`` record whose ``franchisee_id`` is always its store's *current* owner:
    ``services/org.transfer_store`` moves it with the store. Events (purchases, contacts,
    imports) keep the franchisee that owned the store on their day instead (``Store.owner_on``).

    Because the column is kept so, a franchise owner's scope also filters these records by
    franchisee (app/security/tenancy.py), which lets the planner walk franchisee-led indexes.
    """

    # The same column as StoreOwned's, declared here too: the tenancy criterion for this mixin
    # reads it from the mixin itself (SQLAlchemy's loader criteria look in the class's own dict).
    @declared_attr
    def franchisee_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("franchisee.id"), index=cls.owner_columns_indexed)


class FranchiseeShared:
    """A record of headquarters (``franchisee_id`` empty: shared with the whole network) or of
    one franchisee (its own course, its plan). The tenant scope shows a franchisee
    headquarters' records and its own, never another franchisee's (app/security/tenancy.py)."""

    @declared_attr
    def franchisee_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("franchisee.id"), index=True)


class ReportScoped:
    """A printed report or a batch of them (issue 13): of one store (``store_id`` set), of a
    whole franchisee (only ``franchisee_id``) or of the network (neither). The tenant scope
    shows a store's reports to whoever sees the store, a franchisee's to its owner alone (a
    store manager sees one store, not the comparison of all of them), the network's to
    headquarters' network scope alone (app/security/tenancy.py)."""

    @declared_attr
    def store_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("store.id"), index=True)

    @declared_attr
    def franchisee_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("franchisee.id"), index=True)


class FranchiseeHeld:
    """A record held by one franchisee, or by headquarters (``franchisee_id`` empty), and naming
    the user who holds it (issue 15: a numbered copy of the franchise manual). Unlike
    ``FranchiseeShared``, headquarters' rows are not shown to franchisees: the tenant scope shows
    a franchise owner (or a supervisor) the franchisee's rows, a store's people only the rows
    they hold themselves, and nobody below headquarters the rows of headquarters
    (app/security/tenancy.py)."""

    @declared_attr
    def franchisee_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("franchisee.id"), index=True)

    @declared_attr
    def holder_user_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("user.id"), index=True)
