"""Improvement projects (推动改进项目, seed 000) and the feedback-to-improvement cycle (seed 003).

Headquarters' customer-experience department opens a project from what showed a problem — a
complaint's CAPA, a customer's suggestion, a mystery-shopper finding, a KPI warning, a survey's
result, a department's answer to a report (R56) — and the project links back to each source.
A project has an owner department, a goal and a completion date; it goes through the cycle of
seed 003: root cause → plan (the measures, and which department is responsible for which part,
R74) → implementation (progress updates; each part done in its department's task queue) →
evaluation of the effect, which closes it.

Suggestions and praise taken in through complaint intake are classified here (positive or
negative, their topic, their impact); the high-impact ones are screened into projects.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import Complaint, ComplaintCategory, CorrectiveAction, KpiWarning, SurveyProject, User
from app.models.base import local_today, utcnow
from app.models.governance import (
    CX_DEPARTMENT, EFFECTS, IMPACTS, PROJECT_CYCLE, PROJECT_STAGES, SENTIMENTS, ImprovementProject, ProjectPart,
    ProjectSource, ProjectUpdate,
)
from app.models.report import ReportRecipient
from app.models.user import DEPARTMENTS
from app.security.policy import can
from app.services import RuleError, audit, notifications
from app.text import without_direction_overrides

MAX_AHEAD = timedelta(days=3 * 366)  # a completion date beyond three years is a typing error


def _text(value) -> str:
    """Typed text as kept: trimmed, without direction overrides (the forms take them out too;
    the seeds and other callers come here directly)."""
    return without_direction_overrides(value or "").strip()


def owner_departments() -> dict:
    """Who may own a project or a part of one: the customer-experience department and the others."""
    return {CX_DEPARTMENT: _("Customer-experience department"), **DEPARTMENTS}


@dataclass
class Source:
    """What a project is opened from, found in the reader's scope: its link back, and what
    the new project's form starts with."""
    kind: str
    ref_id: int
    label: str
    path: str
    prefill: dict = field(default_factory=dict)


def _complaint(ref_id: int) -> Source | None:
    found = db.session.get(Complaint, ref_id)
    if found is None:
        return None
    kind = "complaint" if found.kind == "complaint" else "feedback"
    measures = "\n".join(x for x in (found.corrective_action, found.preventive_action) if x)
    return Source(kind, found.id, f"{found.reference} · {found.title}"[:200],
                  url_for("complaints.show", complaint_id=found.id),
                  prefill={"title": found.title, "root_cause": found.root_cause or "", "measures": measures,
                           "impact": found.impact or ("high" if found.severity == "major" else "medium")})


def _finding(ref_id: int) -> Source | None:
    found = db.session.get(CorrectiveAction, ref_id)
    if found is None:
        return None
    audit_ref = found.audit.reference if found.audit else ""
    return Source("audit_finding", found.id, f"{audit_ref} · {found.finding}"[:200],
                  url_for("audits.action", corrective_action_id=found.id),
                  prefill={"title": found.finding[:200], "root_cause": found.root_cause or "",
                           "measures": found.preventive_action or ""})


def _warning(ref_id: int) -> Source | None:
    from app.services import kpis

    found = db.session.get(KpiWarning, ref_id)
    if found is None:
        return None
    store = found.store.code if found.store else ""
    # (The indicator's name is in the reader's language on the warning's own page.)
    return Source("kpi_warning", found.id, f"{store} · {kpis.label(found.period)}"[:200],
                  url_for("kpis.warning", kpi_warning_id=found.id),
                  prefill={"title": f"{found.label} · {store}"[:200], "measures": found.action or ""})


def _survey(ref_id: int) -> Source | None:
    found = db.session.get(SurveyProject, ref_id)
    if found is None:
        return None
    return Source("survey", found.id, found.name[:200], url_for("surveys.project", survey_project_id=found.id),
                  prefill={"title": found.name[:200]})


def _response(ref_id: int) -> Source | None:
    found = db.session.get(ReportRecipient, ref_id)
    if found is None or not found.answer or found.report is None:
        return None
    department = found.department if found.department in DEPARTMENTS else CX_DEPARTMENT
    return Source("report_response", found.id, found.report.title[:200],
                  url_for("reports.show", report_id=found.report_id),
                  prefill={"title": found.report.title[:200], "measures": found.answer, "department": department})


FINDERS = {"complaint": _complaint, "feedback": _complaint, "audit_finding": _finding, "kpi_warning": _warning,
           "survey": _survey, "report_response": _response}


def find_source(kind: str, ref_id: int) -> Source | None:
    """The source named by ``kind`` and id, if the reader's scope reaches it."""
    finder = FINDERS.get(kind)
    source = finder(ref_id) if finder else None
    return source if source is not None and source.kind == kind else None


def links_for(kind: str, ref_ids) -> dict[int, list[ImprovementProject]]:
    """The projects each source was linked to (one statement for a page of sources)."""
    ids = list(ref_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(ProjectSource.ref_id, ImprovementProject)
                              .join(ImprovementProject, ImprovementProject.id == ProjectSource.project_id)
                              .where(ProjectSource.kind == kind, ProjectSource.ref_id.in_(ids))
                              .order_by(ImprovementProject.id)).all()
    found: dict[int, list] = {}
    for ref_id, project in rows:
        found.setdefault(ref_id, []).append(project)
    return found


def visible_sources(sources) -> set[int]:
    """The ids of the ``sources`` the reader's scope reaches (a department: the complaints its
    tasks reach, the reports sent to it, headquarters' surveys), one statement per kind."""
    from app.models.report import Report

    models = {"complaint": Complaint, "feedback": Complaint, "audit_finding": CorrectiveAction,
              "kpi_warning": KpiWarning, "survey": SurveyProject}
    by_kind: dict[str, dict[int, int]] = {}
    for source in sources:
        by_kind.setdefault(source.kind, {})[source.ref_id] = source.id
    seen: set[int] = set()
    for kind, refs in by_kind.items():
        if kind == "report_response":
            stmt = select(ReportRecipient.id).join(Report, Report.id == ReportRecipient.report_id).where(
                ReportRecipient.id.in_(refs))
        elif kind in models:
            stmt = select(models[kind].id).where(models[kind].id.in_(refs))
        else:
            continue
        seen |= {refs[ref] for ref in db.session.scalars(stmt)}
    return seen


def addressees(sources) -> dict[int, ReportRecipient]:
    """For the answers to reports among ``sources``: who answered (shown in the reader's language)."""
    refs = {s.ref_id: s.id for s in sources if s.kind == "report_response"}
    if not refs:
        return {}
    rows = db.session.scalars(select(ReportRecipient).where(ReportRecipient.id.in_(refs))).all()
    return {refs[r.id]: r for r in rows}


def _next_reference(today: date) -> str:
    prefix = f"GJ{today.year}-"
    # The year's latest project has its highest number (max() of the texts would put -1000 before -999).
    last = db.session.scalar(select(ImprovementProject.reference).where(ImprovementProject.reference.like(f"{prefix}%"))
                             .order_by(ImprovementProject.id.desc()).limit(1))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def _check_due(due_on: date | None, today: date, part: bool = False) -> None:
    if due_on is None:
        raise RuleError(_("Give the due date.") if part else _("Give the completion date."))
    if due_on < today:
        raise RuleError(_("The part's due date cannot be in the past.") if part
                        else _("The completion date cannot be in the past."))
    if due_on > today + MAX_AHEAD:
        raise RuleError(_("The completion date cannot be more than three years ahead."))


_projects = ImprovementProject.__table__


def _bump(project: ImprovementProject, **deltas) -> None:
    """Add to a project's stored counts in one UPDATE of their own, without its version: two
    departments reporting their parts done at once both count, and neither's save is refused
    as a concurrent edit of the project's details."""
    db.session.execute(_projects.update().where(_projects.c.id == project.id).values(
        {name: _projects.c[name] + delta for name, delta in deltas.items()}))
    db.session.expire(project, list(deltas))


def _move(project: ImprovementProject, **values) -> None:
    """Change a project's step (and what goes with it) only if it is still where the user saw
    it: of two people pressing buttons on the same project, the second is told, not obeyed."""
    done = db.session.execute(_projects.update().where(_projects.c.id == project.id,
                                                       _projects.c.stage == project.stage)
                              .values(version=_projects.c.version + 1, updated_at=utcnow(), **values))
    if done.rowcount != 1:
        raise RuleError(_("Someone else changed this project meanwhile; look at it again and retry."))
    db.session.expire(project)


def _note(project: ImprovementProject, user, kind: str, body: str | None = None, **values) -> ProjectUpdate:
    line = ProjectUpdate(project_id=project.id, kind=kind, body=body, author_id=user.id if user else None,
                         stage=values.get("stage"), progress=values.get("progress"))
    db.session.add(line)
    return line


def create(data: dict, user, source: Source | None = None) -> ImprovementProject:
    """A new project, at its root-cause stage (or at the plan, when the cause is known)."""
    today = local_today()
    department = data.get("department") or ""
    if department not in owner_departments():
        raise RuleError(_("Choose the department that owns the project."))
    title, goal = _text(data.get("title")), _text(data.get("goal"))
    if not title or not goal:
        raise RuleError(_("Give the project a title and a goal."))
    _check_due(data.get("due_on"), today)
    impact = data.get("impact") if data.get("impact") in IMPACTS else "high"
    root_cause = _text(data.get("root_cause")) or None
    project = ImprovementProject(
        reference=_next_reference(today), title=title, goal=goal, department=department,
        owner_name=_text(data.get("owner_name")) or None, impact=impact, due_on=data["due_on"],
        root_cause=root_cause, measures=_text(data.get("measures")) or None,
        stage="plan" if root_cause else "analysis", created_by_id=user.id)
    db.session.add(project)
    db.session.flush()
    _note(project, user, "stage", stage=project.stage)
    if source is not None:
        link(project, source, user)
    _tell_department(project, project.department, "project_owned", {"title": project.title})
    audit.record("project.created", actor=user, target=project, details={"reference": project.reference})
    return project


def edit(project: ImprovementProject, data: dict, user) -> None:
    """Save the project's details (the edit form; ``save_versioned`` guards concurrent edits)."""
    if not project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    if data.get("department") not in owner_departments():
        raise RuleError(_("Choose the department that owns the project."))
    if data.get("due_on") != project.due_on:
        _check_due(data.get("due_on"), local_today())
        latest = max((p.due_on for p in project.parts if p.done_at is None), default=None)
        if latest is not None and data["due_on"] < latest:
            raise RuleError(_("A department's part is due on %(day)s: choose that day or a later one, or change the "
                              "part first.", day=format_date(latest)))
    title, goal = _text(data.get("title")), _text(data.get("goal"))
    if not title or not goal:
        raise RuleError(_("Give the project a title and a goal."))
    if data["department"] != project.department:
        _tell_department(project, data["department"], "project_owned", {"title": title})
    project.title, project.goal, project.department, project.due_on = title, goal, data["department"], data["due_on"]
    project.impact = data.get("impact") if data.get("impact") in IMPACTS else project.impact
    for name in ("owner_name", "root_cause", "measures"):  # optional texts: empty is none
        setattr(project, name, _text(data.get(name)) or None)
    step = PROJECT_CYCLE.index(project.stage)
    if step >= 1 and not project.root_cause:
        raise RuleError(_("The plan builds on the root cause: it cannot be emptied now."))
    if step >= 2 and not project.measures:
        raise RuleError(_("The measures are being implemented: they cannot be emptied now."))
    audit.record("project.edited", actor=user, target=project, details={"reference": project.reference})


def link(project: ImprovementProject, source: Source, user) -> ProjectSource:
    """Link a source to the project (once); a suggestion or praise is then "in a project"."""
    existing = db.session.scalar(select(ProjectSource).where(
        ProjectSource.project_id == project.id, ProjectSource.kind == source.kind, ProjectSource.ref_id == source.ref_id))
    if existing is not None:
        raise RuleError(_("This is already linked to project %(ref)s.", ref=project.reference))
    row = ProjectSource(project_id=project.id, kind=source.kind, ref_id=source.ref_id, label=source.label,
                        path=source.path, added_by_id=user.id)
    db.session.add(row)
    _bump(project, sources_count=1)
    if source.kind == "feedback":
        # Not the complaint's version: this is headquarters' screening, none of the store's fields.
        table = Complaint.__table__
        db.session.execute(table.update().where(table.c.id == source.ref_id).values(
            feedback_state="in_project", classified_at=func.coalesce(table.c.classified_at, utcnow()),
            classified_by_id=func.coalesce(table.c.classified_by_id, user.id)))
    _note(project, user, "source", source.label, stage=source.kind)
    return row


def unlink(project: ImprovementProject, source: ProjectSource, user) -> None:
    """Take a wrongly linked source off the project; a suggestion in no other project goes back
    to "to screen"."""
    if not project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    kind, ref_id, label = source.kind, source.ref_id, source.label
    db.session.delete(source)
    db.session.flush()
    _bump(project, sources_count=-1)
    if kind == "feedback" and db.session.scalar(select(ProjectSource.id).where(
            ProjectSource.kind == kind, ProjectSource.ref_id == ref_id).limit(1)) is None:
        table = Complaint.__table__
        db.session.execute(table.update().where(table.c.id == ref_id, table.c.feedback_state == "in_project")
                           .values(feedback_state="classified"))
    _note(project, user, "unlinked", label, stage=kind)


def add_part(project: ImprovementProject, department: str, responsibility: str, due_on: date, user) -> ProjectPart:
    """Name the department responsible for one part of the project (R74); it lands in their queue."""
    if not project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    if project.stage == "evaluation":
        raise RuleError(_("The effect is being evaluated: go back to the implementation to add a part."))
    if department not in owner_departments():
        raise RuleError(_("Choose a department."))
    responsibility = _text(responsibility)
    if not responsibility:
        raise RuleError(_("Say what the department is responsible for."))
    _check_due(due_on, local_today(), part=True)
    if due_on > project.due_on:
        raise RuleError(_("A part cannot be due after the project's completion date (%(day)s).",
                          day=format_date(project.due_on)))
    part = ProjectPart(project_id=project.id, department=department, responsibility=responsibility,
                       due_on=due_on, created_by_id=user.id)
    db.session.add(part)
    _bump(project, parts_count=1)
    _note(project, user, "part", responsibility, stage=department)
    _tell_department(project, department, "project_part", {"title": project.title, "part": responsibility,
                                                            "due": due_on.isoformat()})
    return part


def _tell_steering(project: ImprovementProject, kind: str, data: dict) -> None:
    """The owner department and headquarters' customer-experience staff (who steer the cycle)."""
    _tell_department(project, CX_DEPARTMENT, kind, data)
    if project.department != CX_DEPARTMENT:
        _tell_department(project, project.department, kind, data)


def complete_part(part: ProjectPart, outcome: str, user) -> None:
    """The department reports its part done, with what it did."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise RuleError(_("Say what was done."))
    if part.done_at is not None:
        raise RuleError(_("This part was already reported done."))
    if not part.project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    part.done_at, part.done_by_id, part.outcome = utcnow(), user.id, outcome
    project = part.project
    _bump(project, parts_done=1)
    _note(project, user, "part_done", f"{part.responsibility}\n{outcome}", stage=part.department)
    # Who steers the project hears of it, and that the effect can be evaluated once all are done.
    last = project.parts_done >= project.parts_count
    _tell_steering(project, "project_parts_done" if last else "project_part_done",
                   {"title": project.title, "part": part.responsibility, "department": part.department})


def report_progress(project: ImprovementProject, body: str, progress: int | None, user) -> ProjectUpdate:
    body = _text(body)
    if not body:
        raise RuleError(_("Write what has been done."))
    if not project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    if progress is not None:
        if not 0 <= progress <= 100:
            raise RuleError(_("Progress is a percentage from 0 to 100."))
        db.session.execute(_projects.update().where(_projects.c.id == project.id).values(progress=progress))
        db.session.expire(project, ["progress"])
    return _note(project, user, "progress", body, progress=progress)


def advance(project: ImprovementProject, to_stage: str, user) -> None:
    """Move the project to the next step of the cycle, when what that step needs is there."""
    if not project.is_open or to_stage not in PROJECT_CYCLE:
        raise RuleError(_("This project cannot move to that step."))
    here, there = PROJECT_CYCLE.index(project.stage), PROJECT_CYCLE.index(to_stage)
    if abs(there - here) != 1:
        raise RuleError(_("Take the steps of the cycle in turn."))
    if there > here:
        if to_stage == "plan" and not project.root_cause:
            raise RuleError(_("Write down the root cause before planning the measures."))
        if to_stage == "implementation" and not project.measures:
            raise RuleError(_("Write down the measures before implementing them."))
        if to_stage == "evaluation" and project.parts_done < project.parts_count:
            raise RuleError(_("Every department's part must be done before the effect is evaluated."))
    _note(project, user, "stage" if there > here else "back", stage=to_stage)
    _move(project, stage=to_stage)


def evaluate(project: ImprovementProject, effect: str, evaluation: str, user) -> None:
    """The evaluation of the effect closes the project (seed 003: 改进效果评估)."""
    evaluation = (evaluation or "").strip()
    if project.stage != "evaluation":
        raise RuleError(_("Evaluate the effect once the measures are implemented."))
    if effect not in EFFECTS or not evaluation:
        raise RuleError(_("Choose how effective it was and describe the evidence."))
    if project.parts_done < project.parts_count:
        raise RuleError(_("Every department's part must be done before the effect is evaluated."))
    now = utcnow()
    _note(project, user, "evaluation", evaluation, stage="closed")
    audit.record("project.closed", actor=user, target=project, details={"effect": effect})
    _move(project, effect=effect, evaluation=evaluation, evaluated_at=now, evaluated_by_id=user.id, stage="closed",
          closed_at=now, progress=100)


def cancel(project: ImprovementProject, reason: str, user) -> None:
    reason = (reason or "").strip()
    if not project.is_open:
        raise RuleError(_("This project is finished; its record is kept as it is."))
    if not reason:
        raise RuleError(_("Say why the project is cancelled."))
    _note(project, user, "stage", reason, stage="cancelled")
    audit.record("project.cancelled", actor=user, target=project)
    told = {project.department} | {p.department for p in project.parts if p.done_at is None}
    for department in told:
        _tell_department(project, department, "project_cancelled", {"title": project.title, "reason": reason[:300]})
    _move(project, stage="cancelled", cancel_reason=reason[:300], closed_at=utcnow())


def classify(complaint: Complaint, sentiment: str, impact: str, category_id: int | None, user,
             no_action: bool = False) -> None:
    """Headquarters' classification of a suggestion or praise: positive or negative, its topic
    (the complaint category), its impact; "no project needed" ends its screening."""
    if complaint.kind == "complaint":
        raise RuleError(_("Complaints are followed up through their CAPA, not classified here."))
    if sentiment not in SENTIMENTS or impact not in IMPACTS:
        raise RuleError(_("Choose positive or negative and the impact."))
    if category_id is not None and db.session.get(ComplaintCategory, category_id) is None:
        raise RuleError(_("Choose a topic from the list."))
    # The topic is also the store's field: the version moves, so a store's edit open meanwhile is
    # merged field by field instead of writing its old topic back (blueprints.common.save_versioned).
    table = Complaint.__table__
    state = complaint.feedback_state if complaint.feedback_state == "in_project" else (
        "no_action" if no_action else "classified")
    db.session.execute(table.update().where(table.c.id == complaint.id).values(
        sentiment=sentiment, impact=impact, category_id=category_id if category_id is not None else table.c.category_id,
        classified_at=utcnow(), classified_by_id=user.id, feedback_state=state, version=table.c.version + 1))
    db.session.expire(complaint)


def stage_counts() -> dict[str, int]:
    """Projects by step (a few hundred rows at most)."""
    stages = dict(db.session.execute(select(ImprovementProject.stage, func.count())
                                     .group_by(ImprovementProject.stage)).all())
    return {key: stages.get(key, 0) for key in PROJECT_STAGES}


def feedback_counts() -> dict[str, int]:
    """Suggestions and praise by screening state (the stored state, read from its index)."""
    return dict(db.session.execute(select(Complaint.feedback_state, func.count())
                                   .where(Complaint.feedback_state.is_not(None))
                                   .group_by(Complaint.feedback_state)).all())


def open_parts(department: str | None, limit: int = 50) -> list[ProjectPart]:
    """A department's parts still to do, earliest due first (its task queue; None: every department)."""
    stmt = select(ProjectPart).where(ProjectPart.done_at.is_(None)).join(ProjectPart.project).where(
        ImprovementProject.stage.in_(PROJECT_CYCLE))
    if department is not None:
        stmt = stmt.where(ProjectPart.department == department)
    return list(db.session.scalars(stmt.options(contains_eager(ProjectPart.project))
                                   .order_by(ProjectPart.due_on, ProjectPart.id).limit(limit)))


def done_parts(department: str | None, limit: int = 50) -> list[ProjectPart]:
    """A department's parts reported done, the latest first (the queue's "done" view)."""
    stmt = select(ProjectPart).where(ProjectPart.done_at.is_not(None)).join(ProjectPart.project)
    if department is not None:
        stmt = stmt.where(ProjectPart.department == department)
    return list(db.session.scalars(stmt.options(contains_eager(ProjectPart.project))
                                   .order_by(ProjectPart.done_at.desc(), ProjectPart.id.desc()).limit(limit)))


def owned_by(department: str, limit: int = 50) -> list[ImprovementProject]:
    """The projects in progress a department owns, earliest completion date first (its queue)."""
    return list(db.session.scalars(select(ImprovementProject).where(
        ImprovementProject.department == department, ImprovementProject.stage.in_(PROJECT_CYCLE))
        .order_by(ImprovementProject.due_on, ImprovementProject.id).limit(limit)))


def may_report(project: ImprovementProject, user) -> bool:
    """Progress is reported by headquarters' customer-experience staff, and by the members of the
    owner department or of a department with a part."""
    if can(user, "governance.projects"):
        return True
    if user.role != "hq_department" or not user.department:
        return False
    return project.department == user.department or any(p.department == user.department for p in project.parts)


def _tell_department(project: ImprovementProject, department: str, kind: str, data: dict) -> None:
    if department == CX_DEPARTMENT:
        people = db.session.scalars(select(User).where(User.active.is_(True), User.role.in_(("hq_admin", "hq_auditor")))).all()
    else:
        people = db.session.scalars(select(User).where(User.active.is_(True), User.role == "hq_department",
                                                       User.department == department)).all()
    notifications.notify(people, kind, data | {"reference": project.reference},
                         url=url_for("governance.project", improvement_project_id=project.id))


@notifications.message("project_owned")
def _owned_message(data):
    return (_("Improvement project %(ref)s for your department", ref=data["reference"]),
            _("Your department owns the improvement project \"%(title)s\".", title=data["title"]))


@notifications.message("project_part")
def _part_message(data):
    return (_("Your department's part in improvement project %(ref)s", ref=data["reference"]),
            _("%(part)s (project \"%(title)s\"), due %(day)s.", part=data["part"], title=data["title"],
              day=format_date(date.fromisoformat(data["due"]))))


@notifications.message("project_part_done")
def _part_done_message(data):
    return (_("A part of improvement project %(ref)s is done", ref=data["reference"]),
            _("%(department)s reported done: %(part)s (project \"%(title)s\").",
              department=owner_departments().get(data["department"], data["department"]), part=data["part"],
              title=data["title"]))


@notifications.message("project_parts_done")
def _parts_done_message(data):
    return (_("Every part of improvement project %(ref)s is done", ref=data["reference"]),
            _("The last part (%(part)s) was reported done: the effect of \"%(title)s\" can be evaluated.",
              part=data["part"], title=data["title"]))


@notifications.message("project_cancelled")
def _cancelled_message(data):
    return (_("Improvement project %(ref)s is cancelled", ref=data["reference"]),
            _("\"%(title)s\" was cancelled: %(reason)s", title=data["title"], reason=data["reason"]))

