"""The touchpoint register and audit templates: the defaults, and versions that never rewrite
completed audits (issue 10; R29, R30, R34)."""
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditAnswer, AuditTemplate, StoreAudit, TemplateItem, TemplateSection, Touchpoint, User
from app.models.base import local_today
from app.security.tenancy import unscoped
from app.services import RuleError

DEFAULT_FAMILY = "STD"
REVIEW_MONTHS = 12

# The default register, drawn from the source documents: the store service flow (seed 002:
# 接待、产品介绍、解答疑问、订单处理、售后服务), the three steps of handling a customer's
# emotions (seed 001: 表达服务意愿、体谅顾客情感、表示承担责任), delivery (seed 000: 准时、
# 准确、完好、可查询) and complaint intake. (code, stage, zh, en, department, standard, criteria)
# The standards and criteria in English are in STANDARDS_EN.
TOUCHPOINTS = (
    ("TP01", "before", "门店环境与形象", "Store environment and image", "marketing",
     "门店内外整洁明亮、无杂物无异味；商品陈列整齐，价签清晰且与商品一致；员工着装统一、佩戴工牌。",
     "稽核员进店时目测；价签抽查 5 件商品。"),
    ("TP02", "before", "迎宾接待", "Greeting and welcome", "sales",
     "顾客进店 5 秒内有员工目光接触或微笑示意，并主动问候，表达乐于服务的意愿。",
     "从进店起计时；记录是否问候及问候用语。"),
    ("TP03", "during", "了解顾客需求", "Understanding the customer's needs", "sales",
     "通过提问了解顾客的用途、预算和偏好，并复述确认。",
     "记录员工提出的问题数量与是否复述确认。"),
    ("TP04", "during", "产品介绍", "Product introduction", "sales",
     "准确介绍产品的功能、材质与保养方法；依需求推荐合适产品，不强行推销。",
     "对照产品资料核对介绍内容；记录是否推荐与需求不符的产品。"),
    ("TP05", "during", "解答疑问", "Answering questions", "sales",
     "耐心解答顾客问题；不清楚时主动求助同事或查询，不敷衍。",
     "稽核员至少提出 2 个问题，记录回答是否准确。"),
    ("TP06", "during", "处理顾客不满", "Handling dissatisfaction", "customer_service",
     "按处理情感三步曲：表达服务意愿、体谅顾客情感、表示承担责任（告知自己的姓名），再提出解决建议。",
     "稽核员表达一次不满（如价格或等候），记录员工的三步是否做到。"),
    ("TP07", "during", "收银与订单处理", "Checkout and order processing", "sales",
     "结账准确，主动提供发票或小票；排队等候不超过 5 分钟；订单信息与顾客确认。",
     "核对小票金额；记录排队时间。"),
    ("TP08", "after", "售后说明", "After-sales explanation", "customer_service",
     "说明保修期限、退换货政策和售后联系方式；需要送货安装的，告知时间并留下联系方式。",
     "记录员工是否主动说明，说明是否与总部政策一致。"),
    ("TP09", "after", "送货服务", "Delivery", "logistics",
     "在约定时间内送达，商品准确、完好，顾客可查询送货进度。",
     "有送货的稽核：记录约定与实际送达时间、商品状况。"),
    ("TP10", "after", "投诉受理", "Complaint intake", "customer_service",
     "员工知道如何受理投诉，告知处理时限，并提供门店投诉二维码或电话。",
     "稽核员询问如何投诉，记录回答。"),
)
# code -> (standard, how it is measured), for English readers.
STANDARDS_EN = {
    "TP01": ("Store clean and bright inside and out, no clutter or smell; tidy displays with clear price tags that "
             "match the goods; staff in uniform with name badges.", "Seen on entering; price tags checked on 5 items."),
    "TP02": ("Eye contact or a smile within 5 seconds of a customer entering, and a greeting that shows willingness "
             "to serve.", "Timed from entering; the greeting and its words noted."),
    "TP03": ("Questions about use, budget and preferences, repeated back to confirm.",
             "Number of questions asked and whether the needs were confirmed."),
    "TP04": ("Function, materials and care explained correctly; products recommended to fit the needs, no hard "
             "selling.", "Checked against the product sheet; any recommendation that ignored the needs noted."),
    "TP05": ("Questions answered patiently; a colleague asked or the facts looked up rather than a guess.",
             "At least 2 questions asked by the auditor; whether the answers were right."),
    "TP06": ("The three steps of handling emotions: willingness to serve, empathy, taking responsibility (giving "
             "one's own name), then a suggested solution.", "The auditor voices one complaint (price or waiting); "
             "which of the three steps were taken."),
    "TP07": ("Correct checkout with an invoice or receipt offered; no more than 5 minutes' wait; order details "
             "confirmed with the customer.", "Receipt amount checked; waiting time noted."),
    "TP08": ("Warranty, returns policy and after-sales contact explained; for delivery or installation, the time "
             "and a contact given.", "Whether staff explained it unasked, and whether it matches headquarters' policy."),
    "TP09": ("Delivered within the agreed time, the right goods, intact; the customer can follow the delivery.",
             "Audits with a delivery: agreed and actual times, condition of the goods."),
    "TP10": ("Staff know how complaints are taken and how long they take, and offer the store's complaint QR code "
             "or phone number.", "The auditor asks how to complain; the answer noted."),
}
# (touchpoint code, zh, en, weight, scoring, allow n/a, critical, photo on fail)
ITEMS = (
    ("TP01", "门店内外整洁，无杂物、无异味", "Store clean inside and out, no clutter or smell", 2, "yes_no", False, False, True),
    ("TP01", "商品陈列整齐，价签清晰且与商品一致", "Tidy displays; clear price tags that match the goods", 2, "yes_no", False, True, True),
    ("TP01", "员工着装统一并佩戴工牌", "Staff in uniform and wearing name badges", 1, "yes_no", False, False, True),
    ("TP02", "顾客进店 5 秒内有员工目光接触或微笑示意", "Eye contact or a smile within 5 seconds of entering", 2, "yes_no", False, False, False),
    ("TP02", "主动问候，表达乐于服务的意愿", "Greets first and shows willingness to serve", 3, "scale", False, False, False),
    ("TP03", "通过提问了解用途、预算和偏好", "Asks about use, budget and preferences", 3, "scale", False, False, False),
    ("TP03", "复述并确认顾客的需求", "Repeats the needs back to confirm them", 1, "yes_no", False, False, False),
    ("TP04", "准确介绍产品的功能、材质与保养", "Explains function, materials and care correctly", 3, "scale", False, False, False),
    ("TP04", "按需求推荐合适产品，不强行推销", "Recommends what fits the needs, no hard selling", 2, "scale", False, False, False),
    ("TP05", "耐心解答，不清楚时主动求助而非敷衍", "Answers patiently; asks a colleague rather than guess", 2, "scale", False, False, False),
    ("TP06", "表达服务意愿", "Expresses willingness to serve", 2, "yes_no", True, False, False),
    ("TP06", "体谅顾客情感", "Acknowledges the customer's feelings", 2, "yes_no", True, False, False),
    ("TP06", "表示承担责任，并告知自己的姓名", "Takes responsibility and gives their own name", 2, "yes_no", True, True, False),
    ("TP06", "提出解决建议并确认顾客接受", "Suggests a solution and checks the customer accepts it", 2, "scale", True, False, False),
    ("TP07", "结账准确，主动提供发票或小票", "Correct checkout; offers an invoice or receipt", 2, "yes_no", False, True, True),
    ("TP07", "排队等候不超过 5 分钟", "Waited no more than 5 minutes to pay", 1, "yes_no", True, False, False),
    ("TP08", "说明保修期限、退换货政策和售后联系方式", "Explains warranty, returns policy and after-sales contact", 2, "yes_no", False, False, False),
    ("TP08", "需送货安装时告知时间并留下联系方式", "For delivery or installation: gives the time and a contact", 1, "yes_no", True, False, False),
    ("TP09", "在约定时间内送达，商品完好", "Delivered on time, goods intact", 2, "yes_no", True, False, True),
    ("TP10", "知道如何受理投诉并告知处理时限", "Knows how complaints are taken and says how long they take", 2, "yes_no", False, False, False),
)


class TemplateError(RuleError):
    pass


def install_defaults(actor: User | None = None, today: date | None = None) -> AuditTemplate:
    """The default register and template (version 1, in use), unless they exist."""
    today = today or local_today()
    with unscoped():
        existing = db.session.scalar(select(AuditTemplate).where(AuditTemplate.family == DEFAULT_FAMILY)
                                     .order_by(AuditTemplate.number))
        if existing is not None:
            return existing
        touchpoints = {}
        for position, (code, stage, zh, en, department, standard, criteria) in enumerate(TOUCHPOINTS):
            touchpoint = db.session.scalar(select(Touchpoint).where(Touchpoint.code == code))
            if touchpoint is None:
                touchpoint = Touchpoint(code=code, stage=stage, name_zh=zh, name_en=en, department=department,
                                        standard=standard, criteria=criteria, standard_en=STANDARDS_EN[code][0],
                                        criteria_en=STANDARDS_EN[code][1], position=position,
                                        reviewed_on=today, next_review_on=today + timedelta(days=365))
                db.session.add(touchpoint)
            touchpoints[code] = touchpoint
        template = AuditTemplate(family=DEFAULT_FAMILY, number=1, name="标准门店稽核模板",
                                 name_en="Standard store audit", status="active",
                                 created_by_id=actor.id if actor else None)
        sections = {}
        for code in touchpoints:
            sections[code] = TemplateSection(touchpoint=touchpoints[code], position=len(sections))
            template.sections.append(sections[code])
        for position, (code, zh, en, weight, scoring, na, critical, photo) in enumerate(ITEMS):
            sections[code].items.append(TemplateItem(
                position=position, text_zh=zh, text_en=en, weight=Decimal(weight), scoring=scoring, allow_na=na,
                critical=critical, photo_on_fail=photo))
        db.session.add(template)
        db.session.flush()
        return template


def active_templates() -> list[AuditTemplate]:
    return db.session.scalars(select(AuditTemplate).where(AuditTemplate.status == "active")
                              .order_by(AuditTemplate.family)).all()


def is_frozen(template: AuditTemplate) -> bool:
    """Only a draft is edited. A version in use may have audits being conducted or completed
    with it, and a retired one had: their results stay scored by the items they were
    conducted with, so a change is always a new version (``new_version``)."""
    return template.status != "draft"


def require_draft(template: AuditTemplate) -> None:
    if is_frozen(template):
        raise TemplateError(str(_l("This version is in use or was used by audits and cannot be changed. "
                                   "Make a new version to change it.")))


def new_version(template: AuditTemplate, actor: User) -> AuditTemplate:
    """A draft copy of ``template`` as the family's next version, or the draft already open."""
    with unscoped():
        draft = db.session.scalar(select(AuditTemplate).where(AuditTemplate.family == template.family,
                                                              AuditTemplate.status == "draft"))
        if draft is not None:
            return draft
        number = db.session.scalar(select(func.max(AuditTemplate.number)).where(
            AuditTemplate.family == template.family)) or 0
    copy = AuditTemplate(family=template.family, number=number + 1, name=template.name, name_en=template.name_en,
                         status="draft",
                         critical_rule=template.critical_rule, critical_cap=template.critical_cap,
                         scale_pass=template.scale_pass, recheck_below=template.recheck_below,
                         min_minutes=template.min_minutes, notes=template.notes, created_by_id=actor.id)
    for section in template.sections:
        new_section = TemplateSection(touchpoint_id=section.touchpoint_id, position=section.position)
        for item in section.items:
            new_section.items.append(TemplateItem(
                position=item.position, text_zh=item.text_zh, text_en=item.text_en, weight=item.weight,
                scoring=item.scoring, allow_na=item.allow_na, critical=item.critical, photo_on_fail=item.photo_on_fail))
        copy.sections.append(new_section)
    db.session.add(copy)
    db.session.flush()
    return copy


def problems(template: AuditTemplate) -> list[str]:
    """Why a draft cannot be put in use (weights that make no sense, nothing to score)."""
    found = []
    items = template.items
    if not items:
        found.append(str(_l("The template has no items.")))
    if any(Decimal(item.weight) <= 0 for item in items):
        found.append(str(_l("Every item needs a weight above 0.")))
    for section in template.sections:
        if not section.items:
            from app.i18n import current_locale

            found.append(str(_l("The section %(name)s has no items.", name=section.touchpoint.label(current_locale()))))
    return found


def activate(template: AuditTemplate, actor: User) -> int:
    """Put a draft in use: the family's previous version retires, and planned audits that have
    no answers yet move to this version. Returns how many planned audits moved."""
    require_draft(template)
    found = problems(template)
    if found:
        raise TemplateError(" ".join(found))
    with unscoped():
        previous = db.session.scalars(select(AuditTemplate).where(
            AuditTemplate.family == template.family, AuditTemplate.status == "active")).all()
        for old in previous:
            old.status = "retired"
        template.status = "active"
        moved = 0
        if previous:
            answered = select(AuditAnswer.audit_id).distinct()
            moved = db.session.execute(
                update(StoreAudit).where(StoreAudit.template_id.in_([t.id for t in previous]),
                                         StoreAudit.status == "planned", StoreAudit.id.not_in(answered))
                .values(template_id=template.id).execution_options(synchronize_session=False)).rowcount
        db.session.flush()
    return moved


def reviews_due(today: date | None = None, within_days: int = 30):
    """Touchpoints whose standard is due for review (R34): overdue first."""
    today = today or local_today()
    return db.session.scalars(select(Touchpoint).where(Touchpoint.active.is_(True),
                                                       Touchpoint.next_review_on <= today + timedelta(days=within_days))
                              .order_by(Touchpoint.next_review_on, Touchpoint.code)).all()
