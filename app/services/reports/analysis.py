"""Analysis reports of a scope (the network for headquarters, a franchisee for its owner):

- the **survey report** of one project (R55): the index and its indicators' means, each
  question's mean, the respondents by kind, the distribution of the stores' indexes, the
  franchisees (or stores) ranked, and the customers' own suggestions from the open questions;
- the **complaint-analysis report** of a half-year (R57): volumes month by month, categories and
  channels, deadline compliance, time to resolve, reopened and follow-up satisfaction, escalations,
  corrective actions open and verified, and the franchisees (or stores) compared.

Figures come from the stored roll-ups through the tenant scope (a franchise owner's report counts
their stores only); the suggestions are the latest few answers, read with a limit."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintMonthStats, Franchisee, Store,
)
from app.models.survey import SurveyProject, SurveyQuestion, SurveyResponse, SurveyStoreStats
from app.services import kpis as kpi_service
from app.services.reports import periods
from app.services.surveys import results as survey_results
from app.services.surveys.index import mean

CENT = Decimal("0.01")
SUGGESTIONS = 40  # the latest open answers printed
BANDS = ((0, 60), (60, 70), (70, 80), (80, 90), (90, 101))


def survey_figures(project: SurveyProject, locale: str, by_store: bool) -> dict:
    questionnaire = project.questionnaire
    r = survey_results.results(project)
    questions = db.session.scalars(select(SurveyQuestion).where(SurveyQuestion.questionnaire_id == questionnaire.id)
                                   .order_by(SurveyQuestion.position)).all()
    lines = []
    for q in questions:
        if q.kind == "text":
            continue
        total, count = r["by_question"].get(q.id, (0, 0))
        m = mean(total, count)
        value = (m * 100).quantize(Decimal("0.1")) if q.kind == "yes_no" and m is not None else \
            m.quantize(CENT) if m is not None else None
        lines.append(dict(text=q.text_en if locale == "en" else q.text_zh, kind=q.kind, answers=count, value=value,
                          indicator=q.indicator.code if q.indicator else ""))
    indexes = db.session.scalars(select(SurveyStoreStats.csi).where(SurveyStoreStats.project_id == project.id,
                                                                    SurveyStoreStats.csi.is_not(None))).all()
    bands = [(f"{low}–{min(high, 100)}", sum(1 for v in indexes if low <= v < high)) for low, high in BANDS]
    stores = []
    if by_store:
        stores = db.session.execute(
            select(Store.code, Store.name, SurveyStoreStats.responses, SurveyStoreStats.csi, SurveyStoreStats.low_scores)
            .join(Store, Store.id == SurveyStoreStats.store_id).where(SurveyStoreStats.project_id == project.id)
            .order_by(SurveyStoreStats.csi.desc().nulls_last(), Store.code).limit(200)).all()
    text_ids = [q.id for q in questions if q.kind == "text"]
    suggestions = []
    if text_ids:
        for answers, code in db.session.execute(
                select(SurveyResponse.answers, Store.code).join(Store, Store.id == SurveyResponse.store_id)
                .where(SurveyResponse.project_id == project.id)
                .order_by(SurveyResponse.id.desc()).limit(SUGGESTIONS * 10)):
            for qid in text_ids:
                said = (answers or {}).get(str(qid))
                if isinstance(said, str) and said.strip():
                    suggestions.append((code, said.strip()[:400]))
            if len(suggestions) >= SUGGESTIONS:
                break
    means = [(i.code, i.label(locale), i.weight, r["means"].get(i.code)) for i in questionnaire.indicators]
    return dict(results=r, questions=lines, bands=bands, stores=stores, suggestions=suggestions[:SUGGESTIONS],
                means=means, has_data=bool(r["totals"][0]))


def complaint_figures(period: int, locale: str, franchisee_id: int | None) -> dict:
    months = periods.months(period)
    c = ComplaintMonthStats

    def scoped(stmt):
        return stmt.where(c.franchisee_id == franchisee_id) if franchisee_id is not None else stmt

    sums = (func.coalesce(func.sum(c.received), 0), func.coalesce(func.sum(c.major), 0),
            func.coalesce(func.sum(c.escalated), 0), func.coalesce(func.sum(c.acknowledged), 0),
            func.coalesce(func.sum(c.acknowledged_in_time), 0), func.coalesce(func.sum(c.resolved), 0),
            func.coalesce(func.sum(c.resolved_in_time), 0), func.coalesce(func.sum(c.resolution_seconds), 0),
            func.coalesce(func.sum(c.reopened), 0), func.coalesce(func.sum(c.followed_up), 0),
            func.coalesce(func.sum(c.follow_up_score), 0), func.coalesce(func.sum(c.suggestions), 0),
            func.coalesce(func.sum(c.praise), 0))
    names = ("received", "major", "escalated", "acknowledged", "acknowledged_in_time", "resolved", "resolved_in_time",
             "seconds", "reopened", "followed_up", "follow_up_score", "suggestions", "praise")
    totals = dict(zip(names, db.session.execute(scoped(select(*sums).where(c.dimension == "total",
                                                                          c.month.in_(months)))).one()))
    by_month = {m: dict(zip(names, row)) for m, *row in db.session.execute(scoped(
        select(c.month, *sums).where(c.dimension == "total", c.month.in_(months)).group_by(c.month)))}
    monthly = [(m, by_month.get(m, {}).get("received", 0), _rate(by_month.get(m, {}), "resolved_in_time", "resolved"))
               for m in months]
    category_names = {k.id: k.label(locale) for k in db.session.scalars(select(ComplaintCategory))}
    channel_names = {k.id: k.label(locale) for k in db.session.scalars(select(ComplaintChannel))}

    def split(dimension, labels):
        rows = db.session.execute(scoped(select(c.value_id, func.sum(c.received), func.sum(c.resolved_in_time),
                                                func.sum(c.resolved))
                                         .where(c.dimension == dimension, c.month.in_(months))
                                         .group_by(c.value_id).order_by(func.sum(c.received).desc()))).all()
        return [(labels.get(v, "—"), n, kpi_service.ratio(t, r)) for v, n, t, r in rows if n]

    # Who is compared: the network's franchisees, or a franchisee's stores.
    key = c.store_id if franchisee_id is not None else c.franchisee_id
    compared = db.session.execute(scoped(select(key, *sums[:1], sums[5], sums[6], sums[7])
                                         .where(c.dimension == "total", c.month.in_(months)).group_by(key))).all()
    if franchisee_id is not None:
        labels = {s.id: f"{s.code} {s.name}" for s in db.session.scalars(select(Store).where(
            Store.id.in_([row[0] for row in compared] or [0])))}
    else:
        labels = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
            Franchisee.id.in_([row[0] for row in compared] or [0]))).all())
    groups = sorted(((labels.get(k, "—"), n, kpi_service.ratio(t, r),
                      (Decimal(secs) / r / 3600).quantize(Decimal("0.1")) if r else None)
                     for k, n, r, t, secs in compared if n), key=lambda g: -g[1])
    capa = select(func.count(Complaint.id)).where(Complaint.corrective_action.is_not(None))
    if franchisee_id is not None:
        capa = capa.where(Complaint.franchisee_id == franchisee_id)
    first, last = periods.bounds(period)
    window = (Complaint.received_at >= datetime.combine(first, time()),
              Complaint.received_at < datetime.combine(last + timedelta(days=1), time()))
    capa_open = db.session.scalar(capa.where(*window, Complaint.capa_verified_at.is_(None))) or 0
    capa_verified = db.session.scalar(capa.where(*window, Complaint.capa_verified_at.is_not(None))) or 0
    t = totals
    return dict(
        totals=t, monthly=monthly, categories=split("category", category_names), channels=split("channel", channel_names),
        groups=groups, capa_open=capa_open, capa_verified=capa_verified, has_data=bool(t["received"] or t["suggestions"]
                                                                                        or t["praise"]),
        acknowledged_on_time=_rate(t, "acknowledged_in_time", "acknowledged"),
        resolved_on_time=_rate(t, "resolved_in_time", "resolved"),
        hours=(Decimal(t["seconds"]) / t["resolved"] / 3600).quantize(Decimal("0.1")) if t["resolved"] else None,
        follow_up=(Decimal(t["follow_up_score"]) / t["followed_up"]).quantize(CENT) if t["followed_up"] else None,
    )


def _rate(row: dict, part: str, whole: str):
    return kpi_service.ratio(row.get(part, 0), row.get(whole, 0)) if row else None
