"""The filtered customer list, shared by the list page and its CSV/Excel export."""
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select
from sqlalchemy.orm import selectinload

from app.models import Customer
from app.models.customer import CATEGORIES, GRADES
from app.services import customer_analytics as analytics
from app.services.customer_fields import name_key

SORTS = {
    "recent": _l("Last purchase"),
    "name": _l("Name"),
    "code": _l("Code"),
    "spend": _l("Total spend"),
    "clv": _l("Lifetime value"),
}
CONSENT_FILTERS = {
    "yes": _l("Consent given"),
    "no": _l("No consent"),
    "anonymised": _l("Anonymised"),
}
CHURN_FILTERS = {"any": _l("Any churn warning"), **analytics.CHURN_REASONS}


@dataclass
class Filters:
    q: str = ""
    store: int | None = None
    franchisee: int | None = None
    category: str = ""
    grade: str = ""
    tier: int | None = None
    churn: str = ""
    consent: str = ""
    sort: str = "recent"

    @classmethod
    def from_args(cls, args) -> "Filters":
        def pick(name, allowed):
            value = args.get(name, "")
            return value if value in allowed else ""

        return cls(
            q=args.get("q", "").strip()[:60],
            store=args.get("store", type=int),
            franchisee=args.get("franchisee", type=int),
            category=pick("category", CATEGORIES),
            grade=pick("grade", GRADES),
            tier=args.get("tier", type=int),
            churn=pick("churn", CHURN_FILTERS),
            consent=pick("consent", CONSENT_FILTERS),
            sort=pick("sort", SORTS) or "recent",
        )

    def args(self) -> dict:
        """The non-empty filters, for links that keep them (pagination, export)."""
        return {k: v for k, v in self.__dict__.items() if v not in ("", None) and not (k == "sort" and v == "recent")}


def customer_query(f: Filters, today, search_phone: bool):
    """Customers in scope matching ``f``. Merged records never show; anonymised only on request."""
    stmt = select(Customer).where(Customer.merged_into_id.is_(None))
    if f.consent == "anonymised":
        stmt = stmt.where(Customer.anonymised_at.is_not(None))
    else:
        stmt = stmt.where(Customer.anonymised_at.is_(None))
        if f.consent == "yes":
            stmt = stmt.where(Customer.consent.is_(True))
        elif f.consent == "no":
            stmt = stmt.where(Customer.consent.is_(False))
    if f.q:
        like = f"%{f.q}%"
        terms = [Customer.name.ilike(like), Customer.code.ilike(like)]
        key = name_key(f.q)
        if key:
            terms.append(Customer.name_key.contains(key, autoescape=True))
        digits = re.sub(r"\D", "", f.q)
        if search_phone and len(digits) >= 4:
            terms.append(Customer.mobile.contains(digits))
        stmt = stmt.where(or_(*terms))
    if f.store:
        stmt = stmt.where(Customer.store_id == f.store)
    if f.franchisee:
        stmt = stmt.where(Customer.franchisee_id == f.franchisee)
    if f.category:
        stmt = stmt.where(Customer.category == f.category)
    if f.grade:
        stmt = stmt.where(Customer.grade == f.grade)
    if f.tier:
        stmt = stmt.where(Customer.tier_id == f.tier)
    if f.churn:
        stmt = stmt.where(analytics.churn_filter(analytics.get_rules(), today, None if f.churn == "any" else f.churn))
    order = {
        "recent": [case((Customer.last_purchase_on.is_(None), 1), else_=0), Customer.last_purchase_on.desc()],
        "name": [Customer.name_key],
        "code": [Customer.code],
        "spend": [Customer.total_spend.desc()],
        "clv": [Customer.clv.desc()],
    }[f.sort]
    return stmt.options(selectinload(Customer.store), selectinload(Customer.tier)).order_by(*order, Customer.id)
