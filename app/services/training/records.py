"""The staff register and what the requirement matrix asks of each employee (issue 11).

``refresh_employees`` keeps one ``EmployeeCourse`` row per employee and required course: the
deadline while it is not done (the requirement's days from the hire date for an onboarding
course, from taking up the post otherwise, and never before the requirement was set), the
certificate's expiry once done. ``refresh_stores`` keeps each store's ``StoreTeamStats``.
Views call them after a change; the nightly job runs them for every store, as dates move."""
import calendar
from collections import defaultdict
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, delete, func, select, update

from app.extensions import db
from app.models import (
    Certificate, Course, CourseRequirement, Employee, EmployeeCourse, EmployeeMove, StaffingNorm, Store,
    StoreTeamStats, User,
)
from app.models.base import local_today
from app.security.tenancy import unscoped
from app.services import RuleError

EXPIRING_DAYS = 60  # a certificate expiring within this many days is listed "expires soon"
CHUNK = 500


class TrainingError(RuleError):
    """A training or staff rule the user's input broke; the message says which."""


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def state_of(done_on: date | None, needed_by: date | None, today: date) -> str:
    """valid, expiring, due, overdue or expired (models.training.COURSE_STATES)."""
    if done_on is not None:
        if needed_by is None:
            return "valid"
        if needed_by < today:
            return "expired"
        return "expiring" if needed_by <= today + timedelta(days=EXPIRING_DAYS) else "valid"
    return "overdue" if needed_by is not None and needed_by < today else "due"


def _chunks(ids):
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def refresh_employees(employee_ids, today: date | None = None) -> set[int]:
    """Recompute the required courses of these employees; returns the stores touched (whose
    figures ``refresh_stores`` then updates)."""
    today = today or local_today()
    stores = set()
    with unscoped():
        requirements = defaultdict(list)
        for requirement, course_owner, onboarding in db.session.execute(
                select(CourseRequirement, Course.franchisee_id, Course.onboarding)
                .join(Course, Course.id == CourseRequirement.course_id).where(Course.active.is_(True))):
            requirements[requirement.position_id].append((requirement, course_owner, onboarding))
        for ids in _chunks(employee_ids):
            employees = db.session.scalars(select(Employee).where(Employee.id.in_(ids))).all()
            latest = {}
            for cert in db.session.scalars(select(Certificate).where(
                    Certificate.employee_id.in_(ids), Certificate.revoked.is_(False))
                    .order_by(Certificate.issued_on, Certificate.id)):
                latest[(cert.employee_id, cert.course_id)] = cert
            in_post = dict(db.session.execute(
                select(EmployeeMove.employee_id, func.max(EmployeeMove.moved_on)).where(
                    EmployeeMove.employee_id.in_(ids), EmployeeMove.to_position_id != EmployeeMove.from_position_id)
                .group_by(EmployeeMove.employee_id)).all())
            existing = {(row.employee_id, row.course_id): row for row in db.session.scalars(
                select(EmployeeCourse).where(EmployeeCourse.employee_id.in_(ids)))}
            for employee in employees:
                stores.add(employee.store_id)
                wanted = set()
                if employee.status != "left":
                    for requirement, course_owner, onboarding in requirements.get(employee.position_id, ()):
                        if course_owner is not None and course_owner != employee.franchisee_id:
                            continue
                        wanted.add(requirement.course_id)
                        cert = latest.get((employee.id, requirement.course_id))
                        if cert is not None:
                            done_on, needed_by, cert_id = cert.issued_on, cert.expires_on, cert.id
                        else:
                            start = employee.hire_date if onboarding else max(
                                employee.hire_date, in_post.get(employee.id) or employee.hire_date)
                            done_on, cert_id = None, None
                            needed_by = max(start, requirement.since) + timedelta(days=requirement.within_days)
                        row = existing.get((employee.id, requirement.course_id))
                        if row is None:
                            row = EmployeeCourse(employee_id=employee.id, course_id=requirement.course_id)
                            db.session.add(row)
                        row.store_id, row.franchisee_id = employee.store_id, employee.franchisee_id
                        if (row.done_on, row.needed_by) != (done_on, needed_by):
                            row.notified_on = None  # a new deadline or expiry is told again
                        row.done_on, row.needed_by, row.certificate_id = done_on, needed_by, cert_id
                for (employee_id, course_id), row in existing.items():
                    if employee_id == employee.id and course_id not in wanted:
                        db.session.delete(row)
            db.session.flush()
    return stores


def refresh_stores(store_ids, today: date | None = None) -> None:
    """Each store's team and training figures (``StoreTeamStats``), from the stored rows."""
    today = today or local_today()
    soon = today + timedelta(days=EXPIRING_DAYS)
    ec = EmployeeCourse
    with unscoped():
        norms = defaultdict(dict)
        for norm in db.session.scalars(select(StaffingNorm)):
            norms[norm.store_size][norm.position_id] = norm.headcount
        for ids in _chunks(store_ids):
            courses = {row.store_id: row for row in db.session.execute(
                select(ec.store_id, func.count().label("required"),
                       func.sum(case((and_(ec.done_on.is_not(None), (ec.needed_by.is_(None)) | (ec.needed_by >= today)),
                                      1), else_=0)).label("done"),
                       func.sum(case((and_(ec.done_on.is_(None), ec.needed_by >= today), 1), else_=0)).label("due"),
                       func.sum(case((ec.needed_by < today, 1), else_=0)).label("overdue"),
                       func.sum(case((and_(ec.done_on.is_not(None), ec.needed_by >= today, ec.needed_by <= soon), 1),
                                     else_=0)).label("expiring"))
                .where(ec.store_id.in_(ids)).group_by(ec.store_id))}
            heads = defaultdict(dict)
            for store_id, position_id, count in db.session.execute(
                    select(Employee.store_id, Employee.position_id, func.count())
                    .where(Employee.store_id.in_(ids), Employee.status != "left")
                    .group_by(Employee.store_id, Employee.position_id)):
                heads[store_id][position_id] = count
            existing = {row.store_id: row for row in db.session.scalars(
                select(StoreTeamStats).where(StoreTeamStats.store_id.in_(ids)))}
            for store_id, franchisee_id, size, status in db.session.execute(
                    select(Store.id, Store.franchisee_id, Store.size, Store.status).where(Store.id.in_(ids))):
                row = existing.get(store_id)
                if row is None:
                    row = StoreTeamStats(store_id=store_id, franchisee_id=franchisee_id)
                    db.session.add(row)
                row.franchisee_id = franchisee_id
                have = heads.get(store_id, {})
                short = {} if status == "closed" else {
                    str(position_id): [have.get(position_id, 0), norm]
                    for position_id, norm in norms.get(size, {}).items() if have.get(position_id, 0) < norm}
                row.staff = sum(have.values())
                row.short_positions = short
                row.shortfall = sum(norm - got for got, norm in short.values())
                figures = courses.get(store_id)
                row.required = figures.required if figures else 0
                row.done = int(figures.done or 0) if figures else 0
                row.due = int(figures.due or 0) if figures else 0
                row.overdue = int(figures.overdue or 0) if figures else 0
                row.expiring = int(figures.expiring or 0) if figures else 0
                row.computed_on = today
            db.session.flush()


def refresh(employee_ids, also_stores=(), today: date | None = None) -> None:
    """After a change to these employees (and these stores): their courses, then the stores."""
    stores = refresh_employees(employee_ids, today) | set(also_stores)
    refresh_stores(stores, today)


def nightly(today: date | None = None) -> int:
    """Every store's figures (a certificate expiring or a deadline passing changes them without
    any edit). Returns the number of stores."""
    with unscoped():
        ids = db.session.scalars(select(Store.id)).all()
    refresh_stores(ids, today)
    return len(ids)


def next_staff_no(employee: Employee) -> str:
    return f"YG{employee.id:06d}"


def create(employee: Employee, actor: User | None) -> Employee:
    """A new employee of a store (the store's franchisee is theirs)."""
    store = db.session.get(Store, employee.store_id)
    if store is None or store.status == "closed":
        raise TrainingError(str(_l("Choose an open store.")))
    employee.franchisee_id = store.franchisee_id
    if employee.hire_date and employee.hire_date > local_today() + timedelta(days=90):
        raise TrainingError(str(_l("The hire date is more than 90 days ahead.")))
    db.session.add(employee)
    db.session.flush()
    if not employee.staff_no:
        employee.staff_no = next_staff_no(employee)
    refresh([employee.id])
    return employee


def move(employee: Employee, store: Store, position_id: int, moved_on: date, note: str | None,
         actor: User | None) -> EmployeeMove:
    """Move an employee to another store of the same franchisee, or to another post (or both);
    kept in the history. Their certificates and required courses go with them."""
    if employee.status == "left":
        raise TrainingError(str(_l("This employee has left; record a new hire instead.")))
    if store.franchisee_id != employee.franchisee_id:
        raise TrainingError(str(_l("An employee moves only between stores of the same franchisee. A move to "
                                   "another franchisee is a leaving and a new hire there.")))
    if store.status == "closed":
        raise TrainingError(str(_l("Choose an open store.")))
    if store.id == employee.store_id and position_id == employee.position_id:
        raise TrainingError(str(_l("Choose another store or another position: nothing would change.")))
    if moved_on < employee.hire_date or moved_on > local_today() + timedelta(days=90):
        raise TrainingError(str(_l("The date of the move must be after the hire date and at most 90 days ahead.")))
    old_store = employee.store_id
    record = EmployeeMove(employee_id=employee.id, store_id=store.id, franchisee_id=store.franchisee_id,
                          from_store_id=employee.store_id, from_position_id=employee.position_id,
                          to_position_id=position_id, moved_on=moved_on, note=(note or "").strip() or None,
                          moved_by_id=actor.id if actor else None)
    db.session.add(record)
    employee.store_id, employee.position_id = store.id, position_id
    db.session.flush()
    if old_store != store.id:
        with unscoped():
            for model in (Certificate, EmployeeCourse):
                db.session.execute(update(model).where(model.employee_id == employee.id)
                                   .values(store_id=store.id).execution_options(synchronize_session=False))
    refresh([employee.id], also_stores=[old_store, store.id])
    return record


def leave(employee: Employee, left_on: date, actor: User | None) -> None:
    """The employee left: out of the headcount and of the gap lists; their record stays."""
    if employee.status == "left":
        raise TrainingError(str(_l("This employee has already left.")))
    if left_on < employee.hire_date:
        raise TrainingError(str(_l("The leaving date is before the hire date.")))
    employee.status, employee.left_on = "left", left_on
    if employee.user_id:
        with unscoped():
            db.session.execute(update(User).where(User.id == employee.user_id).values(active=False)
                               .execution_options(synchronize_session=False))
    db.session.flush()
    refresh([employee.id])


def refresh_positions(position_ids, today: date | None = None, commit=None) -> int:
    """The matrix or the norms changed: every employee in these positions is recomputed, a slice
    per transaction when ``commit`` is given, then every store's figures. Returns the staff count."""
    with unscoped():
        ids = db.session.scalars(select(Employee.id).where(
            Employee.position_id.in_(list(position_ids)), Employee.status != "left").order_by(Employee.id)).all()
        for start in range(0, len(ids), CHUNK):
            refresh_employees(ids[start:start + CHUNK], today)
            if commit:
                commit()
        nightly(today)
    return len(ids)


def start_refresh(position_ids=()) -> None:
    """``refresh_positions`` out of the request, once the change is committed: a course required
    of sales consultants recomputes 30,000 of them in a large network (≈ 50 s, measured)."""
    from app import jobs

    if jobs.runs_inline():
        refresh_positions(position_ids)
        return
    jobs.start_command("training", "refresh", "--positions", ",".join(str(p) for p in sorted(set(position_ids))))


def delete_requirement_rows(course_id: int) -> None:
    """A course taken out of use: its rows leave the gap lists (recomputed by the caller)."""
    with unscoped():
        db.session.execute(delete(EmployeeCourse).where(EmployeeCourse.course_id == course_id)
                           .execution_options(synchronize_session=False))
