"""Recording to the audit trail. Other services call ``record``, which does not commit;
pages that only read call ``record_read``, which writes the row in its own short transaction.

Audit is infrastructure: it reads the client address from the current request
when there is one (None from the command line), so callers need not pass it.
"""
import re
import time
from collections import OrderedDict
from decimal import Decimal
from datetime import date, datetime
from datetime import time as time_of_day

from flask import has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, inspect, update

from app.database import write_transaction
from app.extensions import db
from app.i18n import translated
from app.models import AuditEvent

# Never copied into the trail.
_SECRET_FIELDS = {"password_hash", "updated_at", "created_at", "version"}


def _plain(value):
    if isinstance(value, (date, datetime, time_of_day)):  # a store's opening hours are times
        return value.isoformat()
    if isinstance(value, Decimal):  # a changed amount or rate (saving the rules answered 500)
        return str(value)
    if hasattr(value, "id"):
        return value.id
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def changes(obj) -> dict:
    """Pending attribute changes of ``obj`` as ``{field: [old, new]}`` (call before flush)."""
    result = {}
    state = inspect(obj)
    for attr in state.attrs:
        if attr.key in _SECRET_FIELDS:
            continue
        hist = attr.history
        if hist.has_changes():
            # A collection's "before" is what was removed plus what stayed (trial 8: a store list
            # [1] -> [2, 1] was logged as [] -> [2, 1]).
            old = (list(hist.deleted) + list(hist.unchanged) if attr.key in state.mapper.relationships
                   else (hist.deleted or [None])[0])
            new = (
                hist.added + list(hist.unchanged)
                if attr.key in state.mapper.relationships
                else (hist.added or [None])[0]
            )
            result[attr.key] = [_plain(old), _plain(new)]
    return result


def _event(action: str, target, details, **actor) -> AuditEvent:
    event = AuditEvent(
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        target_label=str(target)[:200] if target is not None else None,
        details=details or None,
        **actor,
    )
    if has_request_context():
        event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:255]
    return event


_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns if column.key != "id")
_recent_reads: OrderedDict = OrderedDict()
_RECENT_MAX = 20_000


def record_read(action: str, *, actor, target=None, details=None, once_per_seconds: int = 0) -> None:
    """Log that a page showed or exported data, after the page has done its reading: the row
    is written in a transaction of its own that starts with the write (database.write_transaction).
    The event is built first, by id, so nothing is read again once the reading transaction ends.

    ``once_per_seconds``: the same sign-in reading the same record again within this many
    seconds is the same visit (a reload, the page after a save) and is not logged again; kept
    per worker, by the sign-in's own token, so another user or another sign-in always logs."""
    key = None
    if once_per_seconds and has_request_context() and target is not None:
        from flask import session

        from app.security.sessions import TOKEN_KEY

        key = (session.get(TOKEN_KEY), action, type(target).__name__, getattr(target, "id", None))
        seen = _recent_reads.get(key)
        if key[0] and seen is not None and time.monotonic() - seen < once_per_seconds:
            return
    event = _event(action, target, details, actor_id=actor.id, actor_name=actor.username)
    values = {name: getattr(event, name) for name in _COLUMNS if getattr(event, name) is not None}
    with write_transaction(db.session):
        # A plain INSERT: the unit of work's flush cost ≈ 1.5 ms for one row nobody reads back.
        db.session.execute(insert(AuditEvent).values(**values))
    if key is not None:
        _recent_reads[key] = time.monotonic()
        _recent_reads.move_to_end(key)
        while len(_recent_reads) > _RECENT_MAX:
            _recent_reads.popitem(last=False)


def record(action: str, *, actor=None, actor_name: str | None = None, target=None, details=None) -> AuditEvent:
    event = _event(action, target, details, actor=actor,
                   actor_name=(actor_name or (actor.username if actor is not None else None)))
    db.session.add(event)
    return event


# --- reading the trail ------------------------------------------------------------------------
# What each recorded action means, for people (the trail keeps the code; pages show the label).
ACTIONS = {
    "auth.login_succeeded": _l("Signed in"),
    "auth.login_failed": _l("Sign-in failed"),
    "auth.login_throttled": _l("Sign-in blocked after repeated failures"),
    "auth.logout": _l("Signed out"),
    "auth.password_changed": _l("Changed own password"),
    "auth.password_change_failed": _l("Password change failed"),
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.activated": _l("User activated"),
    "user.deactivated": _l("User deactivated"),
    "user.password_reset": _l("Password reset"),
    "region.created": _l("Region created"),
    "region.updated": _l("Region changed"),
    "franchisee.created": _l("Franchisee created"),
    "franchisee.updated": _l("Franchisee changed"),
    "store.created": _l("Store created"),
    "store.updated": _l("Store changed"),
    "store.transferred": _l("Store transferred to another franchisee"),
    "store.closed": _l("Store closed"),
    "store.reopened": _l("Store reopened"),
    "customer.created": _l("Customer file opened"),
    "customer.viewed": _l("Customer file viewed"),
    "customer.updated": _l("Customer file changed"),
    "customer.consent_given": _l("Consent recorded"),
    "customer.anonymised": _l("Customer anonymised"),
    "customer.merged": _l("Duplicate merged into this customer"),
    "customer.merged_away": _l("Customer merged into another"),
    "customer.not_duplicate": _l("Pair marked as not the same person"),
    "purchase.created": _l("Purchase recorded"),
    "contact.created": _l("Contact logged"),
    "customers.exported": _l("Customer list exported"),
    "customers.import_uploaded": _l("Customer file uploaded for import"),
    "customers.imported": _l("Customers imported"),
    "customer_rules.updated": _l("Customer rules changed"),
    "membership_tier.created": _l("Membership tier added"),
    "membership_tier.updated": _l("Membership tier changed"),
    "membership_tier.deleted": _l("Membership tier removed"),
    "care_holiday.created": _l("Care holiday added"),
    "care_holiday.deleted": _l("Care holiday removed"),
    "customer.analysis_added": _l("Analysis note added"),
    "purchases.imported": _l("Purchase history imported"),
    "customer.loyalty_assessed": _l("Loyalty assessed"),
    "complaint.created": _l("Complaint received"),
    "complaint.escalated": _l("Complaint escalated to headquarters"),
    "complaint.closed": _l("Complaint closed"),
    "complaint_settings.updated": _l("Complaint settings changed"),
}

# Kinds of record the trail points at: their name, and the page that shows one (endpoint and
# the name of its id argument; None where there is no page of its own).
RECORDS = {
    "Customer": (_l("Customer"), "customers.show", "customer_id"),
    "CustomerImport": (_l("Import"), "customers.import_status", "customer_import_id"),
    "User": (_l("User"), "users.show", "user_id"),
    "Store": (_l("Store"), "org.store", "store_id"),
    "Franchisee": (_l("Franchisee"), "org.franchisee", "franchisee_id"),
    "Region": (_l("Region"), "org.edit_region", "region_id"),
    "MembershipTier": (_l("Membership tier"), "customers.edit_tier", "membership_tier_id"),
    "CareHoliday": (_l("Care holiday"), None, None),
    "CustomerRules": (_l("Customer rules"), "customers.rules", None),
    "Complaint": (_l("Complaint"), "complaints.show", "complaint_id"),
}


def action_label(action: str) -> str:
    """The action in the reader's language; an unknown code is shown as it is."""
    return translated(ACTIONS).get(action, action)


def action_choices() -> list[tuple[str, str]]:
    """(code, label) of every action, by label, for the trail's filter."""
    labels = translated(ACTIONS)
    return sorted(labels.items(), key=lambda item: item[1])


def record_of(event) -> tuple[str, str, str | None]:
    """(kind, label, url) of the record an event points at; url None when it has no page."""
    if not event.target_type:
        return "", "", None
    name, endpoint, arg = RECORDS.get(event.target_type, (event.target_type, None, None))
    if endpoint and arg is None:  # one of a kind (the rules): the name says it all
        return str(name), "", url_for(endpoint)
    url = url_for(endpoint, **{arg: event.target_id}) if endpoint and event.target_id else None
    return str(name), event.target_label or (f"#{event.target_id}" if event.target_id else ""), url


def scrub_customer(customer_id: int, label: str) -> None:
    """An anonymised customer's events keep happening in the trail, under their code only."""
    db.session.execute(
        update(AuditEvent).where(AuditEvent.target_type == "Customer", AuditEvent.target_id == customer_id)
        .values(target_label=label).execution_options(synchronize_session=False)
    )


_DECIMAL = re.compile(r"-?\d{1,15}\.\d{1,4}")

# The details an event keeps, named for people; values are numbers, dates, codes or field names.
DETAIL_LABELS = {
    "format": _l("Format"), "rows": _l("Rows"), "filters": _l("Filters"), "method": _l("Method"),
    "purpose": _l("Purpose"), "amount": _l("Amount"), "on": _l("Date"), "file": _l("File"), "bytes": _l("Size"),
    "reason": _l("Reason"), "code": _l("Code"), "fields": _l("Fields changed"), "role": _l("Role"),
    "from": _l("From"), "to": _l("To"), "effective_on": _l("Effective"), "note": _l("Note"),
    "kept": _l("Kept"), "merged": _l("Merged"), "filled": _l("Filled in"), "closed_on": _l("Closed on"),
    "purchase": _l("Purchases moved"), "contact": _l("Contacts moved"),
    "customer_analysis": _l("Analysis notes moved"), "loyalty_assessment": _l("Loyalty assessments moved"),
    "existing": _l("Customers already on file"), "updated": _l("Updated"), "skipped": _l("Skipped"),
    "import": _l("Import"), "topic": _l("Topic"), "customers": _l("Customers"), "kind": _l("Kind"), "share_of_need": _l("Our share of their total need"),
    "brand_attention": _l("Attention to our brand"), "choosing_time": _l("Time spent choosing"),
    "price_tolerance": _l("Price sensitivity"), "competitor_attitude": _l("Attitude to competing products"),
    "incident_tolerance": _l("Tolerance of quality incidents"),
}


def details_of(event) -> list[tuple[str, str]]:
    """(label, value) pairs of an event's details in the reader's language: numbers grouped by
    thousands, lists and filters written out, unknown keys as they are."""
    from app.templating import number

    if not event.details:
        return []
    labels = translated(DETAIL_LABELS)
    pairs = []
    for key, value in event.details.items():
        if isinstance(value, bool):
            text = str(value)
        elif isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) < 16):
            text = number(int(value))
        elif isinstance(value, str) and _DECIMAL.fullmatch(value):
            text = f"{Decimal(value):,}"
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value) if all(not isinstance(v, (list, dict)) for v in value) \
                else " → ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        else:
            text = "" if value is None else str(value)
        pairs.append((labels.get(key, key), text))
    return pairs
