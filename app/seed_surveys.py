"""Demo satisfaction surveys (issue 12): the committee approves seed 004's questionnaire and the
post-purchase one; four half-yearly survey projects (three closed, the current one collecting)
with their schedules, responses from paper forms, store pages and invitation links recorded
through the real service (so the stored index, the store figures and the follow-ups are what
the portal itself records), a few very low answers followed up and some still open, and unused
invitations for the current survey. One generator per store and half-year: the same demo every
run; nothing is added when a survey exists."""
import random
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Customer, Store, User
from app.models.base import local_today, utcnow
from app.models.survey import SurveyInvitation, SurveyProject
from app.security.tenancy import unscoped
from app.services.surveys import defaults, projects, public, responses

HALVES_BACK = 4
SUGGESTIONS = ["希望增加周末的导购人手", "价格可以再优惠一些", "退货流程太慢，希望简化", "店员很热情，继续保持",
               "希望有更多会员活动", "送货比约定时间晚了两天", "投诉后很快就有人联系我，满意", "宣传资料信息不全"]
WHY_NOT = ["价格偏高", "附近没有门店", "还在比较其他品牌"]
# How each store tends to answer (its mean level): stores differ, so rankings and warnings show.
LEVEL = {"SH001": 4.4, "HZ001": 4.1, "SU001": 3.6, "NJ001": 3.9, "BJ001": 4.2, "TJ001": 3.2, "GZ001": 4.0, "SZ001": 3.7}


def _halves(today: date) -> list[tuple[int, int]]:
    year, half = projects.half_of(today)
    out = []
    for _ in range(HALVES_BACK):
        out.append((year, half))
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return out[::-1]


def _score(rng: random.Random, level: float) -> int:
    return max(1, min(5, round(rng.gauss(level, 0.8))))


def seed_surveys(stores: list[Store]) -> int:
    today = local_today()
    with unscoped():
        if db.session.scalar(select(func.count(SurveyProject.id))):
            return 0
        committee = db.session.scalar(select(User).where(User.role == "hq_viewer").order_by(User.id).limit(1))
        auditor = db.session.scalar(select(User).where(User.role == "hq_auditor").order_by(User.id).limit(1))
        questionnaire = defaults.install()
        post = db.session.scalar(select(defaults.Questionnaire).where(defaults.Questionnaire.code == "POST"))
        projects.approve(questionnaire, committee)
        projects.approve(post, committee)
        db.session.flush()
        created = 0
        scale = [q for q in questionnaire.questions if q.kind == "scale"]
        bought, why_not, suggestion = questionnaire.questions[7:10]
        halves = _halves(today)
        for n, (year, half) in enumerate(halves):
            current = n == len(halves) - 1
            project = projects.create(
                name=f"{year}年{'上' if half == 1 else '下'}半年顾客满意度调查", questionnaire=questionnaire, year=year,
                half=half, schedule_from=projects.default_schedule_start(year, half), created_by=auditor,
                purpose="倾听消费者的声音和需求；找出改进点；提升整体满意度。" if not current else
                "半年度满意度测评：按客户档案分层抽样，门店扫码与纸质问卷并行。")
            for step in project.steps:
                owner = "客户体验部 林静" if step.key not in ("fieldwork",) else "各门店店长"
                step.owner = owner
                if step.due_on < today - timedelta(days=3) and not (current and step.key == "analysis"):
                    step.done_on = step.due_on
            end = min(project.ends_on, today)
            project.status = "fieldwork"
            for store in stores:
                rng = random.Random(f"survey-{store.code}-{year}-{half}")
                level = LEVEL.get(store.code, 3.9) + (0.1 * n if store.code != "TJ001" else -0.15 * n)
                customers = db.session.scalars(select(Customer.id).where(
                    Customer.store_id == store.id, Customer.consent.is_(True)).order_by(Customer.id).limit(30)).all()
                days = (end - project.starts_on).days
                used: set[int] = set()
                for i in range(rng.randint(12, 22) if not current else rng.randint(6, 12)):
                    raw = {q.id: str(_score(rng, level)) for q in scale}
                    has_bought = rng.random() < 0.8
                    raw[bought.id] = "yes" if has_bought else "no"
                    if not has_bought:
                        raw[why_not.id] = rng.choice(WHY_NOT)
                    if rng.random() < 0.4:
                        raw[suggestion.id] = rng.choice(SUGGESTIONS)
                    source = rng.choice(("paper", "store", "link"))
                    free = [c for c in customers if c not in used]
                    invitation = None
                    if source == "link" and free:
                        customer_id = rng.choice(free)
                        used.add(customer_id)
                        invitation = SurveyInvitation(
                            project_id=project.id, store_id=store.id, franchisee_id=store.franchisee_id,
                            customer_id=customer_id, segment="current", sent_at=utcnow(), token_hash=public.token_hash(
                                public.token_for(current_app.config["SECRET_KEY"], project.id, customer_id)))
                        db.session.add(invitation)
                        db.session.flush()
                    response = responses.record(
                        project, store, raw, source="link" if invitation else ("store" if source == "link" else source),
                        answered_on=project.starts_on + timedelta(days=rng.randint(0, max(days, 0))),
                        respondent="dealer" if rng.random() < 0.15 else "consumer",
                        customer_id=invitation.customer_id if invitation else None, invitation=invitation,
                        entered_by=auditor if source == "paper" else None)
                    if response.follow_up and (not current or rng.random() < 0.4):
                        response.follow_up, response.follow_up_at = "done", utcnow()
                        response.follow_up_note = "已电话回访顾客，致歉并说明改进措施；顾客表示理解。"
                    created += 1
                if current:  # invitations not answered yet, to try a personal link
                    for customer_id in [c for c in customers if c not in used][:3]:
                        db.session.add(SurveyInvitation(
                            project_id=project.id, store_id=store.id, franchisee_id=store.franchisee_id,
                            customer_id=customer_id, segment="current", token_hash=public.token_hash(
                                public.token_for(current_app.config["SECRET_KEY"], project.id, customer_id))))
            project.status = "fieldwork" if current else "closed"
            # R43: an in-depth interview and a focus group in each half-year (seed 004's methods).
            from app.models.survey import SurveyNote

            held = min(project.starts_on + timedelta(days=75), today)
            db.session.add_all([
                SurveyNote(project_id=project.id, kind="interview", held_on=held, participants=3,
                           who="曾经的核心客户（上海、杭州门店）", created_by_id=getattr(auditor, "id", None),
                           summary="价格是主要顾虑；售后上门响应慢会直接影响复购；希望门店主动告知促销。"),
                SurveyNote(project_id=project.id, kind="focus_group", held_on=held + timedelta(days=7), participants=8,
                           who="潜在客户（社区招募）", created_by_id=getattr(auditor, "id", None),
                           summary="对品牌认知度一般；宣传资料信息不全；对退货政策不了解。"),
            ])
        # The post-purchase survey of the current half (R46): a short one, a few answers per store.
        year, half = halves[-1]
        quick = projects.create(name=f"{year}年购后回访（四问）", questionnaire=post, year=year, half=half,
                                schedule_from=projects.default_schedule_start(year, half), created_by=auditor,
                                purpose="购买后邀请同意联系的顾客回答四个问题。")
        quick.status = "fieldwork"
        for store in stores:
            rng = random.Random(f"post-{store.code}")
            for _ in range(rng.randint(4, 9)):
                raw = {q.id: "yes" if rng.random() < 0.85 else "no" for q in post.questions}
                responses.record(quick, store, raw, source="link",
                                 answered_on=max(quick.starts_on, today - timedelta(days=rng.randint(0, 60))))
                created += 1
        db.session.flush()
        return created


# Headquarters' limits (green, red, abnormal change %), approved by the committee in the demo.
THRESHOLDS = {
    "csi": ("85", "75", "5"), "complaint_rate": ("20", "35", None), "on_time": ("90", "75", None),
    "repeat_rate": ("65", "50", "15"), "retention": ("80", "70", "10"), "mystery": ("85", "70", None),
    "training": ("90", "60", None),
    # The logistics partners' delivery KPIs (the partner pages appraise carriers by them).
    "delivery_arrival": ("98", "95", None), "delivery_on_time": ("95", "85", None),
    "delivery_damage": ("1", "3", None), "delivery_complaints": ("2", "5", None),
}


def seed_kpis(today: date | None = None) -> int:
    """Thresholds approved by the committee, the last four half-years' KPIs and their warnings;
    one warning acknowledged and answered by its franchise owner."""
    from decimal import Decimal

    from app.models.kpi import KpiThreshold, KpiWarning
    from app.services import kpis

    today = today or local_today()
    with unscoped():
        if db.session.scalar(select(func.count(KpiThreshold.id))):
            return 0
        committee = db.session.scalar(select(User).where(User.role == "hq_viewer").order_by(User.id).limit(1))
        auditor = db.session.scalar(select(User).where(User.role == "hq_auditor").order_by(User.id).limit(1))
        for code, (green, red, change) in THRESHOLDS.items():
            threshold = KpiThreshold(kpi=code, green=Decimal(green), red=Decimal(red),
                                     change_percent=Decimal(change) if change else None, created_by_id=auditor.id)
            db.session.add(threshold)
            db.session.flush()
            kpis.approve_threshold(threshold, committee)
        from app.services import evaluation

        scheme = evaluation.draft(evaluation.DEFAULT_WEIGHTS, auditor)
        evaluation.approve(scheme, committee, kpis.approved_thresholds())
        period = kpis.period_of(today)
        periods = [period]
        for _ in range(HALVES_BACK - 1):
            periods.append(kpis.previous(periods[-1]))
        made = 0
        for p in reversed(periods):
            made += kpis.refresh(p, today)
            made += len(kpis.evaluate(p))
            evaluation.evaluate(p)
        answered = db.session.scalar(select(KpiWarning).where(KpiWarning.period == periods[1]).order_by(KpiWarning.id).limit(1))
        if answered is not None:
            owner = db.session.scalar(select(User).where(User.franchisee_id == answered.franchisee_id,
                                                         User.role == "franchise_owner").limit(1))
            if owner is not None:
                answered.state, answered.acknowledged_at, answered.acknowledged_by_id = "answered", utcnow(), owner.id
                answered.action = "店长每周复盘低分问卷，针对价格与售后问题开展专项培训；下季度复查。"
                answered.action_due_on = today + timedelta(days=30)
                answered.answered_at, answered.answered_by_id = utcnow(), owner.id
        db.session.flush()
        return made
