"""What audits tell people: a published audit, overdue corrective actions (the owner, then the
regional supervisor), and standards due for review (their department and the CX department).
``tick`` runs in the periodic job with the complaint alerts (services/complaints/alerts.py)."""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import CorrectiveAction, Store, Touchpoint, User
from app.models.base import local_date
from app.models.mystery import TO_CORRECT_STATUSES
from app.models.user import user_region
from app.security.tenancy import unscoped
from app.services import notifications
from app.templating import date_text

# An overdue action is escalated to the regional supervisor this many days after its due date.
ESCALATE_AFTER_DAYS = 7


@notifications.message("audit_published")
def _published_text(d):
    return (_l("Audit %(ref)s of %(store)s published", ref=d["ref"], store=d["store"]),
            _l("Score %(score)s. Corrective actions to answer: %(n)d.", score=d["score"], n=d["actions"]))


def _item(d) -> str:
    """The item's standard in the reader's language (both are kept in the notification)."""
    from app.i18n import current_locale

    return d.get("item_en") or d["item"] if current_locale() == "en" else d["item"]


@notifications.message("audit_action_overdue")
def _overdue_text(d):
    return (_l("Corrective action overdue: %(store)s", store=d["store"]),
            _l("%(item)s (due %(due)s, audit %(ref)s).", item=_item(d), due=date_text(date.fromisoformat(d["due"])),
               ref=d["ref"]))


@notifications.message("audit_action_escalated")
def _escalated_text(d):
    return (_l("Corrective action a week overdue: %(store)s", store=d["store"]),
            _l("%(item)s (due %(due)s, audit %(ref)s). The franchisee has been reminded.", item=_item(d),
               due=date_text(date.fromisoformat(d["due"])), ref=d["ref"]))


@notifications.message("touchpoint_review")
def _review_text(d):
    return (_l("Service standard due for review: %(name)s", name=d["name"]),
            _l("The standard of %(name)s is to be reviewed by %(due)s.", name=d["name"],
               due=date_text(date.fromisoformat(d["due"]))))


def tick(now: datetime) -> dict:
    """Overdue actions: the owner and the store's managers once, then after a week the
    region's supervisors; standards due within 30 days: once per review date."""
    today = local_date(now)
    reminded = escalated = reviews = 0
    with unscoped():
        overdue = db.session.scalars(select(CorrectiveAction).where(
            CorrectiveAction.status.in_(TO_CORRECT_STATUSES), CorrectiveAction.due_on < today,
            (CorrectiveAction.overdue_notified_on.is_(None) | CorrectiveAction.escalated_at.is_(None)))
            .order_by(CorrectiveAction.due_on, CorrectiveAction.id).limit(500)).all()
        for action in overdue:
            if action.audit.published_at is None:
                continue
            store = db.session.get(Store, action.store_id)
            data = {"store": store.name, "item": action.item.text_zh, "item_en": action.item.text_en,
                    "due": action.due_on.isoformat(),
                    "ref": action.audit.reference}
            url = f"/audits/actions/{action.id}"
            if action.overdue_notified_on is None:
                people = db.session.scalars(select(User).where(
                    User.active.is_(True), User.franchisee_id == action.franchisee_id,
                    User.role.in_(("franchise_owner", "store_manager")))).all()
                notifications.notify([p for p in people if p.role == "franchise_owner" or store in p.stores],
                                     "audit_action_overdue", data, url=url)
                action.overdue_notified_on = today
                reminded += 1
            elif (today - action.due_on).days >= ESCALATE_AFTER_DAYS:
                supervisors = db.session.scalars(select(User).join(user_region, user_region.c.user_id == User.id).where(
                    User.active.is_(True), User.role == "hq_supervisor", user_region.c.region_id == store.region_id)).all()
                notifications.notify(supervisors, "audit_action_escalated", data, url=url)
                action.escalated_at = now
                escalated += 1
            db.session.commit()
        from datetime import timedelta

        due = db.session.scalars(select(Touchpoint).where(
            Touchpoint.active.is_(True), Touchpoint.next_review_on <= today + timedelta(days=30),
            (Touchpoint.review_notified_on.is_(None)))).all()
        for touchpoint in due:
            people = db.session.scalars(select(User).where(User.active.is_(True), (
                (User.role == "hq_auditor") | ((User.role == "hq_department") & (User.department == touchpoint.department))
            ))).all()
            notifications.notify(people, "touchpoint_review",
                                 {"name": touchpoint.name_zh, "due": touchpoint.next_review_on.isoformat()},
                                 url=f"/audits/touchpoints#tp-{touchpoint.id}")
            touchpoint.review_notified_on = today
            db.session.commit()
            reviews += 1
    return {"actions_reminded": reminded, "actions_escalated": escalated, "reviews_due": reviews}


# --- what the workflow tells people as it happens (trial 9: only publication was announced) ----

@notifications.message("audit_submitted")
def _submitted_text(d):
    return (_l("Audit %(ref)s of %(store)s submitted", ref=d["ref"], store=d["store"]),
            _l("Score %(score)s. Check it and publish it to the franchisee.", score=d["score"]))


@notifications.message("audit_action_answered")
def _answered_text(d):
    return (_l("Correction answered: %(store)s", store=d["store"]),
            _l("%(item)s (audit %(ref)s): verify it.", item=_item(d), ref=d["ref"]))


@notifications.message("audit_action_returned")
def _returned_text(d):
    return (_l("Correction sent back: %(store)s", store=d["store"]),
            _l("%(item)s (audit %(ref)s): %(note)s", item=_item(d), ref=d["ref"], note=d.get("note") or ""))


@notifications.message("audit_appeal")
def _appeal_text(d):
    return (_l("Appeal of a finding: %(store)s", store=d["store"]),
            _l("%(item)s (audit %(ref)s): decide the appeal.", item=_item(d), ref=d["ref"]))


@notifications.message("audit_appeal_decided")
def _decided_text(d):
    return (_l("Appeal decided: %(store)s", store=d["store"]),
            _l("%(item)s (audit %(ref)s): %(outcome)s", item=_item(d), ref=d["ref"],
               outcome=_l("re-scored") if d["granted"] else _l("finding upheld")))


def _about(action) -> dict:
    with unscoped():
        store = db.session.get(Store, action.store_id)
    return {"store": store.name, "item": action.item.text_zh, "item_en": action.item.text_en,
            "ref": action.audit.reference}


def _headquarters(but=None) -> list:
    with unscoped():
        people = db.session.scalars(select(User).where(User.active.is_(True),
                                                       User.role.in_(("hq_auditor", "hq_admin")))
                                    .order_by(User.id)).all()
    return [p for p in people if but is None or p.id != but]


def _franchisee_people(franchisee_id: int, store_id: int, managers: bool = True) -> list:
    with unscoped():
        people = db.session.scalars(select(User).where(
            User.active.is_(True), User.franchisee_id == franchisee_id,
            User.role.in_(("franchise_owner", "store_manager") if managers else ("franchise_owner",)))).all()
        store = db.session.get(Store, store_id)
        return [p for p in people if p.role == "franchise_owner" or store in p.stores]


def submitted(audit) -> None:
    with unscoped():
        store = db.session.get(Store, audit.store_id)
    notifications.notify(_headquarters(but=audit.auditor_id), "audit_submitted",
                         {"ref": audit.reference, "store": store.name, "score": str(audit.score)},
                         url=f"/audits/{audit.id}")


def answered(action) -> None:
    """The auditor who made the finding verifies it, if they are headquarters'; otherwise the CX department."""
    with unscoped():
        auditor = db.session.get(User, action.audit.auditor_id) if action.audit.auditor_id else None
    people = [auditor] if auditor is not None and auditor.role in ("hq_auditor", "hq_supervisor", "hq_admin") \
        else _headquarters()
    notifications.notify(people, "audit_action_answered", _about(action), url=f"/audits/actions/{action.id}")


def returned(action) -> None:
    notifications.notify(_franchisee_people(action.franchisee_id, action.store_id), "audit_action_returned",
                         _about(action) | {"note": action.verification_note}, url=f"/audits/actions/{action.id}")


def appealed(action) -> None:
    notifications.notify(_headquarters(but=action.audit.auditor_id), "audit_appeal", _about(action),
                         url=f"/audits/actions/{action.id}")


def appeal_decided(action, granted: bool) -> None:
    notifications.notify(_franchisee_people(action.franchisee_id, action.store_id, managers=False),
                         "audit_appeal_decided", _about(action) | {"granted": granted},
                         url=f"/audits/actions/{action.id}")
