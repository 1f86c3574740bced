"""A survey project's results (R40, R55) from the stored figures, through the tenant scope: the
indicator means and the index for the scope and per franchisee, the respondents by kind. What
the project's page and its printed report show."""
from collections import defaultdict

from sqlalchemy import func, select

from app.extensions import db
from app.models import Franchisee
from app.models.base import utcnow
from app.models.survey import SurveyProject, SurveyQuestionStats, SurveyStoreStats
from app.services.surveys import responses as response_service
from app.services.surveys.index import mean


def results(project: SurveyProject) -> dict:
    """Indicator means and the index for the whole scope and per franchisee, from the stored
    figures (one grouped read each)."""
    questionnaire = project.questionnaire
    rows = db.session.execute(select(SurveyQuestionStats.question_id, func.sum(SurveyQuestionStats.total),
                                     func.sum(SurveyQuestionStats.answers))
                              .where(SurveyQuestionStats.project_id == project.id)
                              .group_by(SurveyQuestionStats.question_id)).all()
    by_question = {q: (t, n) for q, t, n in rows}
    means = response_service.indicator_means(questionnaire, rows)
    overall = response_service.index_of(questionnaire, rows) if rows else None
    totals = db.session.execute(select(func.coalesce(func.sum(SurveyStoreStats.responses), 0),
                                       func.coalesce(func.sum(SurveyStoreStats.consumers), 0),
                                       func.coalesce(func.sum(SurveyStoreStats.dealers), 0),
                                       func.coalesce(func.sum(SurveyStoreStats.low_scores), 0),
                                       func.count(SurveyStoreStats.id))
                                .where(SurveyStoreStats.project_id == project.id)).one()
    per_franchisee = defaultdict(list)
    for franchisee_id, question_id, total, count in db.session.execute(
            select(SurveyQuestionStats.franchisee_id, SurveyQuestionStats.question_id,
                   func.sum(SurveyQuestionStats.total), func.sum(SurveyQuestionStats.answers))
            .where(SurveyQuestionStats.project_id == project.id)
            .group_by(SurveyQuestionStats.franchisee_id, SurveyQuestionStats.question_id)):
        per_franchisee[franchisee_id].append((question_id, total, count))
    responses_by_franchisee = dict(db.session.execute(
        select(SurveyStoreStats.franchisee_id, func.sum(SurveyStoreStats.responses))
        .where(SurveyStoreStats.project_id == project.id).group_by(SurveyStoreStats.franchisee_id)).all())
    names = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
        Franchisee.id.in_(list(per_franchisee) or [0]))).all())
    franchisees = sorted(
        ({"id": f, "name": names.get(f, "—"), "responses": responses_by_franchisee.get(f, 0),
          "csi": response_service.index_of(questionnaire, r)} for f, r in per_franchisee.items()),
        key=lambda row: (row["csi"] is None, -(row["csi"] or 0), row["name"]))
    return {"as_of": utcnow(), "means": means, "overall": overall, "by_question": by_question, "totals": totals,
            "franchisees": franchisees, "yes_share": {q: mean(t * 100, n) for q, (t, n) in by_question.items()}}
