"""Recording a survey response and keeping the store's figures (issue 12).

``record`` checks the answers against the questionnaire, computes the response's index with the
questionnaire's own weights, stores it with the franchisee that owned the store that day, opens
a follow-up for a very low answer, and adds the response to the store's figures for the project
(``SurveyStoreStats``, ``SurveyQuestionStats``) in the same transaction: atomic increments, so two
responses recorded at once both count. ``rebuild`` recomputes the figures of a project from its
responses (the test compares the two).
"""
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.base import local_today, utcnow
from app.models.org import Store
from app.models.survey import (
    Questionnaire, SurveyInvitation, SurveyProject, SurveyQuestionStats, SurveyResponse,
    SurveyStoreStats,
)
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services.surveys.index import mean, satisfaction_index
from app.templating import date_text

TEXT_MAX = 2000


class AnswerErrors(RuleError):
    """Answers that do not fit the questionnaire: ``problems`` maps question id to a message."""

    def __init__(self, problems: dict[int, str]):
        super().__init__(_("Some answers are missing or not valid: see the questions marked."))
        self.problems = problems


@dataclass(frozen=True)
class Answered:
    answers: dict[str, object]  # question id (as text, JSON keys) -> answer
    scores: dict[str, list[int]]  # indicator code -> scale answers
    lowest: int | None


def check_answers(questionnaire: Questionnaire, raw: dict[int, object]) -> Answered:
    """The answers as stored, or AnswerErrors naming each problem. ``raw`` maps question id to
    what was posted (text); a scale answer is 1-5, yes/no is "yes"/"no"."""
    problems: dict[int, str] = {}
    answers: dict[str, object] = {}
    scores: dict[str, list[int]] = {}
    for question in questionnaire.questions:
        value = raw.get(question.id)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if question.required:
                problems[question.id] = _("Please answer this question.")
            continue
        if question.kind == "scale":
            try:
                score = int(str(value))
            except ValueError:
                score = 0
            if not 1 <= score <= 5 or str(value).strip() not in ("1", "2", "3", "4", "5"):
                problems[question.id] = _("Choose one of the five answers (1 to 5 points).")
                continue
            answers[str(question.id)] = score
            if question.indicator is not None:
                scores.setdefault(question.indicator.code, []).append(score)
        elif question.kind == "yes_no":
            if value not in ("yes", "no", True, False):
                problems[question.id] = _("Choose yes or no.")
                continue
            answers[str(question.id)] = value in ("yes", True)
        else:
            if len(str(value)) > TEXT_MAX:
                problems[question.id] = _("At most %(max)d characters, please (this has %(count)d).",
                                          max=TEXT_MAX, count=len(str(value)))
                continue
            answers[str(question.id)] = str(value)
    if problems:
        raise AnswerErrors(problems)
    all_scores = [s for values in scores.values() for s in values]
    return Answered(answers, scores, min(all_scores) if all_scores else None)


def response_index(questionnaire: Questionnaire, scores: dict[str, list[int]]):
    """The index of one response (its indicator means are its own answers)."""
    if not questionnaire.has_index:
        return None
    weights = {i.code: i.weight for i in questionnaire.indicators}
    return satisfaction_index({code: mean(sum(v), len(v)) for code, v in scores.items()}, weights)


def collection_problem(project: SurveyProject, day: date, source: str) -> str | None:
    """Why a response for ``day`` cannot be recorded in ``project`` now, or None."""
    # A survey keeps the edition it started with: a later edition approved meanwhile (which retires
    # this one for new surveys) does not stop it.
    if project.questionnaire.status == "draft":
        return _("The questionnaire of this survey is not approved by the committee yet.")
    if project.status == "closed":
        return _("This survey is closed: no more responses are recorded.")
    if source != "paper" and project.status != "fieldwork":
        return _("This survey is not collecting responses at the moment.")
    if not project.starts_on <= day <= project.ends_on:
        return _("This survey ran from %(start)s to %(end)s: the date is outside it.",
                 start=date_text(project.starts_on), end=date_text(project.ends_on))
    if day > local_today():
        return _("The date is in the future: enter the day the form was filled in.")
    return None


def record(project: SurveyProject, store: Store, raw: dict[int, object], *, source: str, answered_on: date,
           respondent: str = "consumer", customer_id: int | None = None, invitation: SurveyInvitation | None = None,
           entered_by=None, submission: str | None = None) -> SurveyResponse:
    """Record one response (in the caller's transaction). Raises RuleError / AnswerErrors."""
    problem = collection_problem(project, answered_on, source)
    if problem:
        raise RuleError(problem)
    if respondent not in ("consumer", "dealer"):
        raise RuleError(_("Choose whether the respondent is a consumer or a dealer."))
    questionnaire = project.questionnaire
    answered = check_answers(questionnaire, raw)
    if invitation is not None:
        # One response per link, also when two tabs send at the same moment: the first update wins.
        used = db.session.execute(update(SurveyInvitation).where(
            SurveyInvitation.id == invitation.id, SurveyInvitation.responded_at.is_(None))
            .values(responded_at=utcnow()).execution_options(synchronize_session=False)).rowcount
        if not used:
            raise RuleError(_("This link has already been used to answer the survey."))
    with unscoped():
        franchisee_id = store.owner_on(answered_on) or store.franchisee_id
    low = answered.lowest is not None and answered.lowest <= questionnaire.follow_up_at_or_below
    response = SurveyResponse(
        project_id=project.id, questionnaire_id=questionnaire.id, store_id=store.id, franchisee_id=franchisee_id,
        answered_on=answered_on, respondent=respondent, source=source, answers=answered.answers,
        csi=response_index(questionnaire, answered.scores), lowest=answered.lowest, customer_id=customer_id,
        invitation_id=invitation.id if invitation is not None else None, submission=submission,
        entered_by_id=getattr(entered_by, "id", None),
        follow_up="open" if low else None,
        # From the day it is recorded: a paper form keyed in days later is not overdue on arrival.
        follow_up_due_on=max(answered_on, local_today()) + timedelta(days=current_app.config["SURVEY_FOLLOW_UP_DAYS"])
        if low else None,
    )
    db.session.add(response)
    db.session.flush()
    _count(project, questionnaire, store.id, franchisee_id, answered, respondent, low)
    return response


def _upsert(model, keys: dict, increments: dict) -> None:
    """Add ``increments`` to the row of ``keys``, making it first if need be (atomically)."""
    values = {name: getattr(model, name) + amount for name, amount in increments.items()}
    where = [getattr(model, k) == v for k, v in keys.items()]
    if db.session.execute(update(model).where(*where).values(**values)
                          .execution_options(synchronize_session=False)).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(model).values(**keys, **increments))
    except IntegrityError:  # made by a response recorded at the same moment
        db.session.execute(update(model).where(*where).values(**values).execution_options(synchronize_session=False))


def _count(project, questionnaire, store_id: int, franchisee_id: int, answered: Answered, respondent: str,
           low: bool) -> None:
    keys = {"project_id": project.id, "store_id": store_id, "franchisee_id": franchisee_id}
    with unscoped():  # the store's figures are the system's: the response itself was checked in scope
        _upsert(SurveyStoreStats, keys, {"responses": 1, "consumers": int(respondent == "consumer"),
                                         "dealers": int(respondent == "dealer"), "low_scores": int(low)})
        for question_id, value in answered.answers.items():
            if isinstance(value, bool) or isinstance(value, int):
                _upsert(SurveyQuestionStats, keys | {"question_id": int(question_id)},
                        {"total": int(value), "answers": 1})
        store_index(questionnaire, keys)


def indicator_means(questionnaire: Questionnaire, rows) -> dict:
    """Indicator code -> mean, from (question id, total, answers) rows of question statistics."""
    by_question = {q.id: q for q in questionnaire.questions}
    sums: dict[str, list[int]] = {}
    for question_id, total, count in rows:
        question = by_question.get(question_id)
        if question is None or question.indicator is None or not count:
            continue
        pair = sums.setdefault(question.indicator.code, [0, 0])
        pair[0] += total
        pair[1] += count
    return {code: mean(total, count) for code, (total, count) in sums.items()}


def index_of(questionnaire: Questionnaire, rows):
    """The index of a group of responses: the formula over the indicator means (R40)."""
    if not questionnaire.has_index:
        return None
    weights = {i.code: i.weight for i in questionnaire.indicators}
    return satisfaction_index(indicator_means(questionnaire, rows), weights)


def store_index(questionnaire: Questionnaire, keys: dict) -> None:
    rows = db.session.execute(select(SurveyQuestionStats.question_id, SurveyQuestionStats.total,
                                     SurveyQuestionStats.answers).filter_by(**keys)).all()
    db.session.execute(update(SurveyStoreStats).filter_by(**keys).values(csi=index_of(questionnaire, rows))
                       .execution_options(synchronize_session=False))


def rebuild(project: SurveyProject) -> None:
    """The project's figures again from its responses (after a correction, and to check them)."""
    questionnaire = project.questionnaire
    with unscoped():
        db.session.execute(delete(SurveyQuestionStats).where(SurveyQuestionStats.project_id == project.id))
        db.session.execute(delete(SurveyStoreStats).where(SurveyStoreStats.project_id == project.id))
        groups = db.session.execute(
            select(SurveyResponse.store_id, SurveyResponse.franchisee_id, func.count(),
                   func.sum(case((SurveyResponse.respondent == "consumer", 1), else_=0)),
                   func.sum(case((SurveyResponse.follow_up.is_not(None), 1), else_=0)))
            .where(SurveyResponse.project_id == project.id)
            .group_by(SurveyResponse.store_id, SurveyResponse.franchisee_id)).all()
        for store_id, franchisee_id, count, consumers, low in groups:
            db.session.add(SurveyStoreStats(project_id=project.id, store_id=store_id, franchisee_id=franchisee_id,
                                            responses=count, consumers=consumers or 0,
                                            dealers=count - (consumers or 0), low_scores=low or 0))
        totals: dict[tuple, list[int]] = {}
        for store_id, franchisee_id, answers in db.session.execute(
                select(SurveyResponse.store_id, SurveyResponse.franchisee_id, SurveyResponse.answers)
                .where(SurveyResponse.project_id == project.id).execution_options(yield_per=2000)):
            for question_id, value in answers.items():
                if isinstance(value, (bool, int)):
                    pair = totals.setdefault((store_id, franchisee_id, int(question_id)), [0, 0])
                    pair[0] += int(value)
                    pair[1] += 1
        for (store_id, franchisee_id, question_id), (total, count) in totals.items():
            db.session.add(SurveyQuestionStats(project_id=project.id, store_id=store_id, franchisee_id=franchisee_id,
                                               question_id=question_id, total=total, answers=count))
        db.session.flush()
        for store_id, franchisee_id, *_rest in groups:
            store_index(questionnaire, {"project_id": project.id, "store_id": store_id, "franchisee_id": franchisee_id})


def moved_with_customer(keep, other_id: int) -> dict:
    """A merge: the merged-away customer's responses and invitations are the kept one's."""
    moved = {}
    for model in (SurveyResponse, SurveyInvitation):
        moved[model.__tablename__] = db.session.execute(
            update(model).where(model.customer_id == other_id).values(customer_id=keep.id)
            .execution_options(synchronize_session=False)).rowcount
    return moved


def erase_for_customer(customer_id: int) -> None:
    """Anonymisation (R61): what the customer wrote in free text may name them; the scores stay."""
    with unscoped():
        for response in db.session.scalars(select(SurveyResponse).where(SurveyResponse.customer_id == customer_id)):
            texts = {q.id for q in response.questionnaire.questions if q.kind == "text"}
            response.answers = {k: v for k, v in response.answers.items() if int(k) not in texts}
            response.follow_up_note = None
        # Invitation e-mails not sent yet go no further: the address is erased.
        from app.models.notification import Delivery
        from app.models.survey import SurveyInvitation

        db.session.execute(delete(Delivery).where(
            Delivery.state.in_(("pending", "failed")),
            Delivery.survey_invitation_id.in_(select(SurveyInvitation.id).where(
                SurveyInvitation.customer_id == customer_id))).execution_options(synchronize_session=False))
