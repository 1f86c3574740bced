"""The team: each store's figures against the staffing norm and the requirement matrix, the
staff register, an employee's page, moves between the franchisee's stores, leaving."""
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app.blueprints.common import create_once, keyset_of, save_versioned
from app.blueprints.customers.views_customers import franchisee_choices, store_choices
from app.blueprints.training import bp, forms
from app.extensions import db
from app.i18n import current_locale
from app.models import (
    Appraisal, Attendance, Certificate, Employee, EmployeeCourse, Franchisee, Incentive, Position, Store,
    StoreTeamStats, TrainingSession, User,
)
from app.models.base import local_today
from app.models.training import COURSE_STATES, EMPLOYEE_STATUSES, INCENTIVE_KINDS, STORE_SIZES
from app.models.user import STORE_ROLES
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import RuleError, audit as audit_trail
from app.services.customer_fields import mask_mobile
from app.services.training import records

BY_NAME = Ordering((Employee.name, Employee.id))
BY_STORE = Ordering((Store.code,))


def positions() -> dict[int, Position]:
    with unscoped():
        return {p.id: p for p in db.session.scalars(select(Position).order_by(Position.position, Position.id))}


def position_choices(include=None):
    locale = current_locale()
    return [(p.id, p.label(locale)) for p in positions().values() if p.active or p.id == include]


def open_store_choices(franchisee_id=None):
    stmt = select(Store.id, Store.code, Store.name).where(Store.status == "open").order_by(Store.code)
    if franchisee_id is not None:
        stmt = stmt.where(Store.franchisee_id == franchisee_id)
    return [(s.id, f"{s.code} {s.name}") for s in db.session.execute(stmt.limit(2000))]


@dataclass
class TeamFilters:
    franchisee: int | None = None
    store_code: str = ""
    only: str = ""  # "short" (below the norm) or "overdue"

    @classmethod
    def from_args(cls, args):
        only = args.get("only", "")
        return cls(franchisee=args.get("franchisee", type=int), store_code=args.get("store_code", "").strip().upper()[:20],
                   only=only if only in ("short", "overdue") else "")

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@bp.route("/")
@access("training.view")
def index():
    """Each store's team against its norm and its training against the matrix (stored
    figures, StoreTeamStats); headquarters also sees completion by franchisee."""
    f = TeamFilters.from_args(request.args)
    stmt = (select(StoreTeamStats, Store.code, Store.name, Store.size).join(Store, Store.id == StoreTeamStats.store_id)
            .where(Store.status == "open"))
    if f.franchisee:
        stmt = stmt.where(StoreTeamStats.franchisee_id == f.franchisee)
    if f.store_code:
        stmt = stmt.where(Store.code == f.store_code)
    if f.only == "short":
        stmt = stmt.where(StoreTeamStats.shortfall > 0)
    elif f.only == "overdue":
        stmt = stmt.where(StoreTeamStats.overdue > 0)
    page = keyset_of(stmt, BY_STORE, scalars=False)
    totals = db.session.execute(select(
        func.count(), func.coalesce(func.sum(StoreTeamStats.staff), 0), func.coalesce(func.sum(StoreTeamStats.required), 0),
        func.coalesce(func.sum(StoreTeamStats.done), 0), func.coalesce(func.sum(StoreTeamStats.overdue), 0),
        func.coalesce(func.sum(StoreTeamStats.expiring), 0),
        func.coalesce(func.sum(case((StoreTeamStats.shortfall > 0, 1), else_=0)), 0))
        .join(Store, Store.id == StoreTeamStats.store_id).where(Store.status == "open")).one()
    by_franchisee = []
    if current_user.role.startswith("hq_"):
        by_franchisee = db.session.execute(
            select(Franchisee.id, Franchisee.name, func.count(StoreTeamStats.id), func.sum(StoreTeamStats.staff),
                   func.sum(StoreTeamStats.required), func.sum(StoreTeamStats.done), func.sum(StoreTeamStats.overdue))
            .join(StoreTeamStats, StoreTeamStats.franchisee_id == Franchisee.id)
            .join(Store, Store.id == StoreTeamStats.store_id).where(Store.status == "open")
            .group_by(Franchisee.id, Franchisee.name).order_by(Franchisee.name)).all()
    return render_template("training/index.html", page=page, f=f, totals=totals, by_franchisee=by_franchisee,
                           positions=positions(), sizes=STORE_SIZES, franchisees=franchisee_choices(),
                           locale=current_locale())


@dataclass
class StaffFilters:
    q: str = ""
    store: int | None = None
    store_code: str = ""
    position: int | None = None
    status: str = "current"

    @classmethod
    def from_args(cls, args):
        status = args.get("status", "current")
        return cls(q=args.get("q", "").strip()[:60], store=args.get("store", type=int),
                   store_code=args.get("store_code", "").strip().upper()[:20], position=args.get("position", type=int),
                   status=status if status in ("current", "left", "all") else "current")

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None) and not (k == "status" and v == "current")}

    @property
    def narrowed(self) -> bool:
        return bool(self.args())


def staff_query(f: StaffFilters):
    stmt = select(Employee)
    if f.status == "current":
        stmt = stmt.where(Employee.status != "left")
    elif f.status == "left":
        stmt = stmt.where(Employee.status == "left")
    if f.store:
        stmt = stmt.where(Employee.store_id == f.store)
    if f.store_code:
        stmt = stmt.where(Employee.store_id.in_(select(Store.id).where(Store.code == f.store_code)))
    if f.position:
        stmt = stmt.where(Employee.position_id == f.position)
    if f.q:
        q = f.q
        if q.upper().startswith("YG") and q[2:].isdigit():
            stmt = stmt.where(Employee.staff_no == q.upper())
        else:
            # A name's beginning, as a range over the name index (no LIKE scan).
            stmt = stmt.where(Employee.name >= q, Employee.name < q + "\U0010ffff")
    return stmt


@bp.route("/staff")
@access("training.view")
def staff():
    """The staff register: by name, a page at a time."""
    f = StaffFilters.from_args(request.args)
    stmt = staff_query(f).options(joinedload(Employee.store).load_only(Store.id, Store.code, Store.name))
    page = keyset_of(stmt, BY_NAME)
    return render_template("training/staff.html", page=page, f=f, stores=store_choices(), positions=positions(),
                           statuses=EMPLOYEE_STATUSES, locale=current_locale())


def _logins(store_ids=None, include=None):
    """Store people with a portal login not yet linked to an employee (and the current one)."""
    linked = select(Employee.user_id).where(Employee.user_id.is_not(None))
    with unscoped():
        stmt = select(User.id, User.display_name, User.username).where(
            User.role.in_(STORE_ROLES), User.active.is_(True), (User.id.not_in(linked)) | (User.id == include))
        if current_user.franchisee_id:
            stmt = stmt.where(User.franchisee_id == current_user.franchisee_id)
        return [(u.id, f"{u.display_name} ({u.username})") for u in db.session.execute(stmt.order_by(User.display_name))]


def _check_login(form, store_id: int | None, employee=None) -> bool:
    """A login chosen must be a store person of the store's franchisee, not linked to another."""
    if not form.user_id.data:
        form.user_id.data = None
        return True
    with unscoped():
        user = db.session.get(User, form.user_id.data)
        other = db.session.scalar(select(Employee.id).where(Employee.user_id == form.user_id.data))
    store = db.session.get(Store, store_id) if store_id else None
    if user is None or user.role not in STORE_ROLES or (store and user.franchisee_id != store.franchisee_id) or (
            other is not None and (employee is None or other != employee.id)):
        form.user_id.errors.append(_("Choose a login of this store's franchisee that is not linked to another employee."))
        return False
    return True


@bp.route("/staff/new", methods=["GET", "POST"])
@access("training.staff_edit")
def new_employee():
    form = forms.NewEmployeeForm(stores=open_store_choices(), positions=position_choices(), logins=_logins(),
                                 version=1)
    if not form.is_submitted():
        form.hire_date.data = local_today()
        store = request.args.get("store", type=int)
        if store:
            form.store_id.data = store
    if form.validate_on_submit() and (form.receipt is not None or _check_login(form, form.store_id.data)):
        def create():
            employee = Employee(name=form.name.data.strip(), store_id=form.store_id.data,
                                position_id=form.position_id.data, hire_date=form.hire_date.data,
                                staff_no=form.staff_no.data or None, phone=form.phone.data,
                                user_id=form.user_id.data or None, note=(form.note.data or "").strip() or None)
            records.create(employee, current_user)
            audit_trail.record("employee.created", actor=current_user, target=employee)
            return employee

        done = create_once(form, create, lambda e: url_for("training.employee", employee_id=e.id),
                           _("Employee added; the courses their position requires are listed on their page."))
        if done:
            return done
    return render_template("training/employee_form.html", form=form, employee=None)


def load_employee(employee_id: int) -> Employee:
    return get_scoped_or_404(Employee, employee_id, joinedload(Employee.store), joinedload(Employee.user))


def is_own(employee: Employee) -> bool:
    """The signed-in user's own employee record: their managers keep it, not they (trial 14: a
    store manager moved their own hire date and their overdue training went away)."""
    return employee.user_id is not None and employee.user_id == current_user.id


def _refuse_own(employee: Employee):
    flash(_("Your own employee record is kept by the franchise owner or headquarters."), "warning")
    return redirect(url_for("training.employee", employee_id=employee.id))


@bp.route("/staff/<int:employee_id>")
@access("training.view")
def employee(employee_id: int):
    """An employee: their courses against the matrix, results, certificates, moves and (for
    their managers and headquarters) appraisals, rewards and penalties."""
    return _render_employee(load_employee(employee_id))


def _render_employee(found: Employee, status: int = 200, move=None, leave=None):
    today = local_today()
    required = db.session.scalars(select(EmployeeCourse).where(EmployeeCourse.employee_id == found.id)
                                  .options(joinedload(EmployeeCourse.course))).all()
    states = {row.id: records.state_of(row.done_on, row.needed_by, today) for row in required}
    order = {"overdue": 0, "expired": 1, "due": 2, "expiring": 3, "valid": 4}
    required = sorted(required, key=lambda r: (order[states[r.id]], r.needed_by or today, r.course.code))
    results = db.session.execute(
        select(Attendance, TrainingSession).join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(Attendance.employee_id == found.id).options(joinedload(TrainingSession.course))
        .order_by(TrainingSession.held_on.desc(), Attendance.id.desc()).limit(100)).all()
    certificates = db.session.scalars(select(Certificate).where(Certificate.employee_id == found.id)
                                      .options(joinedload(Certificate.course))
                                      .order_by(Certificate.issued_on.desc(), Certificate.id.desc()).limit(100)).all()
    appraisals, incentives = [], []
    if can(current_user, "training.appraisals_view"):
        appraisals = db.session.scalars(select(Appraisal).where(Appraisal.employee_id == found.id)
                                        .options(joinedload(Appraisal.period)).order_by(Appraisal.id.desc()).limit(40)).all()
        incentives = db.session.scalars(select(Incentive).where(Incentive.employee_id == found.id)
                                        .order_by(Incentive.awarded_on.desc(), Incentive.id.desc())).all()
    stores = open_store_choices(found.franchisee_id)
    return render_template(
        "training/employee.html", e=found, required=required, states=states, state_labels=COURSE_STATES,
        results=results, certificates=certificates, appraisals=appraisals, incentives=incentives,
        positions=positions(), locale=current_locale(), today=today, incentive_kinds=INCENTIVE_KINDS,
        phone=found.phone if can(current_user, "training.personal") else mask_mobile(found.phone),
        move=move or forms.MoveForm(formdata=None, version=found.version, stores=stores,
                                    positions=position_choices(found.position_id), store_id=found.store_id,
                                    position_id=found.position_id, moved_on=today),
        leave=leave or forms.LeaveForm(formdata=None, version=found.version, left_on=today),
        incentive=forms.IncentiveForm(formdata=None, awarded_on=today),
        own=is_own(found),
    ), status


@bp.route("/staff/<int:employee_id>/edit", methods=["GET", "POST"])
@access("training.staff_edit")
def edit_employee(employee_id: int):
    found = load_employee(employee_id)
    if is_own(found):
        return _refuse_own(found)
    form = forms.EmployeeForm(obj=found, stores=[(found.store_id, str(found.store))], logins=_logins(include=found.user_id),
                              positions=[(found.position_id, positions()[found.position_id].label(current_locale()))])
    del form.store_id, form.position_id  # changed by a move, which is kept in the history
    if not form.is_submitted():
        form.user_id.data = found.user_id or 0
    if form.validate_on_submit():
        if _check_login(form, found.store_id, found):
            def change():
                found.name = form.name.data.strip()
                found.hire_date = form.hire_date.data
                found.staff_no = form.staff_no.data or found.staff_no
                found.phone = form.phone.data
                found.user_id = form.user_id.data or None
                found.note = (form.note.data or "").strip() or None
                changed = audit_trail.changes(found)
                if changed:
                    audit_trail.record("employee.updated", actor=current_user, target=found, details=changed)
                db.session.flush()
                records.refresh([found.id])

            if save_versioned(form, found, change):
                flash(_("Changes saved."), "success")
                return redirect(url_for("training.employee", employee_id=found.id))
    return render_template("training/employee_form.html", form=form, employee=found)


@bp.route("/staff/<int:employee_id>/<any(move, leave):change>", methods=["GET", "POST"])
@access("training.staff_edit")
def employee_step(employee_id: int, change: str):
    what = change
    found = load_employee(employee_id)
    if request.method == "GET":
        return redirect(url_for("training.employee", employee_id=found.id))
    if is_own(found):
        return _refuse_own(found)
    if what == "move":
        form = forms.MoveForm(stores=open_store_choices(found.franchisee_id), positions=position_choices(found.position_id))
    else:
        form = forms.LeaveForm()
    forms_given = {what: form}
    if form.validate_on_submit():
        if form.version.data != found.version:
            # What was typed stays in the form, now against the record as it is (Back then Save).
            form.version.data, form.version.raw_data = found.version, [str(found.version)]
            flash(_("Someone else changed this employee meanwhile; the page shows what is on file now and your "
                    "entry is kept below. Check it and save again."), "warning")
            return _render_employee(found, 409, **forms_given)
        try:
            if what == "move":
                store = get_scoped_or_404(Store, form.store_id.data)
                records.move(found, store, form.position_id.data, form.moved_on.data, form.note.data, current_user)
                audit_trail.record("employee.moved", actor=current_user, target=found,
                                   details={"store_id": store.id, "position_id": form.position_id.data})
                message = _("Move recorded.")
            else:
                records.leave(found, form.left_on.data, current_user)
                audit_trail.record("employee.left", actor=current_user, target=found)
                message = _("Leaving recorded; the employee is no longer counted in the team.")
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("training.employee", employee_id=found.id))
        except RuleError as error:
            db.session.rollback()
            found = load_employee(employee_id)
            (form.store_id if what == "move" else form.left_on).errors.append(str(error))
    return _render_employee(found, 422, **forms_given)
