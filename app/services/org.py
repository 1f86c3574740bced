"""Franchisees, regions and stores: creation, edits, status, transfer and closure.

Nothing is ever deleted: records elsewhere point at these rows, and past
reports must still show who owned a store at the time.
"""
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import Customer, Franchisee, Region, Store, StoreOwnership, User
from app.models.base import CurrentOwner
from app.security import sessions
from app.security.tenancy import unscoped
from app.services import RuleError, audit, customer_duplicates


class OrgError(RuleError):
    """An organisation change that breaks a rule (transfer, closure)."""


def _apply(obj, data: dict) -> dict:
    for key, value in data.items():
        setattr(obj, key, value)
    return audit.changes(obj)


def create_franchisee(data: dict, actor: User) -> Franchisee:
    franchisee = Franchisee(**data)
    db.session.add(franchisee)
    db.session.flush()
    audit.record("franchisee.created", actor=actor, target=franchisee)
    return franchisee


def update_franchisee(franchisee: Franchisee, data: dict, actor: User) -> None:
    status_before = franchisee.status
    changed = _apply(franchisee, data)
    if not changed:
        return
    audit.record("franchisee.updated", actor=actor, target=franchisee, details=changed)
    if franchisee.status == "terminated" and status_before != "terminated":
        # A terminated franchisee's people lose access at once.
        for user in db.session.scalars(select(User).where(User.franchisee_id == franchisee.id)):
            sessions.revoke_all(user)


def create_region(data: dict, actor: User) -> Region:
    region = Region(**data)
    db.session.add(region)
    db.session.flush()
    audit.record("region.created", actor=actor, target=region)
    return region


def update_region(region: Region, data: dict, actor: User) -> None:
    changed = _apply(region, data)
    if changed:
        audit.record("region.updated", actor=actor, target=region, details=changed)


def create_store(data: dict, actor: User) -> Store:
    """Open a store; its first ownership period starts on the opening date."""
    store = Store(**data)
    db.session.add(store)
    db.session.flush()
    db.session.add(
        StoreOwnership(store_id=store.id, franchisee_id=store.franchisee_id, start_on=store.opened_on)
    )
    audit.record("store.created", actor=actor, target=store)
    from app.services.training import records

    records.refresh_stores([store.id])  # listed under Teams from the start, short of its whole norm
    return store


def update_store(store: Store, data: dict, actor: User) -> None:
    """Edit descriptive fields; ownership changes only through ``transfer_store``."""
    data = {k: v for k, v in data.items() if k not in ("franchisee", "franchisee_id")}
    changed = _apply(store, data)
    if changed:
        audit.record("store.updated", actor=actor, target=store, details=changed)
    if "size" in changed or "status" in changed:  # the team's norm follows the store's size
        from app.services.training import records

        db.session.flush()
        records.refresh_stores([store.id])


def current_ownership(store: Store) -> StoreOwnership | None:
    return db.session.scalar(
        select(StoreOwnership).where(StoreOwnership.store_id == store.id, StoreOwnership.end_on.is_(None))
    )


def transfer_store(store: Store, to: Franchisee, effective_on: date, note: str | None, actor: User) -> None:
    """Hand the store to another franchisee from ``effective_on``; history is kept."""
    if store.status == "closed":
        raise OrgError(_l("A closed store cannot be transferred."))
    if to.id == store.franchisee_id:
        raise OrgError(_l("The store already belongs to this franchisee."))
    if to.status != "active":
        raise OrgError(_l("Stores can only be transferred to an active franchisee."))
    current = current_ownership(store)
    if current is not None and effective_on <= current.start_on:
        raise OrgError(
            _l("The transfer date must be after the current owner's start date (%(d)s).", d=format_date(current.start_on))
        )
    if effective_on > date.today():
        raise OrgError(_l("The transfer date cannot be in the future."))
    previous_id = store.franchisee_id
    if current is not None:
        current.end_on = effective_on - timedelta(days=1)
    db.session.add(StoreOwnership(store_id=store.id, franchisee_id=to.id, start_on=effective_on, note=note))
    store.franchisee = to
    _move_current_records(store.id, to.id)
    audit.record(
        "store.transferred",
        actor=actor,
        target=store,
        details={"from": previous_id, "to": to.id, "effective_on": effective_on.isoformat(), "note": note},
    )


# Records whose franchisee is the store's *current* owner (models.base.CurrentOwner) move with
# the store. Purchases, contacts and imports keep the franchisee that owned the store when they
# happened, for past-period figures (``Store.owner_on``); so do the monthly roll-ups.
def current_owner_models() -> list:
    return sorted((m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, CurrentOwner)),
                  key=lambda cls: cls.__name__)


def _move_current_records(store_id: int, franchisee_id: int) -> None:
    with unscoped():
        for model in current_owner_models():
            db.session.execute(
                update(model).where(model.store_id == store_id).values(franchisee_id=franchisee_id)
                .execution_options(synchronize_session="fetch")
            )
        # Duplicates are looked for within one franchisee: the store's customers are now
        # compared with the new owner's (a customer known to both turns up as a pair).
        ids = db.session.scalars(select(Customer.id).where(Customer.store_id == store_id)).all()
        for start in range(0, len(ids), 2000):
            customer_duplicates.refresh_for(ids[start:start + 2000])


def close_store(store: Store, closed_on: date, actor: User) -> None:
    if store.status == "closed":
        raise OrgError(_l("The store is already closed."))
    if closed_on < store.opened_on:
        raise OrgError(_l("A store cannot close before it opened."))
    store.status = "closed"
    store.closed_on = closed_on
    audit.record("store.closed", actor=actor, target=store, details={"closed_on": closed_on.isoformat()})


def reopen_store(store: Store, actor: User) -> None:
    if store.status != "closed":
        raise OrgError(_l("The store is not closed."))
    store.status = "open"
    store.closed_on = None
    audit.record("store.reopened", actor=actor, target=store)
