"""The master file's second and third parts (seed 001, 顾客主文件): the statistical-analysis
notes (统计分析资料), kept as a dated history, and the loyalty measures (顾客忠诚度之衡量, R16).

Both follow their customer: owned by the customer's current store (``CurrentOwner``), moved
with them on a merge, and erased (analysis text) on anonymisation.
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, utcnow
from app.models.customer import Customer
from app.models.user import User

# Seed 001: 顾客对企业的态度和评价、履行合同情况与存在问题、磨擦、信用情况、与其他竞争者交易情况、需求特征和潜力.
ANALYSIS_TOPICS = {
    "attitude": _l("Attitude to and evaluation of us"),
    "contract": _l("Contract performance and problems"),
    "friction": _l("Frictions"),
    "credit": _l("Credit status"),
    "competitors": _l("Dealings with competitors"),
    "demand": _l("Demand and potential"),
}
# Where a note comes from: the seed names surveys and data bought from information consultancies.
ANALYSIS_SOURCES = {
    "observation": _l("Staff observation"),
    "survey": _l("Customer survey"),
    "bought": _l("Bought from an information service"),
}
CREDIT_RATINGS = {"good": _l("Good"), "fair": _l("Fair"), "poor": _l("Poor")}


class CustomerAnalysis(CurrentOwner, db.Model):
    """One dated note of the analysis section; the credit history is the notes on ``credit``."""

    __table_args__ = (Index("ix_customer_analysis_customer", "customer_id", "noted_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    topic: Mapped[str] = mapped_column(String(20))
    noted_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(20), default="observation")
    # Only on credit notes.
    credit_rating: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"#{self.id}"


# The seven measures of seed 001, in its order. The first is counted from the purchases; the
# other six are observed by staff on a five-point scale where 5 is the most loyal answer.
LOYALTY_MEASURES = {
    "repeat_purchases": _l("Repeat purchases"),
    "share_of_need": _l("Our share of their total need"),
    "brand_attention": _l("Attention to our brand"),
    "choosing_time": _l("Time spent choosing"),
    "price_tolerance": _l("Price sensitivity"),
    "competitor_attitude": _l("Attitude to competing products"),
    "incident_tolerance": _l("Tolerance of quality incidents"),
}
OBSERVED_MEASURES = tuple(LOYALTY_MEASURES)[1:]
# The answers staff choose from, 1 to 5 (5 = most loyal).
LOYALTY_LEVELS = {
    "share_of_need": (_l("Under 20 %"), _l("20-39 %"), _l("40-59 %"), _l("60-79 %"), _l("At least 80 %")),
    "brand_attention": (_l("Pays no attention"), _l("Little"), _l("Some"), _l("Follows our news"), _l("Asks for our brand by name")),
    "choosing_time": (_l("Compares for a long time"), _l("Compares several shops"), _l("Some comparison"),
                      _l("Decides quickly"), _l("Buys without comparing")),
    "price_tolerance": (_l("Very price-sensitive"), _l("Price-sensitive"), _l("Somewhat"), _l("Hardly"),
                        _l("Not at all")),
    "competitor_attitude": (_l("Prefers competitors"), _l("Often tries competitors"), _l("Open to both"),
                            _l("Rarely looks elsewhere"), _l("Not interested in competitors")),
    "incident_tolerance": (_l("Would leave after one incident"), _l("Low"), _l("Moderate"), _l("High"),
                           _l("Stays even after incidents")),
}


class LoyaltyAssessment(CurrentOwner, db.Model):
    """Staff's observation of the six observed loyalty measures on one day (R16)."""

    __table_args__ = (Index("ix_loyalty_assessment_customer", "customer_id", "assessed_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    assessed_on: Mapped[date]
    share_of_need: Mapped[int]
    brand_attention: Mapped[int]
    choosing_time: Mapped[int]
    price_tolerance: Mapped[int]
    competitor_attitude: Mapped[int]
    incident_tolerance: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def observed_total(self) -> int:
        return sum(getattr(self, name) for name in OBSERVED_MEASURES)

    def __str__(self) -> str:
        return f"#{self.id}"
