"""Headquarters' defaults for the store team (issue 11): positions with hiring criteria, the team
size by store size, the courses of the source documents and their requirement matrix, and the
appraisal indicators. Installed once (``install``); headquarters changes them afterwards."""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import AppraisalIndicator, Course, CourseRequirement, Position, StaffingNorm
from app.models.base import local_today
from app.security.tenancy import unscoped

# Seed 002 (团队组建): hire people with good communication, service awareness and team spirit;
# seed 001: attitude and ethics for customer-contact staff. (code, zh, en, contact, criteria zh, en)
HIRE_ALL = "具有良好的沟通能力、服务意识和团队合作精神"
HIRE_ALL_EN = "Good communication, service awareness and team spirit"
POSITIONS = (
    ("MGR", "店长", "Store manager", True, HIRE_ALL + "；三年以上门店经验，一年以上团队管理经验；熟悉客户体验政策与投诉处理流程。",
     HIRE_ALL_EN + "; three years in a store and one leading a team; knows the CX policy and complaint handling."),
    ("SALES", "销售顾问", "Sales consultant", True, HIRE_ALL + "；热情主动，乐于学习产品知识。",
     HIRE_ALL_EN + "; warm and proactive, keen to learn the products."),
    ("CASH", "收银员", "Cashier", True, HIRE_ALL + "；细心准确，诚实守信。",
     HIRE_ALL_EN + "; careful, accurate and honest."),
    ("CS", "客服专员", "Customer service", True, HIRE_ALL + "；情绪稳定，善于倾听，能按三步曲安抚顾客情绪。",
     HIRE_ALL_EN + "; calm, a good listener, able to handle emotions with the three-step method."),
    ("TECH", "安装/售后技师", "Installation and after-sales technician", True,
     HIRE_ALL + "；持相关技能证书，守时守约。", HIRE_ALL_EN + "; holds the trade's certificates, punctual."),
)
# Headcount per position by store size (seed 002: posts and numbers set by the store's size).
NORMS = {
    "MGR": {"small": 1, "medium": 1, "large": 1},
    "SALES": {"small": 2, "medium": 4, "large": 8},
    "CASH": {"small": 1, "medium": 1, "large": 2},
    "CS": {"small": 0, "medium": 1, "large": 2},
    "TECH": {"small": 1, "medium": 1, "large": 2},
}
ALL_POSITIONS = tuple(p[0] for p in POSITIONS)
CONTACT = ("MGR", "SALES", "CS")
# The courses (seed 000 training plan contents; seed 002 onboarding: culture, product knowledge,
# service skills): code, title, English, topic, kind, hours, pass mark, validity months,
# onboarding, {positions: within days}.
COURSES = (
    ("C01", "公司文化与客户体验理念", "Company culture and the customer-experience idea", "culture", "internal",
     "4", 60, None, True, {p: 30 for p in ALL_POSITIONS}),
    ("C02", "产品知识", "Product knowledge", "product", "internal", "8", 70, 12, True,
     {"MGR": 30, "SALES": 30, "CS": 30, "TECH": 30}),
    ("C03", "服务技巧与门店服务流程", "Service skills and the store's service flow", "service", "internal", "6", 75, 24,
     True, {"MGR": 30, "SALES": 30, "CASH": 30, "CS": 30}),
    ("C04", "投诉处理与情绪安抚三步曲", "Complaint handling and the three steps of calming a customer", "complaints",
     "internal", "4", 80, 12, False, {"MGR": 90, "SALES": 90, "CS": 60}),
    ("C05", "客户体验政策与制度", "The customer-experience policy and rules", "policy", "online", "2", 60, 12, False,
     {p: 90 for p in ALL_POSITIONS}),
    ("C06", "职业操守与服务态度", "Professional conduct and service attitude", "conduct", "online", "2", 60, 24, False,
     {p: 180 for p in CONTACT}),
    ("C07", "门店管理与团队领导", "Running a store and leading a team", "leadership", "external", "16", None, None,
     False, {"MGR": 180}),
)
# Seed 002 (绩效考核): service attitude, efficiency, customer satisfaction.
INDICATORS = (
    ("ATTITUDE", "服务态度", "Service attitude", 35, "manual"),
    ("EFFICIENCY", "服务效率", "Service efficiency", 30, "complaints"),
    ("SATISFACTION", "客户满意度", "Customer satisfaction", 35, "follow_up"),
)


def install(today: date | None = None) -> dict[str, Position]:
    """Positions, norms, courses, requirements and indicators, unless they exist. Returns the
    positions by code."""
    today = today or local_today()
    with unscoped():
        positions = {p.code: p for p in db.session.scalars(select(Position))}
        for order, (code, zh, en, contact, criteria, criteria_en) in enumerate(POSITIONS):
            if code not in positions:
                positions[code] = Position(code=code, name_zh=zh, name_en=en, customer_contact=contact,
                                           hiring_criteria=criteria, hiring_criteria_en=criteria_en, position=order)
                db.session.add(positions[code])
                db.session.flush()
                for size, count in NORMS[code].items():
                    db.session.add(StaffingNorm(position_id=positions[code].id, store_size=size, headcount=count))
        courses = {c.code for c in db.session.scalars(select(Course))}
        for code, title, en, topic, kind, hours, pass_mark, months, onboarding, required in COURSES:
            if code in courses:
                continue
            course = Course(code=code, title=title, title_en=en, topic=topic, kind=kind, hours=Decimal(hours),
                            pass_mark=pass_mark, validity_months=months, onboarding=onboarding)
            for position_code, days in required.items():
                course.requirements.append(CourseRequirement(position_id=positions[position_code].id,
                                                             within_days=days, since=today))
            db.session.add(course)
        indicators = {i.code for i in db.session.scalars(select(AppraisalIndicator))}
        for order, (code, zh, en, weight, source) in enumerate(INDICATORS):
            if code not in indicators:
                db.session.add(AppraisalIndicator(code=code, name_zh=zh, name_en=en, weight=weight, source=source,
                                                  position=order))
        db.session.flush()
    return positions
