"""Customer files: create and edit, purchases, contacts, consent, anonymisation and merge.

Nothing here commits; the view commits once. Every change is audited.
"""
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import (
    Contact, Customer, CustomerLoss, CustomerRelationship, CustomerSequence, LostOrder, Purchase, PurchaseReturn,
    Redemption, RelationshipReview, Store, User,
)
from app.models.base import utcnow, local_today
from app.models.customer import mobile_tail
from app.services import RuleError, audit, rollups
from app.services import customer_analytics as analytics
from app.services import customer_care as care
from app.services import customer_duplicates as duplicates
from app.services import customer_fields as fields
from app.services.customer_fields import name_key
from app.services.governance import privacy
from app.services.loyalty import ledger, relations
from app.security.tenancy import unscoped

# Erased when a customer is anonymised: who they are and how to reach them.
PERSONAL_FIELDS = (
    # Province and city stay for the statistics by region; the district goes with the address.
    "birthday", "birthday_md", "mobile", "mobile_tail", "landline", "email", "address", "district", "postal_code", "tax_no",
    "credit_record", "delivery_address", "invoice_address", "occupation", "interests", "habits", "tags", "notes",
    "consent_purpose",
)


class CustomerError(RuleError):
    """A customer change that breaks a rule (merge, anonymised record)."""


def next_code(store: Store) -> str:
    """The store's next customer code, e.g. SH001-000042; the row lock serialises writers."""
    with unscoped():
        seq = db.session.scalar(
            select(CustomerSequence).where(CustomerSequence.store_id == store.id).with_for_update()
        )
        if seq is None:
            seq = CustomerSequence(store_id=store.id, last=0)
            db.session.add(seq)
        seq.last += 1
        db.session.flush()
        return f"{store.code}-{seq.last:06d}"


def _derive(customer: Customer) -> None:
    customer.name_key = name_key(customer.name)
    for key, value in fields.address_divisions(customer.address).items():
        setattr(customer, key, value)
    customer.mobile_tail = mobile_tail(customer.mobile)
    customer.birthday_md = customer.birthday.month * 100 + customer.birthday.day if customer.birthday else None


def create_customer(store: Store, data: dict, actor: User | None) -> Customer:
    data = dict(data)
    code = data.pop("code", None) or next_code(store)
    customer = Customer(store_id=store.id, franchisee_id=store.franchisee_id, code=code, **data)
    customer.created_by = actor
    customer.updated_by = actor
    if customer.consent and customer.consent_at is None:
        customer.consent_at = utcnow()
    if customer.consent:
        customer.consent_policy_number = privacy.number_in_force()
    _derive(customer)
    db.session.add(customer)
    db.session.flush()
    analytics.apply_rules([customer.id])  # the entry tier (and points, if any, the tier they reach)
    _derived_state_changed([customer])
    audit.record("customer.created", actor=actor, target=customer)
    return customer


def _derived_state_changed(changed: list[Customer], *days) -> None:
    """What hangs off master data: duplicate candidates, care tasks, the stores' roll-ups."""
    ids = [c.id for c in changed]
    duplicates.refresh_for(ids)
    care.sync_contactable(ids)
    care.generate(analytics.get_rules(), local_today(), Customer.id.in_(ids))
    for store_id in sorted({c.store_id for c in changed}):
        rollups.touch(store_id, *days)


def update_customer(customer: Customer, data: dict, actor: User) -> None:
    if customer.is_anonymised:
        raise CustomerError(_l("This customer has been anonymised and can no longer be edited."))
    gave_consent = data.get("consent") and not customer.consent
    for key, value in data.items():
        setattr(customer, key, value)
    if gave_consent and customer.consent_at is None:
        customer.consent_at = utcnow()
    if gave_consent:
        customer.consent_policy_number = privacy.number_in_force()
    _derive(customer)
    changed = audit.changes(customer)
    changed.pop("name_key", None)
    changed.pop("birthday_md", None)
    if changed:
        customer.updated_by = actor
        customer.last_activity_on = local_today()
        # Personal values stay out of the trail; the field names say what changed.
        audit.record("customer.updated", actor=actor, target=customer, details={"fields": sorted(changed)})
        db.session.flush()
        _derived_state_changed([customer])


def points_for(amount: Decimal, rules) -> int:
    return int((Decimal(amount) * rules.points_per_yuan).to_integral_value(ROUND_FLOOR))


def record_purchase(customer: Customer, data: dict, actor: User) -> Purchase:
    """Add a purchase; points, consumption record and analytics follow at once (R11, R14)."""
    if customer.is_anonymised or customer.merged_into_id:
        raise CustomerError(_l("Purchases cannot be added to an anonymised or merged customer."))
    rules = analytics.get_rules()
    purchase = Purchase(customer_id=customer.id, store_id=customer.store_id,
                        franchisee_id=customer.franchisee_id, created_by=actor, **data)
    # The tier's privilege (issue 14): members of higher tiers earn more points per yuan.
    multiplier = customer.tier.points_multiplier if customer.tier is not None else 1
    purchase.points_earned = int(points_for(purchase.amount, rules) * multiplier)
    purchase.over_limit = bool(
        customer.is_business and customer.sales_limit and purchase.amount > customer.sales_limit
    )
    db.session.add(purchase)
    db.session.flush()
    db.session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(last_activity_on=max(purchase.purchased_on, local_today()))
        .execution_options(synchronize_session=False)
    )
    ledger.earn_for_purchase(customer, purchase, rules, actor)
    relations.won_back(customer.id, purchase.purchased_on)
    analytics.refresh([customer.id])
    care.add_after_sale_tasks(purchase, rules, local_today())
    from app.services.surveys import sampling

    sampling.after_purchase(customer, purchase)  # R46: the post-purchase survey's invitation
    rollups.touch(customer.store_id, purchase.purchased_on)
    audit.record("purchase.created", actor=actor, target=customer,
                 details={"amount": str(purchase.amount), "on": purchase.purchased_on.isoformat()})
    return purchase


def record_contact(customer: Customer, data: dict, actor: User) -> Contact:
    """Log a contact or care visit (R7, R15)."""
    if customer.is_anonymised or customer.merged_into_id:
        raise CustomerError(_l("Contacts cannot be logged for an anonymised or merged customer."))
    contact = Contact(customer_id=customer.id, store_id=customer.store_id,
                      franchisee_id=customer.franchisee_id, **data)
    if contact.staff_id is None:
        contact.staff = actor
    db.session.add(contact)
    db.session.flush()
    db.session.execute(
        update(Customer).where(Customer.id == customer.id)
        .values(last_activity_on=local_today()).execution_options(synchronize_session=False)
    )
    care.complete(contact)
    rollups.touch(customer.store_id, contact.occurred_at.date())
    audit.record("contact.created", actor=actor, target=customer,
                 details={"method": contact.method, "purpose": contact.purpose})
    return contact


def record_consent(customer: Customer, method: str, purpose: str, given_at, actor: User) -> None:
    """The customer agreed, after being told ``purpose``, on ``given_at`` (R61)."""
    if customer.is_anonymised:
        raise CustomerError(_l("This customer has been anonymised and can no longer be edited."))
    customer.consent = True
    customer.consent_at = given_at
    customer.consent_method = method
    customer.consent_purpose = purpose
    customer.consent_policy_number = privacy.number_in_force()
    customer.updated_by = actor
    db.session.flush()
    care.sync_contactable([customer.id])  # due return visits may now be made
    audit.record("customer.consent_given", actor=actor, target=customer, details={"method": method})


def anonymise(customer: Customer, reason: str, actor: User | None) -> None:
    """Erase who the customer is; purchases and statistics stay (R61, PIPL art. 47)."""
    if customer.is_anonymised:
        raise CustomerError(_l("This customer has already been anonymised."))
    label = customer.code
    for field in PERSONAL_FIELDS:
        setattr(customer, field, None)
    customer.name = ""
    customer.name_key = ""
    customer.gender = "unknown"
    customer.consent = False
    customer.consent_method = None
    customer.anonymised_at = utcnow()
    customer.anonymised_reason = reason
    customer.updated_by = actor
    # Free text in the contact log may name the person; the figures stay.
    db.session.execute(
        update(Contact).where(Contact.customer_id == customer.id)
        .values(place=None, outcome=None).execution_options(synchronize_session=False)
    )
    from app.services import customer_file
    from app.services.complaints import customers as complaint_files

    customer_file.erase_text(customer.id)
    relations.erase_for_customer(customer.id)
    # Notes typed at the counter may name the person; the points and amounts stay.
    for model in (Redemption, PurchaseReturn):
        db.session.execute(update(model).where(model.customer_id == customer.id).values(note=None)
                           .execution_options(synchronize_session=False))
    complaint_files.erase_for_customer(customer.id)
    from app.services.surveys import responses as survey_responses

    survey_responses.erase_for_customer(customer.id)
    audit.scrub_customer(customer.id, label)  # earlier events kept "code name" as their label
    audit.record("customer.anonymised", actor=actor, target=customer, details={"reason": reason, "code": label})
    _retired([customer])


def _retired(gone: list[Customer]) -> None:
    """Anonymised or merged-away customers: no more care tasks, pairs or counts."""
    db.session.flush()
    ids = [c.id for c in gone]
    care.drop_for(ids)
    duplicates.drop_for(ids)
    for store_id in sorted({c.store_id for c in gone}):
        rollups.refresh_stores([store_id])


def anonymise_inactive(today: date, actor: User | None) -> int:
    """Anonymise every customer with no activity for the retention period; returns how many."""
    rules = analytics.get_rules()
    cutoff = today - timedelta(days=round(365.25 * rules.retention_years))
    with unscoped():
        stale = db.session.scalars(
            select(Customer).where(Customer.anonymised_at.is_(None), Customer.last_activity_on < cutoff)
        ).all()
        for customer in stale:
            anonymise(customer, "retention", actor)
    return len(stale)


# Fields a merge copies from the duplicate when the kept record has none.
_FILLABLE = (
    "gender", "birthday", "mobile", "landline", "email", "address", "postal_code", "salesperson_id", "commission_code",
    "tax_no", "credit_record", "sales_limit", "delivery_address", "invoice_address",
)


def merge(keep: Customer, other: Customer, actor: User) -> dict:
    """Merge ``other`` into ``keep``: histories move, gaps are filled, ``other`` is retired.

    Both records must be loaded through the caller's scope. Returns what moved.
    """
    if keep.id == other.id:
        raise CustomerError(_l("A customer cannot be merged with itself."))
    if keep.franchisee_id != other.franchisee_id:
        raise CustomerError(_l("Customers of different franchisees cannot be merged."))
    if keep.is_anonymised or other.is_anonymised or keep.merged_into_id or other.merged_into_id:
        raise CustomerError(_l("Anonymised or already merged customers cannot be merged."))
    filled = []
    for field in _FILLABLE:
        mine, theirs = getattr(keep, field), getattr(other, field)
        if (mine in (None, "", "unknown")) and theirs not in (None, "", "unknown"):
            setattr(keep, field, theirs)
            filled.append(field)
    if other.tags:
        keep.tags = ", ".join(dict.fromkeys(t.strip() for t in f"{keep.tags or ''},{other.tags}".split(",") if t.strip()))[:200]
    if other.notes:
        keep.notes = "\n".join(filter(None, [keep.notes, other.notes]))
    if other.consent and not keep.consent:
        keep.consent, keep.consent_at = True, other.consent_at
        keep.consent_method, keep.consent_purpose = other.consent_method, other.consent_purpose
    keep.updated_by = actor
    keep.last_activity_on = max(keep.last_activity_on, other.last_activity_on)
    _derive(keep)
    moved = {}
    with unscoped():
        # The merged-away record's relationship goes; its reviews and losses join the kept one's.
        db.session.execute(delete(CustomerRelationship).where(CustomerRelationship.customer_id == other.id))
        for model in (Purchase, Contact, Redemption, PurchaseReturn, CustomerLoss, RelationshipReview, LostOrder):
            result = db.session.execute(
                update(model).where(model.customer_id == other.id)
                .values(customer_id=keep.id).execution_options(synchronize_session=False)
            )
            moved[model.__tablename__] = result.rowcount
        from app.services import customer_file

        moved.update(customer_file.moved_with_customer(keep, other.id))
        from app.services.complaints import customers as complaint_files

        moved.update(complaint_files.moved_with_customer(keep, other.id))
        from app.services.surveys import responses as survey_responses

        moved.update(survey_responses.moved_with_customer(keep, other.id))
    other.merged_into_id = keep.id
    ledger.merge(keep, other, actor)
    other.updated_by = actor
    db.session.flush()
    analytics.refresh([keep.id, other.id])
    _retired([other])
    _derived_state_changed([keep])
    details = {"kept": keep.code, "merged": other.code, "filled": filled, **moved}
    audit.record("customer.merged", actor=actor, target=keep, details=details)
    audit.record("customer.merged_away", actor=actor, target=other, details=details)
    return details


def last_contacts(customer_ids) -> dict[int, datetime]:
    rows = db.session.execute(
        select(Contact.customer_id, db.func.max(Contact.occurred_at))
        .where(Contact.customer_id.in_(list(customer_ids)))
        .group_by(Contact.customer_id)
    )
    return dict(rows.all())
