"""The large network's teams and training (issue 11): ``seed large`` gives every store without
staff a team of 50 (50,000 for the default 1,000 stores), headquarters' sessions of the last two
years for every store, 6 results per employee (300,000) with the certificates they earn, the
per-employee course rows and the store figures, computed by the portal's own rules
(services/training/records.py). A generator of its own (``random.Random(seed + 11)``); Core
inserts in batches. ``flask --app wsgi seed large-training`` adds them to an existing large
database."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    Attendance, Certificate, Course, CourseRequirement, Employee, EmployeeCourse, SessionStore, Store,
    TrainingSession, User,
)
from app.models.base import local_today, utcnow
from app.security.tenancy import unscoped
from app.services.training import defaults, records

PER_STORE = 50
RESULTS_PER_EMPLOYEE = 6
SESSIONS_PER_COURSE = 12  # every two months over two years
BATCH = 5_000
# Of a store's 50: the post mix of a large store.
MIX = (("MGR", 2), ("SALES", 30), ("CASH", 6), ("CS", 6), ("TECH", 6))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力鹏宇浩晨欣悦佳怡雪梅琳婷倩雯瑶子轩涵睿博"


def _insert(model, rows) -> None:
    if rows:
        db.session.execute(insert(model), rows)
        rows.clear()


def load(seed: int, progress, end_transaction, today: date | None = None, per_store: int = PER_STORE) -> tuple[int, int]:
    """Teams and training for the stores without staff; returns (employees, results)."""
    today = today or local_today()
    now = utcnow().replace(microsecond=0)
    with unscoped():
        positions = defaults.install(today - timedelta(days=800))
        end_transaction()
        stores = db.session.execute(select(Store.id, Store.franchisee_id).where(
            Store.status == "open", Store.id.not_in(select(Employee.store_id).distinct())).order_by(Store.id)).all()
        if not stores or per_store <= 0:
            return 0, 0
        rng = random.Random(seed + 11)
        courses = {c.id: c for c in db.session.scalars(select(Course).where(Course.active.is_(True),
                                                                           Course.franchisee_id.is_(None)))}
        requirements = defaultdict(list)
        for r in db.session.scalars(select(CourseRequirement)):
            if r.course_id in courses:
                requirements[r.position_id].append(r)
        actor = db.session.scalar(select(User.id).where(User.role == "hq_admin").order_by(User.id))
        # Headquarters' sessions: each course every two months for two years, for every store.
        next_session = (db.session.scalar(select(func.max(TrainingSession.id))) or 0) + 1
        sessions, by_course = [], defaultdict(list)
        for course in courses.values():
            for n in range(SESSIONS_PER_COURSE):
                held = today - timedelta(days=730 - n * 61 - rng.randint(0, 20))
                sessions.append({"id": next_session, "reference": f"PX{held:%Y}{next_session:05d}", "course_id": course.id,
                                 "held_on": held, "trainer": "总部培训部", "place": None if course.kind == "online" else "区域培训中心",
                                 "online": course.kind == "online", "status": "held", "franchisee_id": None,
                                 "created_by_id": actor, "results_at": now, "version": 1, "created_at": now,
                                 "updated_at": now, "note": None})
                by_course[course.id].append((next_session, held))
                next_session += 1
        session_count = len(sessions)
        _insert(TrainingSession, sessions)
        invited = [{"session_id": sid, "store_id": store_id, "franchisee_id": franchisee_id}
                   for sids in by_course.values() for sid, _ in sids for store_id, franchisee_id in stores]
        for start in range(0, len(invited), BATCH):
            db.session.execute(insert(SessionStore), invited[start:start + BATCH])
        end_transaction()
        progress(f"training sessions: {session_count:,}, {len(invited):,} invitations")
        next_employee = (db.session.scalar(select(func.max(Employee.id))) or 0) + 1
        next_attendance = (db.session.scalar(select(func.max(Attendance.id))) or 0) + 1
        next_cert = (db.session.scalar(select(func.max(Certificate.id))) or 0) + 1
        employees, attendance, certs, rows = [], [], [], []
        results = employee_count = 0
        for store_id, franchisee_id in stores:
            for code, count in MIX:
                position = positions[code]
                for _n in range(count * per_store // PER_STORE or (1 if code == "MGR" else 0)):
                    employee_id = next_employee
                    next_employee += 1
                    employee_count += 1
                    hired = today - timedelta(days=rng.randint(5, 2500))
                    employees.append({"id": employee_id, "staff_no": f"YG{employee_id:06d}", "store_id": store_id,
                                      "franchisee_id": franchisee_id,
                                      "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                                      "position_id": position.id, "hire_date": hired, "status": "active", "left_on": None,
                                      "phone": f"13{rng.randint(100000000, 999999999)}", "user_id": None, "note": None,
                                      "version": 1, "created_at": now, "updated_at": now})
                    required = requirements.get(position.id, [])
                    latest = {}
                    taken = rng.sample(required, min(len(required), RESULTS_PER_EMPLOYEE)) if required else []
                    while len(taken) < RESULTS_PER_EMPLOYEE and required:
                        taken.append(rng.choice(required))  # a retake
                    attended_sessions = set()
                    for requirement in taken:
                        course = courses[requirement.course_id]
                        options = [(sid, held) for sid, held in by_course[course.id]
                                   if held >= hired and sid not in attended_sessions]
                        if not options:
                            continue
                        session_id, held = rng.choice(options)
                        attended_sessions.add(session_id)
                        score = Decimal(rng.randint((course.pass_mark or 70) - 20, 100)) if course.pass_mark else None
                        passed = score is None or score >= course.pass_mark
                        attendance.append({"id": next_attendance, "session_id": session_id, "employee_id": employee_id,
                                           "store_id": store_id, "franchisee_id": franchisee_id, "attended": True,
                                           "score": score, "passed": passed, "note": None, "recorded_by_id": actor,
                                           "recorded_at": now, "version": 1})
                        if passed:
                            expires = records.add_months(held, course.validity_months) if course.validity_months else None
                            certs.append({"id": next_cert, "number": f"ZS{held:%Y}{next_attendance:07d}",
                                          "employee_id": employee_id, "course_id": course.id,
                                          "attendance_id": next_attendance, "issued_on": held, "expires_on": expires,
                                          "revoked": False, "store_id": store_id, "franchisee_id": franchisee_id,
                                          "created_at": now})
                            if course.id not in latest or latest[course.id][0] <= held:
                                latest[course.id] = (held, expires, next_cert)
                            next_cert += 1
                        next_attendance += 1
                        results += 1
                    for requirement in required:
                        course = courses[requirement.course_id]
                        if requirement.course_id in latest:
                            done_on, needed_by, cert_id = latest[requirement.course_id]
                        else:
                            done_on, cert_id = None, None
                            needed_by = max(hired, requirement.since) + timedelta(days=requirement.within_days)
                        rows.append({"employee_id": employee_id, "course_id": requirement.course_id, "store_id": store_id,
                                     "franchisee_id": franchisee_id, "done_on": done_on, "needed_by": needed_by,
                                     "certificate_id": cert_id, "notified_on": None})
            if len(attendance) >= BATCH:
                _insert(Employee, employees)
                _insert(Attendance, attendance)
                _insert(Certificate, certs)
                _insert(EmployeeCourse, rows)
                end_transaction()
                progress(f"staff: {employee_count:,}, results {results:,}")
        _insert(Employee, employees)
        _insert(Attendance, attendance)
        _insert(Certificate, certs)
        _insert(EmployeeCourse, rows)
        end_transaction()
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            for table in ("employee", "attendance", "certificate", "training_session", "session_store", "employee_course"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            end_transaction()
        records.nightly(today)
        end_transaction()
        progress(f"team figures: {len(stores):,} stores")
        return employee_count, results
