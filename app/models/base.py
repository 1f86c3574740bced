"""Column mixins shared by the models."""
from datetime import UTC, datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    """Naive UTC; every timestamp in the database is UTC, shown in the portal's zone."""
    return datetime.now(UTC).replace(tzinfo=None)


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

    @declared_attr
    def store_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("store.id"), index=True)

    @declared_attr
    def franchisee_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("franchisee.id"), index=True)
