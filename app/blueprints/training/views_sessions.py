"""Training sessions: planning one (course, day, trainer, place or online, stores invited) and
the attendance screen, where presence, score and note of every participant are entered at once
(on a phone too). Two people entering results at once: each save writes only the lines that
page changed, and a line changed on both is kept as saved first and named (the audit form's
rule, blueprints/audits/views_conduct.py)."""
import hashlib
import re
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of, list_text
from app.blueprints.customers.views_customers import franchisee_choices
from app.blueprints.training import bp, forms
from app.blueprints.training.views_staff import positions
from app.extensions import db
from app.i18n import current_locale
from app.models import Attendance, Course, SessionStore, Store, TrainingSession
from app.models.base import local_today
from app.models.training import SESSION_STATUSES
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError, audit as audit_trail
from app.services.training import imports, sessions as service

BY_DAY = Ordering((TrainingSession.held_on, TrainingSession.id), descending=True)
TICK_MAX = 60  # more stores than this in scope: invited by franchisee or by code, not ticked one by one


@dataclass
class SessionFilters:
    tab: str = "all"
    course: int | None = None

    @classmethod
    def from_args(cls, args):
        tab = args.get("tab", "all")
        return cls(tab=tab if tab in ("upcoming", "to_enter", "all") else "all", course=args.get("course", type=int))

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@bp.route("/sessions")
@access("training.view")
def sessions():
    f = SessionFilters.from_args(request.args)
    today = local_today()
    stmt = select(TrainingSession).options(joinedload(TrainingSession.course))
    if not current_user.role.startswith("hq_"):
        # A franchisee's people: the sessions open to their stores (the scope already hides
        # other franchisees' own sessions; headquarters' go to stores across the network).
        stmt = stmt.where(exists().where(SessionStore.session_id == TrainingSession.id))
    if f.tab == "upcoming":
        stmt = stmt.where(TrainingSession.held_on >= today, TrainingSession.status == "planned")
    elif f.tab == "to_enter":
        stmt = stmt.where(TrainingSession.held_on <= today, TrainingSession.status == "planned")
    if f.course:
        stmt = stmt.where(TrainingSession.course_id == f.course)
    page = keyset_of(stmt, BY_DAY)
    courses = db.session.execute(select(Course.id, Course.code, Course.title, Course.title_en).order_by(Course.code)).all()
    return render_template("training/sessions.html", page=page, f=f, today=today, statuses=SESSION_STATUSES,
                           courses=courses, locale=current_locale())


def _store_options():
    rows = db.session.execute(select(Store.id, Store.code, Store.name).where(Store.status == "open")
                              .order_by(Store.code).limit(TICK_MAX + 1)).all()
    return None if len(rows) > TICK_MAX else [(s.id, f"{s.code} {s.name}") for s in rows]


def _course_options():
    locale = current_locale()
    return [(c.id, f"{c.code} {c.label(locale)}") for c in
            db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.code))]


def _chosen_stores(form) -> list[int] | None:
    """The stores the form invites: ticked, a franchisee's, by code. None (with the reason on the
    form) when a code is unknown or nothing is chosen."""
    ids = set(form.stores.data or [])
    if form.franchisee_id.data:
        ids |= set(db.session.scalars(select(Store.id).where(Store.franchisee_id == form.franchisee_id.data,
                                                             Store.status == "open")))
    codes = [c for c in re.split(r"[\s,，、;；]+", (form.store_codes.data or "").upper()) if c]
    if codes:
        found = dict(db.session.execute(select(Store.code, Store.id).where(Store.code.in_(codes))).all())
        unknown = [c for c in codes if c not in found]
        if unknown:
            form.store_codes.errors.append(_("Not a store of yours: %(codes)s.", codes=list_text(unknown[:10])))
            return None
        ids |= set(found.values())
    if not ids:
        form.stores.errors.append(_("Invite at least one store."))
        return None
    return sorted(ids)


@bp.route("/sessions/new", methods=["GET", "POST"])
@access("training.sessions")
def new_session():
    stores = _store_options()
    form = forms.NewSessionForm(courses=_course_options(), stores=stores or [],
                                franchisees=franchisee_choices() if stores is None else [], version=1)
    if not form.is_submitted():
        form.held_on.data = local_today()
        form.course_id.data = request.args.get("course", type=int)
        if stores is not None and len(stores) == 1:
            form.stores.data = [stores[0][0]]  # a store manager's one store, ticked already
    if form.validate_on_submit():
        chosen = form.receipt is None and _chosen_stores(form)
        if form.receipt is not None or chosen:
            def create():
                session = TrainingSession(
                    franchisee_id=None if current_user.role.startswith("hq_") else current_user.franchisee_id,
                    course_id=form.course_id.data, held_on=form.held_on.data, trainer=form.trainer.data.strip(),
                    online=form.online.data, place=(form.place.data or "").strip() or None,
                    note=(form.note.data or "").strip() or None, created_by_id=current_user.id)
                db.session.add(session)
                db.session.flush()
                session.reference = service.reference_of(session)
                service.invite(session, chosen)
                audit_trail.record("training_session.created", actor=current_user, target=session)
                return session

            done = create_once(form, create, lambda s: url_for("training.session", training_session_id=s.id),
                               _("Session planned. Enter attendance and scores here on the day."))
            if done:
                return done
    return render_template("training/session_form.html", form=form, many=stores is None)


def line_print(attended: bool, score, note) -> str:
    raw = f"{1 if attended else 0}|{'' if score is None else score}|{(note or '').strip()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _load(session_id: int) -> TrainingSession:
    return get_scoped_or_404(TrainingSession, session_id, joinedload(TrainingSession.course),
                             selectinload(TrainingSession.invited).joinedload(SessionStore.store))


@bp.route("/sessions/<int:training_session_id>", methods=["GET", "POST"])
@access("training.view")
def session(training_session_id: int):
    """The session and its attendance screen."""
    found = _load(training_session_id)
    errors, conflicts, posted = {}, [], None
    if request.method == "POST":
        if not can(current_user, "training.sessions"):
            abort(403)
        form = forms.StepForm()
        if not form.validate_on_submit():
            flash(_("The form had expired; your entries are below, please save again."), "warning")
            posted = request.form
        else:
            errors, conflicts, saved = _save_results(found, request.form)
            if errors or conflicts:
                posted = request.form
            if not errors:
                if conflicts:
                    flash(_("Saved, except the lines changed by someone else meanwhile: %(names)s. They show what "
                            "was saved there; what you typed is kept under each.", names=list_text(conflicts.values())),
                          "warning")
                else:
                    flash(_("Results saved: %(n)d lines changed.", n=saved) if saved else _("Nothing was changed."),
                          "success")
                    return redirect(url_for("training.session", training_session_id=found.id))
    return _render(found, errors=errors, conflicts=conflicts, posted=posted)


def _render(found: TrainingSession, errors=None, conflicts=None, posted=None, report=None, status=None,
            import_open=False):
    people = service.participants(found)
    lines = {a.employee_id: a for a in db.session.scalars(select(Attendance).where(Attendance.session_id == found.id))}
    prints = {e.id: line_print(lines[e.id].attended, lines[e.id].score, lines[e.id].note) if e.id in lines
              else line_print(False, None, None) for e in people}
    stores = {row.store_id: row.store for row in found.invited}
    return render_template(
        "training/session.html", s=found, people=people, lines=lines, prints=prints, stores=stores,
        errors=errors or {}, conflicts=conflicts or {}, posted=posted, positions=positions(), locale=current_locale(),
        statuses=SESSION_STATUSES, today=local_today(), step=forms.StepForm(formdata=None, version=found.version),
        can_enter=can(current_user, "training.sessions") and found.status != "cancelled" and found.held_on <= local_today(),
        report=report, import_open=import_open or bool(report),
    ), status or (422 if errors else 200)


def _save_results(found: TrainingSession, posted) -> tuple[dict, dict, int]:
    ids = []
    for raw in posted.getlist("row"):
        if raw.isdigit() and len(raw) < 10:
            ids.append(int(raw))
    existing = {a.employee_id: a for a in db.session.scalars(select(Attendance).where(Attendance.session_id == found.id))}
    names = {e.id: e.name for e in service.participants(found)}
    entries, conflicts = [], {}
    for employee_id in ids:
        attended = posted.get(f"attended-{employee_id}") == "y"
        score, note = posted.get(f"score-{employee_id}", ""), posted.get(f"note-{employee_id}", "")
        try:
            parsed = service.parse_score(score)
        except RuleError:
            parsed = score  # refused with its reason by the service below
        mine = line_print(attended, parsed, note)
        row = existing.get(employee_id)
        on_file = line_print(row.attended, row.score, row.note) if row else line_print(False, None, None)
        was = posted.get(f"was-{employee_id}")
        if mine == on_file or (was is not None and mine == was):
            continue  # unchanged here (what another page saved meanwhile stays)
        if was is not None and was != on_file:
            conflicts[employee_id] = names.get(employee_id, str(employee_id))
            continue
        entries.append(service.Entry(employee_id, attended, score, note))
    try:
        errors, changed = service.record(found, entries, current_user)
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return {0: str(error)}, conflicts, 0
    if errors:
        db.session.rollback()
        flash(_("Nothing was saved: %(n)d lines need a look (marked below).", n=len(errors)), "danger")
        return errors, conflicts, 0
    db.session.commit()
    return {}, conflicts, changed


@bp.route("/sessions/<int:training_session_id>/cancel", methods=["POST"])
@access("training.sessions")
def cancel_session(training_session_id: int):
    found = _load(training_session_id)
    if (found.franchisee_id is None) != current_user.role.startswith("hq_"):
        flash(_("Only whoever organised the session can cancel it."), "danger")
        return redirect(url_for("training.session", training_session_id=found.id))
    form = forms.StepForm()
    if form.validate_on_submit() and form.version.data == found.version:
        commit_or_explain(lambda: service.cancel(found), _("Session cancelled."))
    else:
        flash(_("Someone else changed this session meanwhile; here is what it is now."), "warning")
    return redirect(url_for("training.session", training_session_id=found.id))


@bp.route("/sessions/<int:training_session_id>/import", methods=["GET", "POST"])
@access("training.sessions")
def import_results(training_session_id: int):
    """Attendance and scores from a CSV or Excel file: checked row by row, saved all or nothing."""
    found = _load(training_session_id)
    if request.method == "GET":
        return redirect(url_for("training.session", training_session_id=found.id))
    form = forms.StepForm()
    upload = request.files.get("file")
    if not form.validate_on_submit():
        flash(_("The form had expired; choose the file again."), "warning")
        return _render(found, status=400, import_open=True)
    if upload is None or not upload.filename:
        flash(_("Choose the file to import."), "danger")
        return _render(found, status=422, import_open=True)
    try:
        if found.held_on > local_today():
            raise RuleError(_("Results are entered on or after the day of the session."))
        lines = imports.read(found, upload)
    except RuleError as error:
        flash(str(error), "danger")
        return _render(found, status=422, import_open=True)  # the panel stays open to try again (trial 14)
    problems = sum(1 for line in lines if line.problems)
    if problems:
        flash(ngettext("Nothing was saved: %(num)d row needs a look (below).",
                       "Nothing was saved: %(num)d rows need a look (below).", problems), "danger")
        return _render(found, report=lines, status=422)
    if request.form.get("check_only"):
        flash(ngettext("The %(num)d row can be imported. Nothing was saved yet: import again without \"check only\".",
                       "All %(num)d rows can be imported. Nothing was saved yet: import again without \"check only\".",
                       len(lines)), "info")
        return _render(found, report=lines)
    try:
        changed = imports.save(found, lines, current_user)
        audit_trail.record("training_session.imported", actor=current_user, target=found,
                           details={"rows": len(lines), "changed": changed})
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _render(_load(training_session_id), report=lines, status=422)
    flash(_("Imported: %(n)d rows, %(changed)d lines changed.", n=len(lines), changed=changed), "success")
    return redirect(url_for("training.session", training_session_id=found.id))
