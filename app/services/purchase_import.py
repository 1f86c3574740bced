"""Purchase-history import: a migrated customer base arrives with its purchases, so its
figures (category, grade, tier, churn) start from the real history, not "potential / C".

The same job, checks and rules as the customer import (services/customer_import.py): the file
is checked in the background, nothing is written until the uploader confirms, then every row
is written or none; problems and outcomes are reported per row in the reader's language.

A row names its customer by customer code (in the row's store, or the import's store) or by
mobile (within the store's franchisee), and gives date, amount and items; product type,
channel and points are optional (points default to the rule, as at the counter). Imported
purchases earn their points and update the figures, but make no after-sale care tasks: they
are history, and a return visit for a purchase of years ago helps nobody.
"""
import json
import time
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from app.database import write_transaction
from app.extensions import db
from app.i18n import _m, stored
from app.models import Customer, CustomerImport, Purchase, User
from app.models.base import local_today, utcnow
from app.models.customer import PRODUCT_TYPES, PURCHASE_CHANNELS
from app.security.tenancy import unscoped
from app.services import audit, rollups
from app.services import customer_analytics as analytics
from app.services import customer_fields as fields
from app.services import customer_import as common
from app.services.customers import points_for
from app.services.loyalty import ledger
from app.text import fold_width

COLUMNS = {
    "store_code": ("门店编码", "门店代码", "门店", "store code", "store"),
    "code": ("客户编码", "客户代码", "顾客代码", "customer code", "code"),
    "mobile": ("手机", "手机号", "手机号码", "mobile", "mobile phone"),
    "purchased_on": ("消费日期", "购买日期", "日期", "date", "purchase date"),
    "amount": ("金额", "消费金额", "amount"),
    "items": ("商品", "商品名称", "items", "item"),
    "product_type": ("产品类型", "商品类型", "product type"),
    "channel": ("渠道", "购买渠道", "channel"),
    "points": ("积分", "获得积分", "points"),
}
TEMPLATE_HEADERS = ("门店编码", "客户编码", "手机", "消费日期", "金额", "商品", "产品类型", "渠道", "积分")
_HEADER_INDEX = {common._fold(alias): key for key, aliases in COLUMNS.items() for alias in aliases}
_CHOICES = {"product_type": PRODUCT_TYPES, "channel": PURCHASE_CHANNELS}
_WORDS = {"channel": {"门店": "in_store", "到店": "in_store", "线上": "online", "网店": "online", "电话": "phone",
                      "微信": "wechat"},
          "product_type": {}}
ROWS_PER_INSERT = 1000


def _map_headers(header: list) -> dict[str, int]:
    mapping = {}
    for index, cell in enumerate(header):
        key = _HEADER_INDEX.get(common._fold(cell))
        if key and key not in mapping:
            mapping[key] = index
    missing = [key for key in ("purchased_on", "amount", "items") if key not in mapping]
    if missing or ("code" not in mapping and "mobile" not in mapping):
        raise common.ImportFileError(_m(
            "A purchase file needs the columns 消费日期 (date), 金额 (amount), 商品 (items) and 客户编码 "
            "(customer code) or 手机 (mobile)."))
    return mapping


def _rows(job, path):
    rows = common.iter_rows(path, job.file_kind, job.encoding)
    try:
        header = next(rows)[1]
    except StopIteration:
        raise common.ImportFileError(_m("The file is empty.")) from None
    mapping = _map_headers(header)
    limit = current_app.config["IMPORT_MAX_ROWS"]
    for number, row in rows:
        if number > limit + 1:
            raise common.ImportFileError(_m("The file has more than %(max)d rows; split it into smaller files.", max=limit))
        if not any(str(v).strip() for v in row if v is not None):
            continue
        yield number, {key: (row[index] if index < len(row) else None) for key, index in mapping.items()}


def _choice(key: str, value):
    return common.choice_code(value, _CHOICES[key], _WORDS[key])


def _amount(value) -> Decimal:
    """A purchase amount: 0.01 to 99,999,999, in yuan and fen (no third decimal)."""
    text = fold_width(value).strip().replace(",", "").lstrip("¥￥")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise fields.FieldError(_m("Enter an amount in yuan, e.g. 5000.00.")) from None
    if not amount.is_finite() or amount < Decimal("0.01") or amount > 99_999_999:
        raise fields.FieldError(_m("Enter an amount between 0.01 and 99,999,999."))
    if amount != amount.quantize(Decimal("0.01")):
        raise fields.FieldError(_m("An amount has at most two decimals (fen)."))
    return amount


class PurchaseChecker:
    """Finds each row's customer in the stores in scope and checks its values.

    Customers are looked up per store (codes) and per franchisee (mobiles) the first time a row
    names them, each in a short read of its own."""

    def __init__(self, stores: dict[str, common.StoreRef], default_store: common.StoreRef):
        self.stores, self.default_store = stores, default_store
        self.by_code: dict[tuple[int, str], tuple[int, int]] = {}  # (store, code) -> (customer, store)
        # (franchisee, mobile) -> every active customer with it: duplicates share a phone.
        self.by_mobile: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
        self._stores_read: set[int] = set()
        self._franchisees_read: set[int] = set()
        self.today = local_today()

    def _read(self, store: common.StoreRef) -> None:
        active = (Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None))
        if store.id not in self._stores_read:
            for code, cid in db.session.execute(select(Customer.code, Customer.id).where(Customer.store_id == store.id, *active)):
                self.by_code[(store.id, code)] = (cid, store.id)
            self._stores_read.add(store.id)
        if store.franchisee_id not in self._franchisees_read:
            for mobile, cid, store_id, code in db.session.execute(
                    select(Customer.mobile, Customer.id, Customer.store_id, Customer.code).where(
                        Customer.franchisee_id == store.franchisee_id, Customer.mobile.is_not(None), *active)):
                self.by_mobile.setdefault((store.franchisee_id, mobile), []).append((cid, store_id, code))
            self._franchisees_read.add(store.franchisee_id)
        db.session.commit()

    def check(self, number: int, cells: dict) -> tuple[dict, list]:
        errors, data = [], {}

        take = common.cell_reader(cells, errors)
        store = common.store_of_row(cells, self.stores, self.default_store, errors)
        self._read(store)
        code = str(cells.get("code") or "").strip().upper()
        mobile = take("mobile", fields.normalise_mobile)
        found = None
        owners = self.by_mobile.get((store.franchisee_id, mobile), []) if mobile else []
        if code:
            found = self.by_code.get((store.id, code))
            if found is None:
                errors.append(("code", _m("No customer %(code)s in store %(store)s.", code=code, store=store.code)))
            elif mobile and found[0] not in {cid for cid, _s, _c in owners}:
                # Code and mobile name two customers (or the mobile nobody): which one bought?
                errors.append(("mobile", _m("Customer %(code)s does not have the mobile number %(mobile)s.",
                                            code=code, mobile=mobile)))
        elif mobile:
            if not owners:
                errors.append(("mobile", _m("No customer of this franchisee has the mobile number %(mobile)s.",
                                            mobile=mobile)))
            elif len(owners) > 1:
                errors.append(("mobile", _m("Several customers have the mobile number %(mobile)s (%(codes)s): give the "
                                            "customer code.", mobile=mobile,
                                            codes=", ".join(sorted(c for _i, _s, c in owners)))))
            else:
                found = owners[0][:2]
        else:
            errors.append(("code", _m("Give the customer code or the mobile number.")))
        if found is not None:
            data["customer_id"], data["store_id"] = found
        day = take("purchased_on", fields.parse_date, required=True)
        if day is not None and day > self.today:
            errors.append(("purchased_on", _m("A purchase cannot be in the future.")))
        elif day is not None and day.year < 2000:
            errors.append(("purchased_on", _m("Purchases before 2000 are not recorded.")))
        data["purchased_on"] = day
        data["amount"] = take("amount", _amount, required=True)
        data["items"] = take("items", lambda v: fields.normalise_text(v, 200), required=True)
        data["product_type"] = take("product_type", lambda v: _choice("product_type", v))
        data["channel"] = take("channel", lambda v: _choice("channel", v)) or "in_store"
        data["points"] = take("points", common._whole_number)
        data["franchisee_id"] = store.franchisee_id
        return data, errors


def _checker(job) -> PurchaseChecker:
    stores = common._scope_stores()
    default = next((s for s in stores.values() if s.id == job.store_id), None)
    if default is None:
        raise common.ImportFileError(_m("The store of this import is closed or no longer yours."))
    return PurchaseChecker(stores, default)


def validate(job: CustomerImport) -> dict:
    """Pass 1: check every row, keep the problems, write nothing."""
    job = common._snapshot(job)
    path = common.import_dir() / job.stored_as
    progress = common._Progress(job, "validating", path)
    checker = _checker(job)
    shown, total, bad = [], 0, 0
    with open(common.errors_path(job), "w", encoding="utf-8") as report:
        for number, cells in _rows(job, path):
            total += 1
            errors = checker.check(number, cells)[1]
            if errors:
                bad += 1
                for column, message in errors:
                    line = [number, COLUMNS[column][0], stored(message)]
                    report.write(json.dumps(line, ensure_ascii=False) + "\n")
                    if len(shown) < common.SHOWN_ERRORS:
                        shown.append(line)
            if total % 1000 == 0:
                progress.update(total)
    if total == 0:
        raise common.ImportFileError(_m("The file has a header row but no purchases."))
    return {"total_rows": total, "error_rows": bad, "errors": shown, "state": "invalid" if bad else "ready"}


def import_rows(job: CustomerImport, actor: User) -> dict:
    """Pass 2: check again, then write every purchase in one transaction; the customers' points
    follow in it, their figures and the stores' roll-ups right after."""
    job = common._snapshot(job)
    actor_id, job_id, filename = actor.id, job.id, job.filename
    path = common.import_dir() / job.stored_as
    progress = common._Progress(job, "importing", path)
    checker = _checker(job)
    rules = analytics.get_rules()
    now = utcnow()
    rows, outcomes = [], []
    for number, cells in _rows(job, path):
        data, errors = checker.check(number, cells)
        if errors:
            raise common.ImportFileError(_m("Row %(row)d no longer passes the checks; check the file again.", row=number))
        points = data.pop("points")
        earned = points if points is not None else points_for(data["amount"], rules)
        rows.append({**data, "points_earned": earned, "over_limit": False, "created_by_id": actor_id,
                     "created_at": now, "updated_at": now})
        outcomes.append((number, data["customer_id"]))
        if len(rows) % 5000 == 0:
            progress.update(len(rows))
    common._write_progress(job, "writing", len(rows), 1.0)
    customer_ids = sorted({row["customer_id"] for row in rows})
    with write_transaction(db.session):
        for start in range(0, len(rows), ROWS_PER_INSERT):
            db.session.execute(Purchase.__table__.insert(), rows[start:start + ROWS_PER_INSERT])
        points = {}
        for row in rows:
            points[row["customer_id"]] = points.get(row["customer_id"], 0) + row["points_earned"]
        table = Customer.__table__
        db.session.execute(
            table.update().where(table.c.id == bindparam("p_id")).values(points=table.c.points + bindparam("p_points")),
            [{"p_id": cid, "p_points": n} for cid, n in points.items()])
        # The points ledger (issue 14): an earn entry for each imported purchase with points.
        for start in range(0, len(customer_ids), 5000):
            ledger.backfill(rules, Customer.id.in_(customer_ids[start:start + 5000]))
        db.session.execute(update(CustomerImport).where(CustomerImport.id == job_id)
                           .values(state="done", imported_rows=len(rows)))
        audit.record("purchases.imported", actor=db.session.get(User, actor_id),
                     target=db.session.get(CustomerImport, job_id),
                     details={"file": filename, "rows": len(rows), "customers": len(customer_ids)})
    _write_row_report(job, outcomes)
    started = time.perf_counter()
    with unscoped():
        for start in range(0, len(customer_ids), 5000):
            with write_transaction(db.session):
                analytics.refresh(customer_ids[start:start + 5000])
        months = db.session.execute(
            select(Purchase.store_id, func.min(Purchase.purchased_on), func.max(Purchase.purchased_on))
            .where(Purchase.created_at == now, Purchase.created_by_id == actor_id).group_by(Purchase.store_id)).all()
        db.session.commit()
        for store_id, first, last in months:
            with write_transaction(db.session):
                rollups.refresh_stores([store_id])
                rollups.refresh_months({(store_id, m) for m in _months(first, last)})
    current_app.logger.info("purchase import %s: %d rows, figures and roll-ups in %.1f s", job_id, len(rows),
                            time.perf_counter() - started)
    return {"state": "done", "imported_rows": len(rows)}


def _months(first: date, last: date):
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year * 100 + month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _write_row_report(job, outcomes) -> None:
    codes = {}
    ids = sorted({cid for _n, cid in outcomes})
    with unscoped():
        for start in range(0, len(ids), 5000):
            codes.update(db.session.execute(select(Customer.id, Customer.code).where(
                Customer.id.in_(ids[start:start + 5000]))).all())
        db.session.commit()
    with open(common.rows_path(job), "w", encoding="utf-8") as report:
        for number, cid in outcomes:
            report.write(json.dumps([number, codes.get(cid, ""), "purchase"], ensure_ascii=False) + "\n")


def template_csv() -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(["", "SH001-000001", "", "2024-03-18", "2599.00", "布艺沙发", "家具", "门店", ""])
    writer.writerow(["", "", "13800138000", "2025-11-02", "399.00", "乳胶枕", "床品家纺", "微信", ""])
    return buffer.getvalue().encode("utf-8-sig")

