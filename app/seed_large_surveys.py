"""The large network's satisfaction surveys and KPIs (issue 12): seed 004's questionnaire
approved by the committee, a survey for each of the last eight half-years (the current one still
collecting), 300,000 responses spread over the open stores (300 each) (each store with a level of its own
that drifts from one half-year to the next, so rankings, trends and warnings show), their
indexes computed with the portal's own formula, the store figures rebuilt by the portal's own
code, the demo's thresholds, and each half-year's KPIs and warnings. A generator of its own
(``random.Random(seed + 12)``); Core inserts in batches. ``flask --app wsgi seed large-surveys``
adds them to an existing large database."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Store, User
from app.models.base import local_today, utcnow
from app.models.kpi import KpiThreshold
from app.models.survey import SurveyProject, SurveyResponse
from app.security.tenancy import unscoped
from app.services import kpis
from app.services.surveys import defaults, projects, responses

HALVES = 8
PER_STORE = 300  # 300,000 responses for the default 1,000 stores
BATCH = 5_000


def _periods(today: date) -> list[int]:
    periods = [kpis.period_of(today)]
    while len(periods) < HALVES:
        periods.append(kpis.previous(periods[-1]))
    return periods[::-1]


def load(seed: int, progress, end_transaction, today: date | None = None, per_store: int = PER_STORE) -> int:
    """Surveys, responses, thresholds and KPIs, unless they were loaded before (the demo's own
    surveys of the same half-years are used, not duplicated); returns the responses."""
    today = today or local_today()
    with unscoped():
        if db.session.scalar(select(func.count()).select_from(select(SurveyResponse.id).limit(10_001).subquery())) > 10_000:
            return 0
        stores = db.session.execute(select(Store.id, Store.franchisee_id, Store.opened_on).where(
            Store.status == "open").order_by(Store.id)).all()
        total = per_store * len(stores)
        if not stores or total <= 0:
            return 0
        rng = random.Random(seed + 12)
        committee = db.session.scalar(select(User).where(User.role.in_(("hq_viewer", "hq_admin")))
                                      .order_by(User.role.desc(), User.id).limit(1))
        auditor = db.session.scalar(select(User.id).where(User.role.in_(("hq_auditor", "hq_admin")))
                                    .order_by(User.id).limit(1))
        questionnaire = defaults.install()
        if questionnaire.status == "draft":
            projects.approve(questionnaire, committee)
        db.session.flush()
        scale = [q for q in questionnaire.questions if q.kind == "scale"]
        bought, why_not, suggestion = questionnaire.questions[7:10]
        follow_up_at = questionnaire.follow_up_at_or_below
        level = {s.id: rng.uniform(3.2, 4.6) for s in stores}
        periods = _periods(today)
        per_period = total // len(periods)
        written = 0
        rows: list[dict] = []
        now = utcnow().replace(microsecond=0)
        made_projects = []
        for n, period in enumerate(periods):
            year, half = divmod(period, 10)
            current = n == len(periods) - 1
            project = db.session.scalar(select(SurveyProject).where(
                SurveyProject.year == year, SurveyProject.half == half,
                SurveyProject.questionnaire_id == questionnaire.id).order_by(SurveyProject.id).limit(1))
            if project is None:
                project = projects.create(name=f"{year}年{'上' if half == 1 else '下'}半年顾客满意度调查",
                                          questionnaire=questionnaire, year=year, half=half,
                                          schedule_from=projects.default_schedule_start(year, half), purpose=None,
                                          created_by=None)
            project.created_by_id = project.created_by_id or auditor
            for step in project.steps:
                if step.due_on < today:
                    step.done_on = step.due_on
            project.status = "fieldwork" if current else "closed"
            db.session.flush()
            made_projects.append(project)
            first, last = kpis.bounds(period)
            last = min(last, today)
            owners = kpis._owners(last)
            days = (last - first).days
            open_stores = [s for s in stores if s.opened_on <= last]
            for s in open_stores:  # each store drifts a little from one half-year to the next
                level[s.id] = min(4.9, max(2.6, level[s.id] + rng.gauss(0, 0.12)))
            for k in range(per_period):
                store = open_stores[k % len(open_stores)]
                mean_level = level[store.id]
                answers, scores = {}, {}
                for question in scale:
                    score = max(1, min(5, round(rng.gauss(mean_level, 0.75))))
                    answers[str(question.id)] = score
                    scores.setdefault(question.indicator.code, []).append(score)
                has_bought = rng.random() < 0.8
                answers[str(bought.id)] = has_bought
                if not has_bought and rng.random() < 0.5:
                    answers[str(why_not.id)] = "价格偏高"
                if rng.random() < 0.2:
                    answers[str(suggestion.id)] = "希望增加周末导购人手"
                lowest = min(min(v) for v in scores.values())
                low = lowest <= follow_up_at
                answered = first + timedelta(days=rng.randint(0, max(days, 0)))
                rows.append({
                    "project_id": project.id, "questionnaire_id": questionnaire.id, "store_id": store.id,
                    "franchisee_id": owners.get(store.id, store.franchisee_id), "answered_on": answered,
                    "respondent": "dealer" if rng.random() < 0.12 else "consumer",
                    "source": "paper" if rng.random() < 0.4 else "store", "answers": answers,
                    "csi": responses.response_index(questionnaire, scores), "lowest": lowest,
                    "follow_up": ("open" if current and rng.random() < 0.5 else "done") if low else None,
                    "follow_up_due_on": answered + timedelta(days=3) if low else None,
                    "follow_up_note": "已电话回访顾客并致歉" if low and not current else None,
                    "created_at": now, "updated_at": now,
                })
                if len(rows) >= BATCH:
                    db.session.execute(insert(SurveyResponse), rows)
                    written += len(rows)
                    rows.clear()
            if rows:
                db.session.execute(insert(SurveyResponse), rows)
                written += len(rows)
                rows.clear()
            end_transaction()
            progress(f"survey {kpis.label(period)}: {per_period:,} responses")
        for project in made_projects:
            responses.rebuild(project)
            end_transaction()
        progress("survey store figures rebuilt")
        if not db.session.scalar(select(func.count(KpiThreshold.id))):
            from app.seed_surveys import THRESHOLDS

            for code, (green, red, change) in THRESHOLDS.items():
                threshold = KpiThreshold(kpi=code, green=Decimal(green), red=Decimal(red),
                                         change_percent=Decimal(change) if change else None)
                db.session.add(threshold)
                db.session.flush()
                kpis.approve_threshold(threshold, committee)
        from app.services import evaluation

        if evaluation.approved_scheme() is None:
            evaluation.approve(evaluation.draft(evaluation.DEFAULT_WEIGHTS, None), committee, kpis.approved_thresholds())
        for period in periods:
            kpis.refresh(period, today)
            warned = len(kpis.evaluate(period))
            evaluation.evaluate(period)
            end_transaction()
            progress(f"KPIs {kpis.label(period)}: {warned:,} warnings")
        return written
