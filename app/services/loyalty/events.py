"""Member events and customer clubs (R70, R75; seed 003). Nothing here commits.

Inviting, like issuing an offer, takes the customers the list's filters chose and adds those who
agreed to be contacted (R61) and are not yet invited, in one INSERT ... SELECT. The sign-in
sheet marks who came (walk-ins are added as they sign in); the event's counts of invited and
attended guests are kept with it.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, update

from app.extensions import db
from app.models import Customer
from app.models.base import local_date, local_today, utcnow
from app.models.event import Club, ClubMember, EventGuest, MemberEvent
from app.security.tenancy import unscoped
from app.services import RuleError, audit
from app.services.loyalty import insert_for_customers

INVITE_CAP = 20_000
EVENT_FIELDS = ("title", "kind", "theme", "starts_at", "place", "store_id", "club_id", "description")


class EventError(RuleError):
    pass


def save_event(event: MemberEvent | None, data: dict, activities: list[str], franchisee_id: int | None,
               actor) -> MemberEvent:
    values = {k: data[k] for k in EVENT_FIELDS}
    for key in ("theme", "place", "description"):
        values[key] = (values[key] or "").strip() or None
    values["store_id"] = values["store_id"] or None
    values["club_id"] = values["club_id"] or None
    values["activities"] = ",".join(activities) or None
    if event is None:
        event = MemberEvent(**values, franchisee_id=franchisee_id, created_by_id=actor.id)
        db.session.add(event)
        db.session.flush()
        audit.record("event.created", actor=actor, target=event)
        return event
    for key, value in values.items():
        setattr(event, key, value)
    changed = audit.changes(event)
    if changed:
        audit.record("event.updated", actor=actor, target=event, details={"fields": sorted(changed)})
    db.session.flush()
    return event


def _consenting(customers):
    return customers.where(Customer.consent.is_(True), Customer.anonymised_at.is_(None),
                           Customer.merged_into_id.is_(None))


def _invitable(event: MemberEvent, customers):
    stmt = _consenting(customers).where(~select(EventGuest.id).where(
        EventGuest.event_id == event.id, EventGuest.customer_id == Customer.id).exists())
    if event.franchisee_id is not None:
        stmt = stmt.where(Customer.franchisee_id == event.franchisee_id)
    return stmt


def _capped(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(Customer.id).order_by(None).limit(INVITE_CAP + 1).subquery()))


def silent_of(customers) -> int:
    """Chosen customers who did not agree to be contacted, up to the cap + 1."""
    return _capped(customers.where(Customer.consent.is_(False), Customer.anonymised_at.is_(None)))


def preview(event: MemberEvent, customers) -> tuple[int, int]:
    """(customers who would be invited, up to the cap + 1; chosen without consent, likewise)."""
    return _capped(_invitable(event, customers)), silent_of(customers)


def invite(event: MemberEvent, customers, actor) -> int:
    eligible, _silent = preview(event, customers)
    if eligible > INVITE_CAP:
        raise EventError(_l("More than %(cap)s customers: narrow the list with its filters, e.g. by store.",
                            cap=f"{INVITE_CAP:,}"))
    made = insert_for_customers(
        EventGuest.__table__, ["store_id", "franchisee_id", "event_id", "customer_id", "invited_at", "created_at"],
        (Customer.store_id, Customer.franchisee_id, literal(event.id), Customer.id, literal(utcnow()),
         literal(utcnow())), _invitable(event, customers), INVITE_CAP)
    recount(event)
    audit.record("event.invited", actor=actor, target=event, details={"customers": made})
    return made


def recount(event: MemberEvent) -> None:
    """The event's stored counts, over every guest whoever is saving (an HQ event has guests of
    every franchisee)."""
    with unscoped():
        invited, attended = db.session.execute(
            select(func.count(EventGuest.invited_at), func.count(EventGuest.signed_in_at))
            .where(EventGuest.event_id == event.id)).one()
    db.session.execute(update(MemberEvent).where(MemberEvent.id == event.id)
                       .values(invited=invited, attended=attended).execution_options(synchronize_session=False))
    db.session.refresh(event)


def _held(event: MemberEvent) -> None:
    if local_date(event.starts_at) > local_today():
        raise EventError(_l("The event has not taken place yet: guests sign in on the day."))


def sign_in(event: MemberEvent, listed: set[int], came: set[int], actor) -> None:
    """The sheet as saved: of the guests listed on it, those ticked came, the others did not."""
    _held(event)
    now = utcnow()
    came &= listed
    if came:
        db.session.execute(update(EventGuest).where(EventGuest.event_id == event.id, EventGuest.id.in_(came),
                                                    EventGuest.signed_in_at.is_(None))
                           .values(signed_in_at=now))
    if listed - came:
        db.session.execute(update(EventGuest).where(EventGuest.event_id == event.id, EventGuest.id.in_(listed - came))
                           .values(signed_in_at=None))
    recount(event)
    audit.record("event.sign_in", actor=actor, target=event, details={"came": len(came)})


def walk_in(event: MemberEvent, customer: Customer, actor) -> EventGuest:
    """A customer who came without an invitation signs in (their consent is not needed to be there)."""
    if customer.is_anonymised or customer.merged_into_id:
        raise EventError(_l("This customer's file is closed."))
    if event.franchisee_id is not None and customer.franchisee_id != event.franchisee_id:
        raise EventError(_l("This customer is not one of the franchisee's."))
    _held(event)
    guest = db.session.scalar(select(EventGuest).where(EventGuest.event_id == event.id,
                                                       EventGuest.customer_id == customer.id))
    if guest is None:
        guest = EventGuest(event_id=event.id, customer_id=customer.id, store_id=customer.store_id,
                           franchisee_id=customer.franchisee_id)
        db.session.add(guest)
    guest.signed_in_at = guest.signed_in_at or utcnow()
    db.session.flush()
    recount(event)
    return guest


def feedback(guest: EventGuest, rating: int | None, text: str | None, actor) -> None:
    if guest.signed_in_at is None:
        raise EventError(_l("Feedback is recorded for guests who came."))
    guest.rating, guest.feedback = rating, (text or "").strip() or None
    db.session.flush()


def counts(event_ids) -> dict[int, tuple[int, int]]:
    """{event id: (guests invited, guests who came)} counted in the caller's scope: an owner sees
    the numbers of their own customers at headquarters' event, never the network's."""
    ids = list(event_ids)
    if not ids:
        return {}
    return {eid: (int(invited), int(came)) for eid, invited, came in db.session.execute(
        select(EventGuest.event_id, func.count(EventGuest.invited_at), func.count(EventGuest.signed_in_at))
        .where(EventGuest.event_id.in_(ids)).group_by(EventGuest.event_id))}


def members(club_ids) -> dict[int, int]:
    """{club id: members} counted in the caller's scope (see ``counts``)."""
    ids = list(club_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(ClubMember.club_id, func.count()).where(ClubMember.club_id.in_(ids))
                                   .group_by(ClubMember.club_id)).all())


def ratings(event_id: int) -> tuple[int, float | None]:
    """(guests who came and gave feedback, a rating or words; their average rating), in scope."""
    came = (EventGuest.event_id == event_id, EventGuest.signed_in_at.is_not(None))
    count = db.session.scalar(select(func.count()).where(
        *came, (EventGuest.rating.is_not(None)) | (EventGuest.feedback.is_not(None))))
    average = db.session.scalar(select(func.avg(EventGuest.rating)).where(*came))
    return int(count or 0), (float(average) if average is not None else None)


# --- clubs --------------------------------------------------------------------------------------

def save_club(club: Club | None, data: dict, franchisee_id: int | None, actor) -> Club:
    values = {"name": data["name"].strip(), "description": (data["description"] or "").strip() or None,
              "store_id": data["store_id"] or None, "active": data["active"]}
    if club is None:
        club = Club(**values, franchisee_id=franchisee_id)
        db.session.add(club)
        db.session.flush()
        audit.record("club.created", actor=actor, target=club)
        return club
    for key, value in values.items():
        setattr(club, key, value)
    db.session.flush()
    return club


def _joinable(club: Club, customers):
    stmt = _consenting(customers).where(~select(ClubMember.id).where(
        ClubMember.club_id == club.id, ClubMember.customer_id == Customer.id).exists())
    if club.franchisee_id is not None:
        stmt = stmt.where(Customer.franchisee_id == club.franchisee_id)
    if club.store_id is not None:  # a store's club: that store's customers (trial 22)
        stmt = stmt.where(Customer.store_id == club.store_id)
    return stmt


def join_preview(club: Club, customers) -> int:
    """Customers who would join, counted up to the cap + 1."""
    return _capped(_joinable(club, customers))


def join(club: Club, customers, actor, today) -> int:
    """Members joined from the customer list's filters (consenting customers, not yet members)."""
    stmt = _joinable(club, customers)
    if join_preview(club, customers) > INVITE_CAP:
        raise EventError(_l("More than %(cap)s customers: narrow the list with its filters, e.g. by store.",
                            cap=f"{INVITE_CAP:,}"))
    made = insert_for_customers(
        ClubMember.__table__, ["store_id", "franchisee_id", "club_id", "customer_id", "joined_on"],
        (Customer.store_id, Customer.franchisee_id, literal(club.id), Customer.id, literal(today)), stmt, INVITE_CAP)
    _recount_club(club)
    audit.record("club.joined", actor=actor, target=club, details={"customers": made})
    return made


def leave(member: ClubMember, actor) -> None:
    club = db.session.get(Club, member.club_id)
    db.session.delete(member)
    db.session.flush()
    _recount_club(club)


def _recount_club(club: Club) -> None:
    with unscoped():
        count = db.session.scalar(select(func.count(ClubMember.id)).where(ClubMember.club_id == club.id))
    db.session.execute(update(Club).where(Club.id == club.id).values(members_count=count)
                       .execution_options(synchronize_session=False))
    db.session.refresh(club)
