"""A complaint from intake to closing (R17-R25, R27, R28).

States: received → acknowledged → in progress → resolved → customer follow-up → closed, and
reopened when the customer is not satisfied. ``ACTIONS`` says which action each state allows;
anything else is refused with a message, whatever the page offered. Every step appends to the
complaint's timeline (``ComplaintEvent``: who, when, what); every message to the customer too.

Nothing here commits; the view commits once.
"""
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, ComplaintEvent, ComplaintTask, Customer, Store, User
from app.models.base import local_date, utcnow
from app.models.complaint import CHECKLIST_BITS, OPEN_STATUSES, REMEDIES, REMEDIES_BY_KIND
from app.models.user import DEPARTMENTS
from app.services import RuleError, audit, customer_care
from app.services.complaints import alerts, deadlines, settings
from app.services.complaints import customers as complaint_files
from app.security.tenancy import unscoped

# Action -> the states it may start from.
ACTIONS = {
    "acknowledge": ("received",),
    "start": ("received", "acknowledged", "reopened"),
    "wait": OPEN_STATUSES,
    "resume": OPEN_STATUSES,
    "communicate": OPEN_STATUSES + ("resolved", "follow_up"),
    "checklist": OPEN_STATUSES + ("resolved",),
    "escalate": OPEN_STATUSES,
    "resolve": ("acknowledged", "in_progress", "reopened"),
    "follow_up": ("resolved",),
    "close": ("follow_up",),
    "close_feedback": OPEN_STATUSES,
    "verify_capa": ("resolved", "follow_up"),
    # Root cause and CAPA are written while the complaint is handled, until they are verified.
    "capa": OPEN_STATUSES + ("resolved", "follow_up"),
    "plan": OPEN_STATUSES + ("resolved",),
    "task": OPEN_STATUSES,
    "hq_done": OPEN_STATUSES + ("resolved",),
}
# A follow-up score at or below this reopens the complaint (R25: "dissatisfied").
DISSATISFIED = 2
# Departments of a joint handling group (R21): at least this many before the plan stands.
JOINT_MIN_DEPARTMENTS = 2
TASK_ASSIGNEES = {**DEPARTMENTS, "franchisee": _l("The franchisee")}


class ComplaintError(RuleError):
    """A complaint action the workflow does not allow now, or one missing what it needs."""


def allowed(complaint: Complaint, action: str) -> bool:
    if action in ("resolve", "follow_up", "close", "verify_capa", "capa", "checklist") and not complaint.is_complaint:
        return False
    if action in ("capa", "verify_capa") and complaint.capa_verified_at is not None:
        return False
    if action == "close_feedback":
        return not complaint.is_complaint and complaint.status in ACTIONS[action]
    if action in ("plan", "task", "hq_done") and not complaint.escalated:
        return False
    if action in ("task", "hq_done") and complaint.hq_done_at is not None:
        return False
    if action == "escalate" and (complaint.escalated or not complaint.is_complaint):
        return False
    if action == "wait" and complaint.waiting_since is not None:
        return False
    if action == "resume" and complaint.waiting_since is None:
        return False
    return complaint.status in ACTIONS[action]


def _require(complaint: Complaint, action: str) -> None:
    if not allowed(complaint, action):
        raise ComplaintError(str(_l(
            "This cannot be done now: the complaint is %(status)s. The page may be out of date; "
            "it shows the current state again.", status=complaint.status_label)))


def _event(complaint: Complaint, actor: User | None, kind: str, note: str | None = None, *, public=False,
           from_status=None, to_status=None, method=None, at: datetime | None = None, data=None) -> ComplaintEvent:
    event = ComplaintEvent(complaint=complaint, complaint_id=complaint.id, store_id=complaint.store_id,
                           franchisee_id=complaint.franchisee_id, actor_id=actor.id if actor else None,
                           kind=kind, note=(note or "").strip() or None, public=public, from_status=from_status,
                           to_status=to_status, method=method, at=at or utcnow(), data=data or None)
    db.session.add(event)
    return event


def _move(complaint: Complaint, actor: User | None, to: str, note: str | None = None, now=None, data=None,
          method=None) -> None:
    before = complaint.status
    complaint.status = to
    complaint.is_open = to in OPEN_STATUSES
    _event(complaint, actor, "status", note, public=True, from_status=before, to_status=to, at=now, data=data,
           method=method)


def new_reference(day) -> str:
    """TS + yymmdd + five random digits: short enough to read out on the phone, not a count of
    the network's complaints. The unique key catches the rare repeat (the caller retries)."""
    return f"TS{day:%y%m%d}{secrets.randbelow(100000):05d}"


def _unused_reference(day) -> str:
    with unscoped():
        for _ in range(20):
            reference = new_reference(day)
            if not db.session.scalar(select(Complaint.id).where(Complaint.reference == reference)):
                return reference
    raise ComplaintError(str(_l("No free reference number; please try again.")))


def open_complaint(store: Store, data: dict, actor: User | None, *, customer: Customer | None = None,
                   now: datetime | None = None) -> Complaint:
    """Record a complaint (or a suggestion or praise) received at ``store``.

    ``data`` holds the intake fields. The franchisee is the store's owner today and stays with
    the complaint. A major or multi-department complaint goes to headquarters at once (R20)."""
    now = now or utcnow()
    received_at = data.pop("received_at", None) or now
    if received_at > now:
        raise ComplaintError(str(_l("The time received cannot be in the future.")))
    complaint = Complaint(store_id=store.id, franchisee_id=store.franchisee_id, store=store,
                          reference=_unused_reference(local_date(received_at)), received_at=received_at,
                          received_by_id=actor.id if actor else None, handler_id=actor.id if actor else None,
                          customer_id=customer.id if customer else None, **data)
    if complaint.kind != "complaint":
        complaint.category_id = None
        complaint.severity = "general"
        complaint.multi_department = False
    # Before the row is added: the rules and calendar are read with queries, whose autoflush
    # would otherwise insert the complaint first and update it with its due times after.
    # Suggestions and praise get the general deadline too: the customer is thanked in time.
    deadlines.promise(complaint)
    db.session.add(complaint)
    db.session.flush()
    _event(complaint, actor, "created", public=True, to_status="received", at=received_at)
    if complaint.customer_id:
        complaint_files.touch_activity(complaint.customer_id)
    if complaint.is_complaint and complaint.customer_id:
        _count_open(complaint.customer_id)
    if complaint.is_complaint and (complaint.severity == "major" or complaint.multi_department):
        _escalate(complaint, actor, None, now)
    audit.record("complaint.created", actor=actor, target=complaint,
                 details={"reference": complaint.reference, "kind": complaint.kind})
    return complaint


def _count_open(customer_id: int) -> None:
    """The customer's count of unresolved complaints and its churn flag (R28), recounted from the
    complaints (one indexed count), without touching the record's version."""
    complaint_files.recount([customer_id])
    customer = db.session.get(Customer, customer_id)
    if customer is not None:
        db.session.refresh(customer, ["open_complaints", "churn_flags"])


def edit(complaint: Complaint, actor: User, changes: dict, now=None) -> None:
    """Correct what the intake recorded while the complaint is open. The promise made to the
    customer stands; a complaint found to be major (or to involve several departments) goes to
    headquarters now."""
    if not complaint.is_open:
        raise ComplaintError(str(_l("A resolved or closed complaint can no longer be edited.")))
    if not changes:
        return
    now = now or utcnow()
    for key, value in changes.items():
        setattr(complaint, key, value)
    _event(complaint, actor, "edited", at=now, data={"fields": sorted(changes)})
    if complaint.is_complaint and not complaint.escalated and (complaint.severity == "major" or complaint.multi_department):
        _escalate(complaint, actor, None, now)


def acknowledge(complaint: Complaint, actor: User, note: str | None = None, now=None) -> None:
    """First response to the customer (R22): the acknowledgement clock stops."""
    _require(complaint, "acknowledge")
    now = now or utcnow()
    _first_response(complaint, now)
    if complaint.handler_id is None:  # a complaint filed online has no handler until someone answers
        complaint.handler_id = actor.id
    _move(complaint, actor, "acknowledged", note, now)


def _first_response(complaint: Complaint, now: datetime) -> None:
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
        due = complaint.acknowledge_due_at
        complaint.acknowledged_in_time = due is None or now <= due


def start(complaint: Complaint, actor: User, note: str | None = None, now=None) -> None:
    _require(complaint, "start")
    now = now or utcnow()
    _first_response(complaint, now)
    if complaint.handler_id is None:
        complaint.handler_id = actor.id
    _move(complaint, actor, "in_progress", note, now)


def communicate(complaint: Complaint, actor: User, method: str, note: str, now=None) -> None:
    """Log a message to or from the customer (R22); the first one is the first response."""
    _require(complaint, "communicate")
    now = now or utcnow()
    if complaint.is_open:
        _first_response(complaint, now)
    _event(complaint, actor, "communication", note, method=method, public=True, at=now)


def wait_on_customer(complaint: Complaint, actor: User, reason: str, now=None) -> None:
    """Stop the clocks while the store waits for the customer (a document, a visit)."""
    _require(complaint, "wait")
    now = now or utcnow()
    complaint.waiting_since = now
    complaint.waiting_reason = reason
    _event(complaint, actor, "wait", reason, public=True, at=now)


def resume(complaint: Complaint, actor: User, note: str | None = None, now=None) -> None:
    """The customer answered: the clocks run again, their due times pushed by the pause."""
    _require(complaint, "resume")
    now = now or utcnow()
    stood = deadlines.push_for_pause(complaint, complaint.waiting_since, now)
    _event(complaint, actor, "resume", note, public=True, at=now,
           data={"paused_hours": round(stood["store"].total_seconds() / 3600, 2)})
    complaint.waiting_since = None
    complaint.waiting_reason = None


def set_checklist(complaint: Complaint, actor: User, items: list[str]) -> None:
    """The handler's checklist (R27): which steps were taken with the customer."""
    _require(complaint, "checklist")
    bits = sum(CHECKLIST_BITS[item] for item in set(items) if item in CHECKLIST_BITS)
    if bits != complaint.checklist:
        complaint.checklist = bits
        _event(complaint, actor, "checklist", ",".join(k for k in CHECKLIST_BITS if bits & CHECKLIST_BITS[k]))


def remedies_for(complaint: Complaint) -> tuple[str, ...]:
    """The remedies the resolution offers for the complaint's category (R24, seed 002)."""
    option = settings.category(complaint.category_id)
    return REMEDIES_BY_KIND.get(option.remedy_kind if option else "other", REMEDIES_BY_KIND["other"])


def resolve(complaint: Complaint, actor: User, data: dict, now=None) -> None:
    """Record the resolution and the remedy; the follow-up call falls due."""
    _require(complaint, "resolve")
    now = now or utcnow()
    if not (data.get("resolution") or "").strip():
        raise ComplaintError(str(_l("Describe the resolution before marking the complaint resolved.")))
    codes = [c for c in data.get("remedies") or [] if c in REMEDIES]
    if not codes:
        raise ComplaintError(str(_l("Choose at least one remedy.")))
    if complaint.escalated and any(t.done_at is None for t in complaint.tasks):
        raise ComplaintError(str(_l("The joint handling plan still has open tasks; they are done first.")))
    if complaint.waiting_since is not None:
        resume(complaint, actor, now=now)
    complaint.resolution = data["resolution"].strip()
    # A second resolution (after a reopening) adds to the first: what was already given or paid
    # stays on the record; the compensation is the total paid.
    complaint.remedies = ",".join(dict.fromkeys(complaint.remedy_codes + codes))
    paid = data.get("compensation")
    if paid:
        complaint.compensation = (complaint.compensation or 0) + paid
    for key in ("carrier", "carrier_part"):
        if data.get(key):
            setattr(complaint, key, data[key])
    for key in ("root_cause", "corrective_action", "preventive_action", "capa_owner", "capa_due_on"):
        if data.get(key) not in (None, ""):
            setattr(complaint, key, data[key])
    complaint.resolved_at = now
    complaint.resolved_in_time = complaint.resolve_due_at is None or now <= complaint.resolve_due_at
    _first_response(complaint, now)
    _move(complaint, actor, "resolved", complaint.resolution, now,
          data={"remedies": codes, "compensation": str(paid) if paid else None})
    if complaint.customer_id:
        _count_open(complaint.customer_id)
        # The follow-up call (R25) goes on the customer file's care list, due the next day.
        customer_care.complaint_follow_up(complaint, local_date(now) + timedelta(days=1))


def record_follow_up(complaint: Complaint, actor: User, score: int, note: str, method: str, now=None) -> None:
    """The customer's satisfaction with the outcome (R25); a low score reopens the complaint."""
    _require(complaint, "follow_up")
    now = now or utcnow()
    if not 1 <= score <= 5:
        raise ComplaintError(str(_l("The satisfaction score is 1 to 5.")))
    complaint.follow_up_score = score
    complaint.follow_up_note = note
    complaint.followed_up_at = now
    if complaint.customer_id:
        customer_care.complaint_followed_up(complaint)
    # One timeline line: the step, how the customer was reached, their score and words.
    if score <= DISSATISFIED:
        reopen(complaint, actor, note, now, score=score, method=method)
    else:
        _move(complaint, actor, "follow_up", note, now, data={"score": score}, method=method)


def reopen(complaint: Complaint, actor: User | None, reason: str | None, now=None, score: int | None = None,
           method: str | None = None) -> None:
    now = now or utcnow()
    complaint.reopen_count += 1
    complaint.resolved_at = None
    complaint.resolved_in_time = None
    complaint.closed_at = None
    # A fresh allowance from now on the store's clock: the customer was promised a new answer.
    rule = settings.allowance(complaint.severity, complaint.category_id)
    complaint.resolve_due_at = deadlines.store_calendar(complaint.store).add(now, deadlines.hours(rule.resolve))
    complaint.alert_level = 0
    _move(complaint, actor, "reopened", reason, now, data={"score": score} if score else None, method=method)
    if complaint.customer_id:
        _count_open(complaint.customer_id)


def missing_to_close(complaint: Complaint) -> list[str]:
    """What closing still needs (R24): the resolution and remedy; for a major complaint also the
    root cause and the verified corrective and preventive actions."""
    missing = []
    if not complaint.resolution or not complaint.remedy_codes:
        missing.append(str(_l("the resolution and remedy")))
    if complaint.severity == "major" or complaint.escalated:
        for key, label in (("root_cause", _l("the root cause")), ("corrective_action", _l("the corrective action")),
                           ("preventive_action", _l("the preventive action")), ("capa_owner", _l("who owns the actions")),
                           ("capa_due_on", _l("the actions' due date"))):
            if not getattr(complaint, key):
                missing.append(str(label))
        if complaint.capa_verified_at is None:
            missing.append(str(_l("the verification of the actions")))
    return missing


def close(complaint: Complaint, actor: User, note: str | None = None, now=None) -> None:
    _require(complaint, "close")
    missing = missing_to_close(complaint)
    if missing:
        raise ComplaintError(str(_l("Not closed yet: record %(missing)s first.", missing=str(_l("; ")).join(missing))))
    now = now or utcnow()
    complaint.closed_at = now
    _move(complaint, actor, "closed", note, now)
    audit.record("complaint.closed", actor=actor, target=complaint, details={"reference": complaint.reference})


def close_feedback(complaint: Complaint, actor: User, note: str, now=None) -> None:
    """A suggestion or praise: thanked, passed on, closed."""
    _require(complaint, "close_feedback")
    if not (note or "").strip():
        raise ComplaintError(str(_l("Say what was done with it (thanked, passed on to ...).")))
    now = now or utcnow()
    _first_response(complaint, now)
    complaint.closed_at = now
    _move(complaint, actor, "closed", note, now)


def save_capa(complaint: Complaint, actor: User, data: dict) -> None:
    """Root cause and corrective and preventive actions (CAPA), editable until verified."""
    _require(complaint, "capa")
    keys = ("root_cause", "corrective_action", "preventive_action", "capa_owner", "capa_due_on")
    values = {key: (data.get(key).strip() if isinstance(data.get(key), str) else data.get(key)) or None for key in keys}
    if not any(values.values()):
        raise ComplaintError(str(_l("Fill in at least the root cause.")))
    if all(values[key] == getattr(complaint, key) for key in keys):
        return  # nothing changed: no line on the timeline
    for key, value in values.items():
        setattr(complaint, key, value)
    _event(complaint, actor, "capa", values["root_cause"])


def verify_capa(complaint: Complaint, actor: User, note: str, now=None) -> None:
    """Headquarters checks that the corrective and preventive actions were carried out."""
    _require(complaint, "verify_capa")
    if not (complaint.root_cause and complaint.corrective_action and complaint.preventive_action):
        raise ComplaintError(str(_l("Record the root cause and the corrective and preventive actions first.")))
    now = now or utcnow()
    complaint.capa_verified_at = now
    complaint.capa_verified_by_id = actor.id
    complaint.capa_verification = note
    _event(complaint, actor, "capa_verified", note, at=now)


# --- headquarters' part: escalation and joint handling (R20, R21) -----------------------------

def escalate(complaint: Complaint, actor: User, reason: str, now=None) -> None:
    """Send a complaint to headquarters' customer-experience department."""
    _require(complaint, "escalate")
    if not (reason or "").strip():
        raise ComplaintError(str(_l("Say why headquarters should handle it.")))
    _escalate(complaint, actor, reason.strip(), now or utcnow())


def _escalate(complaint: Complaint, actor: User | None, reason: str | None, now: datetime) -> None:
    """``reason`` None: escalated by the rule (major, several departments), worded when shown."""
    complaint.escalated = True
    complaint.escalated_at = now
    complaint.escalation_reason = reason[:300] if reason else None
    deadlines.start_hq_clock(complaint, now)
    # The store resolves once headquarters' part is done: its promise to the customer cannot be
    # earlier than headquarters' own deadline (the page tells the store to tell the customer).
    moved = None
    if complaint.resolve_due_at is not None and complaint.hq_due_at > complaint.resolve_due_at:
        complaint.resolve_due_at = deadlines.store_calendar(complaint.store).add(complaint.hq_due_at,
                                                                                 deadlines.hours(4))
        moved = complaint.resolve_due_at.isoformat()
    _event(complaint, actor, "escalated", reason, public=True, at=now,
           data={"rule": complaint.severity if reason is None else None, "promise_moved_to": moved})
    audit.record("complaint.escalated", actor=actor, target=complaint, details={"reference": complaint.reference})
    alerts.escalated(complaint)


def save_plan(complaint: Complaint, actor: User, plan: str, now=None) -> None:
    _require(complaint, "plan")
    if not (plan or "").strip():
        raise ComplaintError(str(_l("Write the handling plan.")))
    complaint.hq_plan = plan.strip()
    _event(complaint, actor, "plan", complaint.hq_plan, at=now)


def joint_departments(complaint: Complaint) -> set[str]:
    return {t.department for t in complaint.tasks if t.department in DEPARTMENTS}


def add_task(complaint: Complaint, actor: User, department: str, title: str, due_on, now=None) -> ComplaintTask:
    _require(complaint, "task")
    if department not in TASK_ASSIGNEES:
        raise ComplaintError(str(_l("Choose a department.")))
    task = ComplaintTask(complaint=complaint, complaint_id=complaint.id, store_id=complaint.store_id,
                         franchisee_id=complaint.franchisee_id, department=department, title=title.strip(),
                         due_on=due_on, created_by_id=actor.id)
    db.session.add(task)  # (the relationship's backref has put it in complaint.tasks)
    _event(complaint, actor, "task", task.title, at=now, data={"department": department})
    alerts.task_assigned(task)
    return task


def complete_task(task: ComplaintTask, actor: User, outcome: str, now=None) -> None:
    if task.done_at is not None:
        raise ComplaintError(str(_l("This task was already marked done.")))
    if not (outcome or "").strip():
        raise ComplaintError(str(_l("Say what was done.")))
    now = now or utcnow()
    task.done_at = now
    task.done_by_id = actor.id
    task.outcome = outcome.strip()
    _event(task.complaint, actor, "task_done", task.outcome, at=now,
           data={"department": task.department, "title": task.title})


def finish_hq_part(complaint: Complaint, actor: User, note: str, now=None) -> None:
    """Headquarters' part is done: its clock stops (the store's keeps running to resolution)."""
    _require(complaint, "hq_done")
    if complaint.hq_done_at is not None:
        raise ComplaintError(str(_l("Headquarters' part was already marked done.")))
    if not complaint.hq_plan:
        raise ComplaintError(str(_l("Write the handling plan first.")))
    if len(joint_departments(complaint)) < JOINT_MIN_DEPARTMENTS:
        raise ComplaintError(str(_l("Joint handling takes at least %(n)d departments; assign tasks to them first.",
                                    n=JOINT_MIN_DEPARTMENTS)))
    if any(t.done_at is None for t in complaint.tasks):
        raise ComplaintError(str(_l("The plan still has open tasks.")))
    now = now or utcnow()
    complaint.hq_done_at = now
    _event(complaint, actor, "hq_done", note, at=now)


def compensation_value(raw) -> Decimal | None:
    return Decimal(raw) if raw not in (None, "") else None
