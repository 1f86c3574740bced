"""Complaints and the customer file: merge moves them, anonymising scrubs them, they count as
activity, and they show on the customer's history (issue 9, R28)."""
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import Complaint, ComplaintEvent, Customer
from app.models.base import local_today
from app.models.customer import CHURN_COMPLAINT
from app.security.tenancy import unscoped

ERASED = "—"
# Timeline lines whose free text is what was said with the customer.
CUSTOMER_TEXT_EVENTS = ("communication", "follow_up", "wait", "created", "status", "resume")


def touch_activity(customer_id: int) -> None:
    """A complaint is activity: the retention clock of the customer file starts again (without
    bumping the record's version, so nobody editing the file is told of a conflict)."""
    with unscoped():
        db.session.execute(update(Customer).where(Customer.id == customer_id)
                           .values(last_activity_on=local_today()).execution_options(synchronize_session=False))


def moved_with_customer(keep: Customer, other_id: int) -> dict:
    """Merge: the duplicate's complaints now name the kept customer, their counts added."""
    with unscoped():
        moved = db.session.execute(update(Complaint).where(Complaint.customer_id == other_id)
                                   .values(customer_id=keep.id).execution_options(synchronize_session=False)).rowcount
        recount([keep.id, other_id])
    return {"complaint": moved}


def recount(customer_ids) -> None:
    """Unresolved complaints per customer and the complaint churn flag, from the complaints."""
    with unscoped():
        for customer_id in customer_ids:
            count = db.session.scalar(select(func.count()).select_from(Complaint).where(
                Complaint.customer_id == customer_id, Complaint.kind == "complaint", Complaint.is_open.is_(True))) or 0
            flags = db.session.scalar(select(Customer.churn_flags).where(Customer.id == customer_id)) or 0
            flags = (flags | CHURN_COMPLAINT) if count else (flags & ~CHURN_COMPLAINT)
            db.session.execute(update(Customer).where(Customer.id == customer_id)
                               .values(open_complaints=count, churn_flags=flags)
                               .execution_options(synchronize_session=False))


def _scrub(condition) -> int:
    """Erase who the customer is and what they said from the complaints matching ``condition``;
    the category, dates, clocks and remedies stay for the statistics."""
    ids = select(Complaint.id).where(condition)
    db.session.execute(update(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(ids),
                                                    ComplaintEvent.kind.in_(CUSTOMER_TEXT_EVENTS))
                       .values(note=None).execution_options(synchronize_session=False))
    return db.session.execute(update(Complaint).where(condition).values(
        contact_name=ERASED, contact_phone=None, contact_email=None, social_url=None, title=ERASED,
        description=ERASED, follow_up_note=None, waiting_reason=None, progress_token_hash=None,
    ).execution_options(synchronize_session=False)).rowcount


def erase_for_customer(customer_id: int) -> int:
    """Anonymising a customer (R61) scrubs their complaints too, photos and documents included."""
    from app.services.complaints import attachments

    with unscoped():
        ids = db.session.scalars(select(Complaint.id).where(Complaint.customer_id == customer_id)).all()
        attachments.erase_for(ids)
        return _scrub(Complaint.customer_id == customer_id)


def erase_closed_public(now: datetime, days: int) -> int:
    """What the public page's privacy notice promises: contact details of complaints filed there
    are erased ``days`` after closing (unless the complaint is on a customer file, which keeps
    them under the customer-file rules)."""
    with unscoped():
        return _scrub((Complaint.public.is_(True)) & Complaint.customer_id.is_(None)
                      & (Complaint.closed_at < now - timedelta(days=days))
                      & or_(Complaint.contact_phone.is_not(None), Complaint.contact_email.is_not(None)))


def for_timeline(customer_id: int, limit: int) -> list[Complaint]:
    return db.session.scalars(select(Complaint).where(Complaint.customer_id == customer_id)
                              .order_by(Complaint.received_at.desc()).limit(limit)).all()
