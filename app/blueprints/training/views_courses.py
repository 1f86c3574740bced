"""Gaps against the requirement matrix, the courses and the matrix itself, and headquarters'
positions with their staffing norms and hiring criteria."""
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.blueprints.common import create_once, keyset_of, save_versioned
from app.blueprints.customers.views_customers import store_choices
from app.blueprints.training import bp, forms
from app.blueprints.training.views_staff import positions
from app.extensions import db
from app.i18n import current_locale
from app.models import Course, CourseRequirement, Employee, EmployeeCourse, Position, StaffingNorm, Store
from app.models.base import local_today
from app.models.training import COURSE_KINDS, COURSE_STATES, COURSE_TOPICS, STORE_SIZES
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import audit as audit_trail
from app.services.training import records

BY_NEEDED = Ordering((EmployeeCourse.needed_by, EmployeeCourse.id))
GAP_TABS = {
    "overdue": COURSE_STATES["overdue"],
    "due": COURSE_STATES["due"],
    "expiring": COURSE_STATES["expiring"],
}


@dataclass
class GapFilters:
    tab: str = "overdue"
    store: int | None = None
    store_code: str = ""
    course: int | None = None

    @classmethod
    def from_args(cls, args):
        tab = args.get("tab", "overdue")
        return cls(tab=tab if tab in GAP_TABS else "overdue", store=args.get("store", type=int),
                   store_code=args.get("store_code", "").strip().upper()[:20], course=args.get("course", type=int))

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


def gap_query(f: GapFilters, today):
    """One range over the stored ``needed_by`` (indexed with the store and the franchisee)."""
    ec = EmployeeCourse
    stmt = select(ec)
    if f.tab == "overdue":  # a deadline passed, or a certificate expired
        stmt = stmt.where(ec.needed_by < today)
    elif f.tab == "due":
        stmt = stmt.where(ec.done_on.is_(None), ec.needed_by >= today)
    else:
        stmt = stmt.where(ec.done_on.is_not(None), ec.needed_by >= today,
                          ec.needed_by <= today + timedelta(days=records.EXPIRING_DAYS))
    if f.store:
        stmt = stmt.where(ec.store_id == f.store)
    if f.store_code:
        stmt = stmt.where(ec.store_id.in_(select(Store.id).where(Store.code == f.store_code)))
    if f.course:
        stmt = stmt.where(ec.course_id == f.course)
    return stmt


@bp.route("/gaps")
@access("training.view")
def gaps():
    """Missing, overdue and soon-to-expire training: who, which course, by when."""
    f = GapFilters.from_args(request.args)
    today = local_today()
    stmt = gap_query(f, today).options(
        joinedload(EmployeeCourse.employee).load_only(Employee.id, Employee.name, Employee.position_id, Employee.staff_no),
        joinedload(EmployeeCourse.course).load_only(Course.id, Course.code, Course.title, Course.title_en))
    page = keyset_of(stmt, BY_NEEDED)
    store_ids = {row.store_id for row in page.items}
    names = {s.id: s for s in db.session.execute(select(Store.id, Store.code, Store.name).where(Store.id.in_(store_ids)))}
    courses = db.session.execute(select(Course.id, Course.code, Course.title, Course.title_en)
                                 .where(Course.active.is_(True)).order_by(Course.code)).all()
    return render_template("training/gaps.html", page=page, f=f, tabs=GAP_TABS, today=today, stores=store_choices(),
                           store_names=names, positions=positions(), courses=courses, locale=current_locale(),
                           states=COURSE_STATES, state_of=records.state_of)


# --- courses and the requirement matrix ------------------------------------------------------------

def _editable(course: Course) -> bool:
    """Headquarters edits its courses; a franchise owner the franchisee's own."""
    if not can(current_user, "training.courses"):
        return False
    return (course.franchisee_id is None) == current_user.role.startswith("hq_")


@bp.route("/courses")
@access("training.view")
def courses():
    rows = db.session.scalars(select(Course).options(joinedload(Course.requirements))
                              .order_by(Course.active.desc(), Course.franchisee_id.is_not(None), Course.code)).unique().all()
    return render_template("training/courses.html", courses=rows, positions=positions(), topics=COURSE_TOPICS,
                           kinds=COURSE_KINDS, locale=current_locale(), editable=_editable)


def _position_options():
    locale = current_locale()
    return [(p.id, p.label(locale)) for p in positions().values() if p.active]


DEFAULT_DAYS = 90


def _days(form, course=None) -> dict[int, int] | None:
    """Days per position ticked, from the form's days-<id> boxes (each position its own: trial
    13, one box for all overwrote 60 days with 90); None, with the reason on the form, when one
    is not a whole number of 1 to 730."""
    current = {r.position_id: r.within_days for r in course.requirements} if course else {}
    days = {}
    for position_id in form.positions.data or []:
        raw = unicodedata.normalize("NFKC", request.form.get(f"days-{position_id}") or "").strip()
        if not raw:
            days[position_id] = current.get(position_id, DEFAULT_DAYS)
        elif raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 730:
            days[position_id] = int(raw)
        else:
            label = dict((c.value, c.label) for c in form.positions.choices).get(position_id, "")
            form.positions.errors = [*form.positions.errors, _("Days for %(position)s: a whole number from 1 to 730.",
                                                                position=label)]
            form.bad_days = position_id  # the box is outlined (trial 14)
            return None
    return days


def _set_requirements(course: Course, days: dict[int, int]) -> set[int]:
    """The matrix row of this course; returns the positions whose staff must be recomputed."""
    wanted = set(days)
    have = {r.position_id: r for r in course.requirements}
    touched = set()
    for position_id in wanted:
        row = have.get(position_id)
        if row is None:
            course.requirements.append(CourseRequirement(position_id=position_id, within_days=days[position_id],
                                                         since=local_today()))
            touched.add(position_id)
        elif row.within_days != days[position_id]:
            row.within_days = days[position_id]
            touched.add(position_id)
    for position_id, row in have.items():
        if position_id not in wanted:
            course.requirements.remove(row)
            touched.add(position_id)
    return touched


@bp.route("/courses/new", methods=["GET", "POST"])
@access("training.courses")
def new_course():
    form = forms.NewCourseForm(position_options=_position_options(), version=1)
    days = None
    if form.validate_on_submit() and (form.receipt is not None or (days := _days(form)) is not None):
        touched = set()

        def create():
            course = Course(franchisee_id=None if current_user.role.startswith("hq_") else current_user.franchisee_id)
            _fill(course, form)
            db.session.add(course)
            touched.update(_set_requirements(course, days))
            db.session.flush()
            audit_trail.record("course.created", actor=current_user, target=course)
            return course

        done = create_once(form, create, lambda c: url_for("training.courses", _anchor=f"course-{c.id}"),
                           _("Course added; the staff who must take it are being brought up to date."))
        if done:
            if touched:
                records.start_refresh(touched)  # committed: the job reads the new matrix
            return done
    return render_template("training/course_form.html", form=form, course=None, current_days={},
                           default_days=DEFAULT_DAYS)


def _fill(course: Course, form) -> None:
    course.code = form.code.data
    course.title = form.title.data.strip()
    course.title_en = (form.title_en.data or "").strip() or None
    course.topic, course.kind = form.topic.data, form.kind.data
    course.hours = form.hours.data
    course.pass_mark, course.validity_months = form.pass_mark.data, form.validity_months.data
    course.onboarding = form.onboarding.data
    course.description = (form.description.data or "").strip() or None
    course.active = form.active.data


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@access("training.courses")
def edit_course(course_id: int):
    course = get_scoped_or_404(Course, course_id, joinedload(Course.requirements))
    if not _editable(course):
        abort(403)
    # The matrix row as the form's own values, so a colleague's change to it is merged like any field.
    form = forms.CourseForm(obj=course, position_options=_position_options(),
                            positions=sorted(r.position_id for r in course.requirements))
    days = None
    if form.validate_on_submit() and (days := _days(form, course)) is not None:
        touched = set()

        def change():
            touched.clear()
            was_active = course.active
            _fill(course, form)
            touched.update(_set_requirements(course, days))
            if was_active != course.active:
                touched.update(r.position_id for r in course.requirements)
            changed = audit_trail.changes(course)
            if changed or touched:
                audit_trail.record("course.updated", actor=current_user, target=course, details=changed)
            db.session.flush()
            if not course.active:
                records.delete_requirement_rows(course.id)

        if save_versioned(form, course, change):
            if touched:
                records.start_refresh(touched)
                flash(_("Changes saved; the staff concerned are being brought up to date (a few minutes in a large "
                        "network)."), "success")
            else:
                flash(_("Changes saved."), "success")
            return redirect(url_for("training.courses", _anchor=f"course-{course.id}"))
    return render_template("training/course_form.html", form=form, course=course, default_days=DEFAULT_DAYS,
                           current_days={r.position_id: r.within_days for r in course.requirements})


# --- positions, norms and hiring criteria ------------------------------------------------------------

@bp.route("/positions")
@access("training.view")
def positions_page():
    rows = list(positions().values())
    with unscoped():
        norms = {(n.position_id, n.store_size): n.headcount for n in db.session.scalars(select(StaffingNorm))}
    return render_template("training/positions.html", positions=rows, norms=norms, sizes=STORE_SIZES,
                           locale=current_locale())


def _save_norms(position: Position, form) -> None:
    with unscoped():
        have = {n.store_size: n for n in db.session.scalars(select(StaffingNorm).where(StaffingNorm.position_id == position.id))}
        for size in STORE_SIZES:
            count = getattr(form, size).data
            if size in have:
                have[size].headcount = count
            else:
                db.session.add(StaffingNorm(position_id=position.id, store_size=size, headcount=count))


@bp.route("/positions/new", methods=["GET", "POST"])
@access("training.norms")
def new_position():
    form = forms.NewPositionForm(version=1)
    if form.validate_on_submit():
        def create():
            order = max((p.position for p in positions().values()), default=0) + 1
            position = Position(position=order)
            _fill_position(position, form)
            db.session.add(position)
            db.session.flush()
            _save_norms(position, form)
            db.session.flush()
            audit_trail.record("position.created", actor=current_user, target=position)
            return position

        done = create_once(form, create, lambda p: url_for("training.positions_page", _anchor=f"position-{p.id}"),
                           _("Position added."))
        if done:
            records.start_refresh()  # every store against the new norm, out of the request
            return done
    return render_template("training/position_form.html", form=form, position=None)


def _fill_position(position: Position, form) -> None:
    position.code = form.code.data
    position.name_zh, position.name_en = form.name_zh.data.strip(), form.name_en.data.strip()
    position.hiring_criteria = form.hiring_criteria.data.strip()
    position.hiring_criteria_en = (form.hiring_criteria_en.data or "").strip() or None
    position.customer_contact, position.active = form.customer_contact.data, form.active.data


@bp.route("/positions/<int:position_id>/edit", methods=["GET", "POST"])
@access("training.norms")
def edit_position(position_id: int):
    position = get_scoped_or_404(Position, position_id)
    with unscoped():
        norms = {n.store_size: n.headcount for n in db.session.scalars(
            select(StaffingNorm).where(StaffingNorm.position_id == position.id))}
    form = forms.PositionForm(obj=position, **{size: norms.get(size, 0) for size in STORE_SIZES})
    if form.validate_on_submit():
        def change():
            _fill_position(position, form)
            _save_norms(position, form)
            changed = audit_trail.changes(position)
            audit_trail.record("position.updated", actor=current_user, target=position, details=changed)
            db.session.flush()

        if save_versioned(form, position, change):
            records.start_refresh()  # every store's headcount against the new norm, out of the request
            flash(_("Changes saved; every store's staffing is being compared with the new norm."), "success")
            return redirect(url_for("training.positions_page", _anchor=f"position-{position.id}"))
    return render_template("training/position_form.html", form=form, position=position)
