"""Annual training plans (年度培训计划, R35): per franchisee and year, which course in which
month and form; each line shows whether a session of that course was held for the franchisee's
stores in that month, and the plan shows completion per store against the requirement matrix."""
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import commit_or_explain, create_once
from app.blueprints.customers.views_customers import franchisee_choices
from app.blueprints.training import bp
from app.blueprints.training.forms import PlanEntryForm, PlanForm
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models import Course, Franchisee, PlanEntry, SessionStore, Store, StoreTeamStats, TrainingPlan, TrainingSession
from app.models.base import local_today
from app.models.training import COURSE_KINDS
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import audit as audit_trail


def _may_edit(plan: TrainingPlan) -> bool:
    """Headquarters, or the franchisee's owner for its own plan."""
    if not can(current_user, "training.plans"):
        return False
    return current_user.role.startswith("hq_") or plan.franchisee_id == current_user.franchisee_id


@bp.route("/plans")
@access("training.view")
def plans():
    rows = db.session.execute(select(TrainingPlan, Franchisee.name).join(Franchisee, Franchisee.id == TrainingPlan.franchisee_id)
                              .order_by(TrainingPlan.year.desc(), Franchisee.name).limit(500)).all()
    counts = dict(db.session.execute(select(PlanEntry.plan_id, func.count()).where(
        PlanEntry.plan_id.in_([p.id for p, _ in rows])).group_by(PlanEntry.plan_id)).all()) if rows else {}
    form = PlanForm(formdata=None, franchisees=franchisee_choices(), year=local_today().year)
    return render_template("training/plans.html", rows=rows, counts=counts, form=form)


@bp.route("/plans/new", methods=["POST"])
@access("training.plans")
def new_plan():
    form = PlanForm(franchisees=franchisee_choices())
    if form.validate_on_submit():
        if form.receipt is not None:
            return redirect(form.receipt.url)
        franchisee_id = form.franchisee_id.data if current_user.role.startswith("hq_") else current_user.franchisee_id
        existing = db.session.scalar(select(TrainingPlan.id).where(TrainingPlan.franchisee_id == franchisee_id,
                                                                   TrainingPlan.year == form.year.data))
        if existing:
            flash(_("This franchisee already has a plan for %(year)d; here it is.", year=form.year.data), "info")
            return redirect(url_for("training.plan", training_plan_id=existing))

        def create():
            plan = TrainingPlan(franchisee_id=franchisee_id, year=form.year.data)
            db.session.add(plan)
            db.session.flush()
            audit_trail.record("training_plan.created", actor=current_user, target=plan)
            return plan

        done = create_once(form, create, lambda p: url_for("training.plan", training_plan_id=p.id),
                           _("Plan created: add its courses month by month."))
        if done:
            return done
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "danger")
    return redirect(url_for("training.plans"))


def _courses():
    locale = current_locale()
    return [(c.id, f"{c.code} {c.label(locale)}") for c in
            db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.code))]


@bp.route("/plans/<int:training_plan_id>", methods=["GET", "POST"])
@access("training.view")
def plan(training_plan_id: int):
    found = get_scoped_or_404(TrainingPlan, training_plan_id,
                              selectinload(TrainingPlan.entries).joinedload(PlanEntry.course))
    form = PlanEntryForm(courses=_courses())
    status = 200
    if request.method == "POST":
        if not _may_edit(found):
            abort(403)
        if form.validate_on_submit():
            def add():
                entry = PlanEntry(plan_id=found.id, course_id=form.course_id.data, month=form.month.data,
                                  kind=form.kind.data, participants=form.participants.data or 0,
                                  note=(form.note.data or "").strip() or None)
                db.session.add(entry)
                db.session.flush()
                audit_trail.record("training_plan.entry_added", actor=current_user, target=found,
                                   details={"course_id": entry.course_id, "month": entry.month})

            if commit_or_explain(add, _("Added to the plan.")):
                return redirect(url_for("training.plan", training_plan_id=found.id))
        status = 422
    elif not form.is_submitted():
        form = PlanEntryForm(formdata=None, courses=_courses(), month=local_today().month if found.year == local_today().year else 1)
    # Sessions held for this franchisee's stores, by course and month of the plan's year.
    store_ids = db.session.scalars(select(Store.id).where(Store.franchisee_id == found.franchisee_id)).all()
    held = {}
    if store_ids:
        for course_id, day in db.session.execute(
                select(TrainingSession.course_id, TrainingSession.held_on).where(
                    TrainingSession.held_on >= date(found.year, 1, 1), TrainingSession.held_on <= date(found.year, 12, 31),
                    TrainingSession.status != "cancelled",
                    TrainingSession.id.in_(select(SessionStore.session_id).where(SessionStore.store_id.in_(store_ids))))):
            held.setdefault((course_id, day.month), []).append(day)
    teams = db.session.execute(select(StoreTeamStats, Store.code, Store.name).join(Store, Store.id == StoreTeamStats.store_id)
                               .where(StoreTeamStats.franchisee_id == found.franchisee_id, Store.status == "open")
                               .order_by(Store.code)).all()
    franchisee = db.session.get(Franchisee, found.franchisee_id)
    return render_template("training/plan.html", plan=found, franchisee=franchisee, form=form, held=held, teams=teams,
                           kinds=COURSE_KINDS, locale=current_locale(), editable=_may_edit(found), step=EmptyForm(),
                           today=local_today()), status


@bp.route("/plans/entries/<int:plan_entry_id>/delete", methods=["POST"])
@access("training.plans")
def delete_plan_entry(plan_entry_id: int):
    entry = db.session.scalar(select(PlanEntry).where(PlanEntry.id == plan_entry_id).options(joinedload(PlanEntry.plan)))
    if entry is None:
        abort(404)
    found = get_scoped_or_404(TrainingPlan, entry.plan_id)  # the plan through the scope
    if not _may_edit(found):
        abort(403)
    if EmptyForm().validate_on_submit():
        def remove():
            db.session.delete(entry)
            audit_trail.record("training_plan.entry_removed", actor=current_user, target=found)

        commit_or_explain(remove, _("Removed from the plan."))
    return redirect(url_for("training.plan", training_plan_id=found.id))
