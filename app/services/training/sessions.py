"""Training sessions: the stores invited, attendance and assessment scores per participant,
pass or fail from the course's pass mark, and certificates with their expiry (issue 11, R36)."""
from dataclasses import dataclass
from datetime import date
import re
import unicodedata
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext
from sqlalchemy import select

from app.extensions import db
from app.models import Attendance, Certificate, Employee, SessionStore, Store, TrainingSession, User
from app.models.base import local_today, utcnow
from app.security.tenancy import unscoped
from app.services.training.records import TrainingError, add_months, refresh

MAX_SCORE = Decimal(100)


@dataclass
class Entry:
    """One participant's line as typed: present or not, the score (text, as typed), a note."""

    employee_id: int
    attended: bool
    score: str = ""
    note: str = ""


def reference_of(session: TrainingSession) -> str:
    return f"PX{session.held_on:%Y}{session.id:05d}"


def invite(session: TrainingSession, store_ids) -> None:
    """Set the stores invited (a franchisee's own session: only its stores)."""
    wanted = set(store_ids)
    if not wanted:
        raise TrainingError(str(_l("Invite at least one store.")))
    stores = db.session.scalars(select(Store).where(Store.id.in_(wanted))).all()
    if len(stores) != len(wanted):
        raise TrainingError(str(_l("One of the stores chosen is not yours to invite.")))
    if session.franchisee_id is not None and any(s.franchisee_id != session.franchisee_id for s in stores):
        raise TrainingError(str(_l("A franchisee's own session invites only its own stores.")))
    have = {row.store_id: row for row in session.invited}
    for store in stores:
        if store.id not in have:
            session.invited.append(SessionStore(store_id=store.id, franchisee_id=store.franchisee_id))
    for store_id, row in have.items():
        if store_id not in wanted:
            if db.session.scalar(select(Attendance.id).where(Attendance.session_id == session.id,
                                                             Attendance.store_id == store_id).limit(1)):
                raise TrainingError(str(_l("A store whose staff already have results cannot be taken off the "
                                           "session.")))
            session.invited.remove(row)


def participants(session: TrainingSession) -> list[Employee]:
    """Who may attend: the staff of the invited stores (that the reader may see) hired by the
    day, and anyone already recorded."""
    store_ids = [row.store_id for row in session.invited]
    recorded = select(Attendance.employee_id).where(Attendance.session_id == session.id)
    return db.session.scalars(select(Employee).where(
        ((Employee.store_id.in_(store_ids)) & (Employee.status != "left") & (Employee.hire_date <= session.held_on))
        | Employee.id.in_(recorded)).order_by(Employee.store_id, Employee.name, Employee.id)).all()


def parse_score(text: str, places: int = 1) -> Decimal | None:
    """A score of 0-100 with at most ``places`` decimals, as typed; None when empty;
    TrainingError otherwise (saying the rule, trial 13: "77.25" was refused as out of range)."""
    text = unicodedata.normalize("NFKC", text or "").strip().replace(",", ".")  # ８５ or 85,5 as typed
    if not text:
        return None
    shape = re.fullmatch(r"(\d{1,3})(\.(\d+))?", text)  # digits only: not "1e2", "NaN", "-1" or 25 digits
    if not shape or Decimal(text) > MAX_SCORE:
        raise TrainingError(str(_l("Enter a score from 0 to 100.")))
    if shape.group(3) and len(shape.group(3).rstrip("0")) > places:
        raise TrainingError(str(ngettext("At most %(num)d decimal place.", "At most %(num)d decimal places.", places)))
    return Decimal(text).quantize(Decimal(1).scaleb(-places))


def _safe_score(text):
    try:
        return parse_score(text)
    except TrainingError:
        return text


def record(session: TrainingSession, entries: list[Entry], actor: User,
           today: date | None = None) -> tuple[dict[int, str], int]:
    """Save the results of these participants: all or nothing. Returns the errors by employee
    id (nothing saved when there are any) and how many lines changed."""
    today = today or local_today()
    if session.status == "cancelled":
        raise TrainingError(str(_l("This session was cancelled.")))
    if session.held_on > today:
        raise TrainingError(str(_l("Results are entered on or after the day of the session.")))
    allowed = {e.id: e for e in participants(session)}
    course = session.course
    existing = {a.employee_id: a for a in db.session.scalars(
        select(Attendance).where(Attendance.session_id == session.id))}
    errors, parsed = {}, []
    for entry in entries:
        employee = allowed.get(entry.employee_id)
        if employee is None:
            errors[entry.employee_id] = str(_l("Not on the staff of a store invited to this session."))
            continue
        if employee.user_id is not None and employee.user_id == actor.id:
            mine = existing.get(employee.id)
            if mine is None or (mine.attended, mine.score, (mine.note or "")) != (
                    entry.attended, _safe_score(entry.score), (entry.note or "").strip()):
                errors[entry.employee_id] = str(_l("Nobody enters their own result: the trainer or a manager does."))
                continue
        try:
            score = parse_score(entry.score)
        except TrainingError as error:
            errors[entry.employee_id] = str(error)
            continue
        if score is not None and not entry.attended:
            errors[entry.employee_id] = str(_l("A score is only for someone who attended."))
            continue
        note = (entry.note or "").strip()
        if len(note) > 300:
            errors[entry.employee_id] = str(_l("At most %(max)d characters.", max=300))
            continue
        parsed.append((employee, entry.attended, score, note or None))
    if errors:
        return errors, 0
    changed, touched = 0, []
    now = utcnow()
    for employee, attended, score, note in parsed:
        row = existing.get(employee.id)
        if row is None:
            if not attended and score is None and not note:
                continue  # an untouched line of someone who did not come: nothing to keep
            row = Attendance(session_id=session.id, employee_id=employee.id, store_id=employee.store_id,
                             franchisee_id=employee.franchisee_id)
            db.session.add(row)
        elif (row.attended, row.score, row.note) == (attended, score, note):
            continue
        passed = None
        if attended:
            if course.pass_mark is None:
                passed = True
            elif score is not None:
                passed = score >= course.pass_mark
        row.attended, row.score, row.note, row.passed = attended, score, note, passed
        row.recorded_by_id, row.recorded_at = actor.id, now
        db.session.flush()
        _certify(row, session, employee)
        changed += 1
        touched.append(employee.id)
    if changed:
        # A franchisee entering its staff's results of a headquarters session marks the session
        # held: a change to headquarters' row made on its behalf.
        with unscoped():
            session.status = "held"
            session.results_at = now
            db.session.flush()
        refresh(touched, today=today)
    return {}, changed


def _certify(row: Attendance, session: TrainingSession, employee: Employee) -> None:
    """A pass earns a certificate (valid for the course's months); a pass taken back revokes it."""
    with unscoped():
        cert = db.session.scalar(select(Certificate).where(Certificate.attendance_id == row.id))
        if row.passed:
            course = session.course
            expires = add_months(session.held_on, course.validity_months) if course.validity_months else None
            if cert is None:
                cert = Certificate(attendance_id=row.id, employee_id=employee.id, course_id=course.id,
                                   store_id=employee.store_id, franchisee_id=employee.franchisee_id,
                                   number=f"ZS{session.held_on:%Y}{row.id:07d}", issued_on=session.held_on)
                db.session.add(cert)
            cert.revoked, cert.expires_on, cert.issued_on = False, expires, session.held_on
        elif cert is not None:
            cert.revoked = True


def cancel(session: TrainingSession) -> None:
    if session.status == "held":
        raise TrainingError(str(_l("A session with results cannot be cancelled.")))
    session.status = "cancelled"
