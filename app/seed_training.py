"""Demo store teams and training (issue 11): every store gets a team sized about its norm (one
store short of it), the store people with a login are linked to an employee, and the past year's
sessions are entered through the real service, so that certificates, expiring and expired ones,
overdue onboarding and the store figures are what the portal itself would have recorded. One
generator per store code: the same demo every run; a store with staff is left alone."""
import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Course, Employee, Store, TrainingSession, User
from app.models.base import local_today
from app.security.tenancy import unscoped
from app.services.training import defaults, records, sessions

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力鹏宇浩晨欣悦佳怡雪梅琳婷倩雯瑶子轩涵睿博"
SIZES = {0: "large", 1: "medium", 2: "small"}
TRAINERS = ["总部培训部 陈老师", "总部客户体验部 林老师", "外聘讲师 周老师", "店长 内训"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def seed_teams(stores: list[Store]) -> int:
    """Each store's team (before the customer files, whose salespeople they are)."""
    today = local_today()
    created = 0
    with unscoped():
        positions = defaults.install(today - timedelta(days=400))
        if db.session.scalar(select(func.count(Employee.id))):
            return 0
        by_store = {}
        for index, store in enumerate(sorted(stores, key=lambda s: s.code)):
            rng = random.Random(f"team-{store.code}")
            store.size = SIZES[index % 3]
            team = []
            for code, norm in defaults.NORMS.items():
                count = norm[store.size]
                if index == 1 and code == "SALES":
                    count -= 2  # one store short of its norm, listed under Teams
                for n in range(count):
                    hired = today - timedelta(days=rng.randint(20, 1500) if n or code != "SALES" else rng.randint(10, 40))
                    team.append(Employee(store_id=store.id, franchisee_id=store.franchisee_id, name=_name(rng),
                                         position_id=positions[code].id, hire_date=hired,
                                         phone=f"13{rng.randint(100000000, 999999999)}"))
            # A leaver, kept in the register.
            team.append(Employee(store_id=store.id, franchisee_id=store.franchisee_id, name=_name(rng),
                                 position_id=positions["SALES"].id, hire_date=today - timedelta(days=700),
                                 status="left", left_on=today - timedelta(days=60)))
            db.session.add_all(team)
            by_store[store.id] = team
            created += len(team)
        db.session.flush()
        for employee in [e for team in by_store.values() for e in team]:
            employee.staff_no = records.next_staff_no(employee)
        # Store people with a login are employees too: the manager and the staff member.
        for user in db.session.scalars(select(User).where(User.role.in_(("store_manager", "store_staff")))):
            if not user.stores:
                continue
            team = by_store.get(user.stores[0].id)
            if not team:
                continue
            wanted = "MGR" if user.role == "store_manager" else "SALES"
            match = next((e for e in team if e.position_id == positions[wanted].id and e.user_id is None
                          and e.status != "left"), None)
            if match is not None:
                match.name, match.user_id = user.display_name, user.id
        db.session.flush()
        records.refresh([e.id for team in by_store.values() for e in team], today=today)
    return created


def seed_training(stores: list[Store]) -> int:
    """The past year's sessions and results, and the appraisals (after complaints and audits,
    whose data the appraisal proposes from)."""
    today = local_today()
    created = 0
    with unscoped():
        courses = {c.code: c for c in db.session.scalars(select(Course))}
        if db.session.scalar(select(func.count(TrainingSession.id))):
            return 0
        actor = db.session.scalar(select(User).where(User.role == "hq_admin").order_by(User.id))
        # The past year's sessions: each course about every quarter, for all stores; scores
        # mostly pass, a few fail; some older certificates expire within weeks or have expired.
        rng = random.Random("training-sessions")
        plan = [("C01", 330), ("C02", 370), ("C03", 300), ("C04", 200), ("C05", 340), ("C06", 120), ("C02", 40),
                ("C03", 25), ("C04", 15), ("C01", 60), ("C07", 150), ("C05", 30)]
        for number, (code, days_ago) in enumerate(plan):
            course = courses[code]
            held = today - timedelta(days=days_ago)
            session = TrainingSession(course_id=course.id, held_on=held, trainer=TRAINERS[number % len(TRAINERS)],
                                      online=course.kind == "online",
                                      place=None if course.kind == "online" else "总部培训中心 3 楼",
                                      created_by_id=actor.id if actor else None)
            db.session.add(session)
            db.session.flush()
            session.reference = sessions.reference_of(session)
            sessions.invite(session, [s.id for s in stores])
            db.session.flush()
            required = {r.position_id for r in course.requirements}
            entries = []
            for employee in sessions.participants(session):
                if employee.position_id not in required or rng.random() < 0.25:
                    continue
                attended = rng.random() > 0.08
                score = ""
                if attended and course.pass_mark:
                    score = str(Decimal(rng.randint(course.pass_mark - 15, 100)))
                entries.append(sessions.Entry(employee.id, attended, score, "迟到 10 分钟" if rng.random() < 0.05 else ""))
            errors, _changed = sessions.record(session, entries, actor, today=today)
            assert not errors, errors
            created += 1 + len(entries)
        # One upcoming session, results still to come.
        upcoming = TrainingSession(course_id=courses["C04"].id, held_on=today + timedelta(days=9), trainer=TRAINERS[1],
                                   place="总部培训中心 2 楼", created_by_id=actor.id if actor else None)
        db.session.add(upcoming)
        db.session.flush()
        upcoming.reference = sessions.reference_of(upcoming)
        sessions.invite(upcoming, [s.id for s in stores])
        db.session.flush()
        records.nightly(today)
        created += _seed_appraisals(stores, actor, today)
    return created


def _seed_appraisals(stores, actor, today) -> int:
    """Last half-year appraised and closed, with rewards and a penalty; this half-year open."""
    from app.models import AppraisalPeriod
    from app.services.training import appraisals

    half = 1 if today.month <= 6 else 2
    last_year, last_half = (today.year, 1) if half == 2 else (today.year - 1, 2)
    starts = date(last_year, 1, 1) if last_half == 1 else date(last_year, 7, 1)
    ends = date(last_year, 6, 30) if last_half == 1 else date(last_year, 12, 31)
    previous = AppraisalPeriod(kind="half", starts_on=starts, ends_on=ends)
    current = AppraisalPeriod(kind="half", starts_on=date(today.year, 1 if half == 1 else 7, 1),
                              ends_on=date(today.year, 6, 30) if half == 1 else date(today.year, 12, 31))
    db.session.add_all([previous, current])
    db.session.flush()
    indicators = appraisals.indicators()
    rng = random.Random("appraisals")
    created = 0
    comments = ["服务热情，顾客多次表扬", "处理投诉及时，需加强产品知识", "服务效率有待提高", "团队协作好，带教新人"]
    for employee in db.session.scalars(select(Employee).where(Employee.status != "left", Employee.hire_date <= ends)
                                       .order_by(Employee.id)):
        proposals = appraisals.propose(employee, previous)
        scores = {i.id: (proposals[i.id].score if i.id in proposals and proposals[i.id].score is not None
                         else Decimal(rng.randint(62, 98))) for i in indicators}
        saved = appraisals.save(employee, previous, scores, rng.choice(comments), actor)
        created += 1
        if saved.rating == "A" and rng.random() < 0.5:
            appraisals.add_incentive(employee, "reward", rng.choice(("material", "non_material")),
                                     "半年度服务之星", None, ends + timedelta(days=10), actor, saved)
        elif saved.rating == "D":
            appraisals.add_incentive(employee, "penalty", "non_material", "服务态度问题，约谈并安排复训", None,
                                     ends + timedelta(days=10), actor, saved)
    previous.closed = True
    db.session.flush()
    return created
