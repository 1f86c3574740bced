"""The demo network: headquarters, 3 franchisees, 8 stores, one account per role.

Every row is looked up by its natural key first, so running the seed twice
adds nothing. Later features add their demo data here.
"""
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Franchisee, Region, Store, StoreOwnership, User
from app.models.base import local_today
from app.security.passwords import hash_password

REGIONS = [
    ("EAST", "华东区"),
    ("NORTH", "华北区"),
    ("SOUTH", "华南区"),
]

FRANCHISEES = [
    # key, name, legal entity, contract, start, end, owner, phone, e-mail
    ("A", "悦家生活（华东）", "上海悦家商贸有限公司", "FR-2019-001", date(2019, 3, 1), date(2029, 2, 28), "王建国", "13816620231", "wangjg@yuejia-sh.cn"),
    ("B", "德顺连锁（京津）", "北京德顺商业管理有限公司", "FR-2020-007", date(2020, 6, 1), date(2030, 5, 31), "李秀英", "13901127765", "lixy@deshun-bj.cn"),
    ("C", "和美家居（岭南）", "广州和美贸易有限公司", "FR-2022-012", date(2022, 1, 1), date(2027, 12, 31), "陈志明", "13602239918", "chenzm@hemei-gz.cn"),
]

STORES = [
    # code, name, region, city, address, opened, franchisee key
    ("SH001", "上海徐汇店", "EAST", "上海", "上海市徐汇区漕溪北路88号1楼", date(2019, 5, 18), "A"),
    ("HZ001", "杭州西湖店", "EAST", "杭州", "杭州市西湖区文三路259号", date(2020, 9, 1), "A"),
    ("SU001", "苏州园区店", "EAST", "苏州", "苏州市工业园区星海街200号", date(2021, 4, 16), "A"),
    ("NJ001", "南京新街口店", "EAST", "南京", "南京市秦淮区中山南路1号", date(2019, 11, 8), "A"),
    ("BJ001", "北京朝阳店", "NORTH", "北京", "北京市朝阳区建国路93号万达广场B座", date(2020, 8, 8), "B"),
    ("TJ001", "天津和平店", "NORTH", "天津", "天津市和平区南京路219号", date(2021, 10, 1), "B"),
    ("GZ001", "广州天河店", "SOUTH", "广州", "广州市天河区天河路385号", date(2022, 3, 12), "C"),
    ("SZ001", "深圳福田店", "SOUTH", "深圳", "深圳市福田区深南中路3037号", date(2022, 7, 1), "C"),
]
# NJ001 opened under A and passed to B: demonstrates ownership history.
TRANSFERS = [("NJ001", "B", date(2024, 7, 1), "原加盟商调整经营区域，门店整体转让")]

USERS = [
    # username, name, role, franchisee, stores, regions, department
    ("hq-admin", "王敏", "hq_admin", None, [], [], None),
    ("hq-auditor", "张蕾", "hq_auditor", None, [], [], None),
    ("hq-supervisor", "刘强", "hq_supervisor", None, [], ["EAST"], None),
    ("hq-dept", "赵静", "hq_department", None, [], [], "customer_service"),
    ("hq-logistics", "钱磊", "hq_department", None, [], [], "logistics"),
    ("hq-viewer", "孙伟", "hq_viewer", None, [], [], None),
    ("shopper-1", "周婷", "mystery_shopper", None, [], [], None),
    ("owner-a", "王建国", "franchise_owner", "A", [], [], None),
    ("owner-b", "李秀英", "franchise_owner", "B", [], [], None),
    ("owner-c", "陈志明", "franchise_owner", "C", [], [], None),
    ("manager-a1", "陈晓东", "store_manager", "A", ["SH001"], [], None),
    ("staff-a1", "吴倩", "store_staff", "A", ["SH001"], [], None),
]


def _get_or_create(model, lookup: dict, **values):
    obj = db.session.scalar(select(model).filter_by(**lookup))
    if obj is None:
        obj = model(**lookup, **values)
        db.session.add(obj)
        db.session.flush()
        return obj, True
    return obj, False


def seed_demo(password: str, only_if_empty: bool = False) -> str:
    """Create what is missing of the demo data; returns a one-line summary. Does not commit."""
    if only_if_empty and db.session.scalar(select(func.count(User.id))):
        return "database already has users; demo seed skipped"
    created = 0
    regions = {}
    for code, name in REGIONS:
        regions[code], new = _get_or_create(Region, {"code": code}, name=name)
        created += new
    franchisees = {}
    for key, name, entity, contract, start, end, owner, phone, email in FRANCHISEES:
        franchisees[key], new = _get_or_create(
            Franchisee,
            {"contract_no": contract},
            name=name,
            legal_entity=entity,
            contract_start=start,
            contract_end=end,
            owner_name=owner,
            owner_phone=phone,
            owner_email=email,
        )
        created += new
    stores = {}
    for code, name, region, city, address, opened, owner in STORES:
        stores[code], new = _get_or_create(
            Store,
            {"code": code},
            name=name,
            region_id=regions[region].id,
            city=city,
            address=address,
            opened_on=opened,
            franchisee_id=franchisees[owner].id,
        )
        if new:
            db.session.add(StoreOwnership(store_id=stores[code].id, franchisee_id=franchisees[owner].id, start_on=opened))
            created += 1
    for code, to, effective, note in TRANSFERS:
        store = stores[code]
        if store.franchisee_id != franchisees[to].id:
            current = db.session.scalar(
                select(StoreOwnership).where(StoreOwnership.store_id == store.id, StoreOwnership.end_on.is_(None))
            )
            current.end_on = date.fromordinal(effective.toordinal() - 1)
            db.session.add(StoreOwnership(store_id=store.id, franchisee_id=franchisees[to].id, start_on=effective, note=note))
            store.franchisee_id = franchisees[to].id
    for username, name, role, fkey, store_codes, region_codes, department in USERS:
        if db.session.scalar(select(User).where(User.username == username)):
            continue
        db.session.add(
            User(
                username=username,
                display_name=name,
                email=f"{username}@demo.cx-portal.cn",
                role=role,
                password_hash=hash_password(password),
                franchisee_id=franchisees[fkey].id if fkey else None,
                stores=[stores[c] for c in store_codes],
                regions=[regions[c] for c in region_codes],
                department=department,
            )
        )
        created += 1
    db.session.flush()
    from app.seed_training import seed_teams, seed_training

    created += seed_teams([stores[code] for code, *_ in STORES])
    from app.seed_customers import seed_customers

    created += seed_customers([stores[code] for code, *_ in STORES])
    from app.seed_complaints import seed_complaints

    created += seed_complaints([stores[code] for code, *_ in STORES])
    from app.seed_audits import seed_audits

    created += seed_audits([stores[code] for code, *_ in STORES])
    created += seed_training([stores[code] for code, *_ in STORES])
    from app.seed_surveys import seed_surveys

    created += seed_surveys([stores[code] for code, *_ in STORES])
    from app.seed_surveys import seed_kpis

    created += seed_kpis()
    from app.seed_logistics import seed_logistics

    created += seed_logistics()
    from app.seed_loyalty import seed_loyalty

    created += seed_loyalty()
    from app.seed_governance import seed_governance, seed_improvement

    created += seed_governance()
    created += seed_improvement()
    created += _seed_report_schedules()
    return f"demo seed: {created} records created"


def _seed_report_schedules() -> int:
    """Two half-yearly report schedules (issue 13, R56): every store's evaluation report to its
    franchise owner and customer service, the network summary to the committee. Nothing is
    printed at seed time (the demo's half-year is not over); the reports page prints on demand."""
    from app.models.report import ReportSchedule
    from app.services import kpis

    if db.session.scalar(select(ReportSchedule.id).limit(1)) is not None:
        return 0
    done = kpis.previous(kpis.period_of(local_today()))  # the half-year already over: next one runs
    db.session.add_all([
        ReportSchedule(kind="store", language="zh_Hans", to_owners=True, departments=["customer_service"],
                       last_period=done),
        ReportSchedule(kind="network", language="zh_Hans", to_owners=False, to_committee=True, last_period=done),
    ])
    db.session.flush()
    return 2
