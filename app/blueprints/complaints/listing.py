"""The complaint queue: tabs (open, overdue, about to breach, waiting, follow-up, headquarters,
all) and filters, each tab one keyset ordering over an indexed key."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.models import Complaint, Store
from app.models.complaint import KINDS, SEVERITIES
from app.pagination import Ordering
from app.services import customer_fields as fields

TABS = {
    "open": _l("Unresolved"),
    "overdue": _l("Overdue"),
    "due_soon": _l("About to breach"),
    "waiting": _l("Waiting on customer"),
    "follow_up": _l("To follow up"),
    "hq": _l("Headquarters"),
    "all": _l("All"),
}
BY_DUE = Ordering((Complaint.resolve_due_at, Complaint.id))
BY_HQ_DUE = Ordering((Complaint.hq_due_at, Complaint.id))
BY_RECEIVED = Ordering((Complaint.received_at, Complaint.id), descending=True)
ORDERINGS = {"hq": BY_HQ_DUE, "all": BY_RECEIVED, "follow_up": BY_RECEIVED}


@dataclass
class Filters:
    tab: str = "open"
    q: str = ""
    store: int | None = None
    store_code: str = ""
    category: int | None = None
    severity: str = ""
    kind: str = ""

    @classmethod
    def from_args(cls, args) -> "Filters":
        tab = args.get("tab", "open")
        return cls(
            tab=tab if tab in TABS else "open",
            q=args.get("q", "").strip()[:40],
            store=args.get("store", type=int),
            store_code=args.get("store_code", "").strip().upper()[:20],
            category=args.get("category", type=int),
            severity=args.get("severity", "") if args.get("severity") in SEVERITIES else "",
            kind=args.get("kind", "") if args.get("kind") in KINDS else "",
        )

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None) and not (k == "tab" and v == "open")}

    @property
    def narrowed(self) -> bool:
        return any(k != "tab" for k in self.args())

    @property
    def ordering(self) -> Ordering:
        return ORDERINGS.get(self.tab, BY_DUE)


def complaint_query(f: Filters, now, horizon):
    """Complaints in scope on the tab, filtered (unordered: ``f.ordering`` pages it)."""
    stmt = select(Complaint)
    if f.tab in ("open", "overdue", "due_soon", "waiting"):
        stmt = stmt.where(Complaint.is_open.is_(True))
        if f.tab == "overdue":
            # Late on either promise: the first answer or the resolution.
            stmt = stmt.where(Complaint.waiting_since.is_(None), or_(
                Complaint.resolve_due_at < now,
                and_(Complaint.acknowledged_at.is_(None), Complaint.acknowledge_due_at < now)))
        elif f.tab == "due_soon":
            stmt = stmt.where(Complaint.resolve_due_at >= now, Complaint.resolve_due_at < horizon,
                              Complaint.waiting_since.is_(None))
        elif f.tab == "waiting":
            stmt = stmt.where(Complaint.waiting_since.is_not(None))
    elif f.tab == "hq":
        stmt = stmt.where(Complaint.escalated.is_(True), Complaint.is_open.is_(True))
    elif f.tab == "follow_up":
        stmt = stmt.where(Complaint.status == "resolved")
    if f.q:
        stmt = stmt.where(_search(f.q))
    if f.store:
        stmt = stmt.where(Complaint.store_id == f.store)
    if f.store_code:
        stmt = stmt.where(Complaint.store_id.in_(select(Store.id).where(Store.code == f.store_code)))
    if f.category:
        stmt = stmt.where(Complaint.category_id == f.category)
    if f.severity:
        stmt = stmt.where(Complaint.severity == f.severity)
    if f.kind:
        stmt = stmt.where(Complaint.kind == f.kind)
    return stmt


def _search(q: str):
    """A reference number (TS...) or the contact's phone: both are indexed."""
    text = q.strip().upper()
    conditions = [Complaint.reference == text]
    try:
        phone = fields.normalise_phone(q)
    except fields.FieldError:
        phone = None
    if phone:
        conditions.append(Complaint.contact_phone == phone)
    return or_(*conditions)
