"""Survey projects (测评项目): a half-year's survey with seed 004's eight dated steps (R43, R45),
and approving questionnaires (R4)."""
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models.base import utcnow
from app.models.survey import PROJECT_STEPS, STEP_DAYS, Questionnaire, SurveyIndicator, SurveyProject, SurveyQuestion, SurveyResponse, SurveyStep
from app.services import RuleError
from app.services.surveys.index import HUNDRED
from app.templating import date_text


def half_of(day: date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def half_bounds(year: int, half: int) -> tuple[date, date]:
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def default_schedule_start(year: int, half: int, today: date | None = None) -> date:
    """Seed 004's survey began on 15 November, six weeks before the year's end: the same place in
    each half-year (15 May, 15 November); today when that day has passed in the current half."""
    planned = date(year, 5 if half == 1 else 11, 15)
    if today is not None and half_of(today) == (year, half) and planned < today:
        return today
    return planned


def create(*, name: str, questionnaire: Questionnaire, year: int, half: int, schedule_from: date, purpose: str | None,
           created_by) -> SurveyProject:
    if questionnaire.status != "approved":
        raise RuleError(_("Only a questionnaire approved by the committee can be used in a survey."))
    starts_on, ends_on = half_bounds(year, half)
    same = db.session.scalar(select(SurveyProject.name).join(Questionnaire, Questionnaire.id == SurveyProject.questionnaire_id)
                             .where(SurveyProject.year == year, SurveyProject.half == half,
                                    Questionnaire.code == questionnaire.code).limit(1))
    if same:
        raise RuleError(_("“%(name)s” already surveys %(year)dH%(half)d with this questionnaire: its results would be "
                          "split between two surveys.", name=same, year=year, half=half))
    if not starts_on <= schedule_from <= ends_on:
        raise RuleError(_("The schedule starts within the half-year surveyed (%(start)s to %(end)s): its "
                          "fieldwork collects that half-year's answers.", start=date_text(starts_on),
                          end=date_text(ends_on)))
    project = SurveyProject(name=name, questionnaire_id=questionnaire.id, year=year, half=half, starts_on=starts_on,
                            ends_on=ends_on, purpose=purpose, created_by_id=getattr(created_by, "id", None))
    for position, key in enumerate(PROJECT_STEPS, start=1):
        first, last = STEP_DAYS[key]
        project.steps.append(SurveyStep(key=key, position=position, starts_on=schedule_from + timedelta(days=first),
                                        due_on=schedule_from + timedelta(days=last)))
    db.session.add(project)
    db.session.flush()
    return project


STATUS_MOVES = {"fieldwork": ("planning", "closed"), "closed": ("fieldwork",), "planning": ()}


def set_status(project: SurveyProject, status: str) -> None:
    """planning -> fieldwork -> closed; a closed survey may be reopened for late paper forms."""
    if project.status not in STATUS_MOVES.get(status, ()):
        raise RuleError(_("This survey cannot go from “%(old)s” to that status.", old=project.status_label))
    if status == "fieldwork" and project.questionnaire.status == "draft":
        raise RuleError(_("The questionnaire of this survey is not approved by the committee yet."))
    project.status = status


def weights_problem(questionnaire: Questionnaire) -> str | None:
    """Why the questionnaire cannot be approved, or None."""
    if not questionnaire.has_index:
        return None
    total = sum((i.weight for i in questionnaire.indicators), Decimal(0))
    if total != HUNDRED:
        return _("The weights add up to %(total)s %%, not 100 %%.", total=f"{total.normalize():f}")
    fed = {q.indicator_id for q in questionnaire.questions if q.kind == "scale" and q.indicator_id}
    missing = [i.code for i in questionnaire.indicators if i.weight and i.id not in fed]
    if missing:
        return _("No question feeds indicator %(codes)s.", codes=", ".join(missing))
    return None


def approve(questionnaire: Questionnaire, user) -> None:
    """The committee puts a draft into use; the edition it replaces is retired (its results keep
    their own weights)."""
    if questionnaire.status != "draft":
        raise RuleError(_("Only a draft is approved; this questionnaire is “%(status)s”.",
                          status=questionnaire.status_label))
    problem = weights_problem(questionnaire)
    if problem:
        raise RuleError(problem)
    for older in db.session.scalars(select(Questionnaire).where(
            Questionnaire.code == questionnaire.code, Questionnaire.status == "approved")):
        older.status = "retired"
    questionnaire.status = "approved"
    questionnaire.approved_at = utcnow()
    questionnaire.approved_by_id = user.id


def new_edition(questionnaire: Questionnaire, user) -> Questionnaire:
    """A draft copy to change (weights, wording): the approved edition stays as it is."""
    draft = db.session.scalar(select(Questionnaire).where(Questionnaire.code == questionnaire.code,
                                                          Questionnaire.status == "draft"))
    if draft is not None:
        return draft
    edition = db.session.scalar(select(func.max(Questionnaire.edition)).where(Questionnaire.code == questionnaire.code))
    copy = Questionnaire(code=questionnaire.code, edition=edition + 1, kind=questionnaire.kind, status="draft",
                         name_zh=questionnaire.name_zh, name_en=questionnaire.name_en, intro_zh=questionnaire.intro_zh,
                         intro_en=questionnaire.intro_en, follow_up_at_or_below=questionnaire.follow_up_at_or_below,
                         created_by_id=user.id, previous_id=questionnaire.id)
    indicators = {}
    for indicator in questionnaire.indicators:
        indicators[indicator.id] = SurveyIndicator(code=indicator.code, name_zh=indicator.name_zh,
                                                   name_en=indicator.name_en, weight=indicator.weight)
        copy.indicators.append(indicators[indicator.id])
    for question in questionnaire.questions:
        copy.questions.append(SurveyQuestion(position=question.position, kind=question.kind, text_zh=question.text_zh,
                                             text_en=question.text_en, required=question.required,
                                             indicator=indicators.get(question.indicator_id)))
    db.session.add(copy)
    db.session.flush()
    return copy


def in_use(questionnaire: Questionnaire) -> bool:
    return db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.questionnaire_id == questionnaire.id)
                             .limit(1)) is not None
