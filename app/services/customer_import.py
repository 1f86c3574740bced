"""Customer import from CSV or Excel: checked in full first, then written all or nothing.

The file is read as a stream in both passes (``csv`` over a text wrapper,
openpyxl in read-only mode), so a 100,000-row file never sits in memory at
once. The work runs outside the web request, in ``flask customers run-import``,
and writes its progress to a small file beside the upload that the status
page reads.

Transactions are short: the rows are checked and prepared with no transaction
open, then written in one transaction (multi-row INSERTs: a row at a time, the
name search index costs 20–60 s per 100,000 rows on SQLite), which is what
makes the import all or nothing. Duplicates, care tasks and roll-ups of the
new customers follow in short transactions of their own; should the process
die between the two, the nightly job brings them up to date.
"""
import csv
import io
import json
import os
import pickle
import resource
import tempfile
import time
import sys
import unicodedata
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from dataclasses import dataclass
from types import SimpleNamespace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask import current_app
from flask_babel import format_number
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError

from app import jobs, spreadsheets
from app.database import write_transaction
from app.extensions import db
from app.i18n import Message, _m, force_locale, stored
from app.models import Customer, CustomerImport, CustomerSequence, Store, User
from app.models.base import local_date, local_today, utcnow
from app.models.customer import CONSENT_METHODS, CUSTOMER_TYPES, GENDERS, RELATIONSHIPS, SOURCES
from app.services import RuleError, audit
from app.services import customer_analytics as analytics
from app.services import customer_fields as fields
from app.security.tenancy import unscoped

# Canonical column -> accepted headers (compared after folding case, width and spaces).
COLUMNS = {
    "store_code": ("门店编码", "门店代码", "门店", "store code", "store"),
    "code": ("客户编码", "客户代码", "顾客代码", "customer code", "code"),
    "name": ("姓名", "客户名称", "名称", "name", "customer name"),
    "gender": ("性别", "gender", "sex"),
    "birthday": ("生日", "出生日期", "birthday", "date of birth"),
    "mobile": ("手机", "手机号", "手机号码", "mobile", "mobile phone", "phone"),
    "landline": ("固定电话", "座机", "电话", "landline", "telephone"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail"),
    "address": ("地址", "address"),
    "postal_code": ("邮编", "邮政编码", "postal code", "postcode", "zip"),
    "customer_type": ("客户类型", "顾客类型", "customer type", "type"),
    "source": ("来源", "来源渠道", "source"),
    "relationship_type": ("关系类型", "客户关系类型", "relationship type", "relationship"),
    "occupation": ("职业", "occupation"),
    "interests": ("兴趣爱好", "兴趣", "interests"),
    "habits": ("习惯", "购买与联系习惯", "habits"),
    "tags": ("标签", "tags"),
    "notes": ("备注", "notes"),
    "consent": ("同意保存联系方式", "同意", "consent"),
    "consent_date": ("同意日期", "consent date"),
    "consent_method": ("同意方式", "consent method"),
    "consent_purpose": ("同意用途", "告知用途", "consent purpose"),
    "points": ("积分", "会员积分", "points"),
    "commission_code": ("佣金码", "commission code"),
    "tax_no": ("税号", "税则", "tax number", "tax no"),
    "credit_record": ("付款信用记录", "信用记录", "credit record"),
    "sales_limit": ("销售限额", "sales limit"),
    "delivery_address": ("交货地址", "交货地", "delivery address"),
    "invoice_address": ("发票地址", "发票寄往地", "invoice address"),
}
# The header row of the downloadable template, in the order shown.
TEMPLATE_HEADERS = ("门店编码", "客户编码", "姓名", "性别", "生日", "手机", "固定电话", "邮箱", "地址", "邮编", "客户类型",
                    "来源", "关系类型", "职业", "兴趣爱好", "习惯", "标签", "备注", "同意保存联系方式", "同意日期", "同意方式",
                    "同意用途", "积分", "佣金码", "税号", "付款信用记录", "销售限额", "交货地址", "发票地址")
# The export writes these columns, headed in the reader's language (both are accepted headers),
# so an exported file imports again; its figures follow in columns the import ignores.
EXPORT_COLUMNS = (
    ("store_code", "门店编码", "store code"), ("code", "客户编码", "customer code"), ("name", "姓名", "name"),
    ("gender", "性别", "gender"), ("birthday", "生日", "birthday"), ("mobile", "手机", "mobile"),
    ("landline", "固定电话", "landline"), ("email", "邮箱", "email"), ("address", "地址", "address"),
    ("postal_code", "邮编", "postal code"), ("customer_type", "客户类型", "customer type"), ("source", "来源", "source"),
    ("relationship_type", "关系类型", "relationship type"), ("occupation", "职业", "occupation"),
    ("interests", "兴趣爱好", "interests"), ("habits", "习惯", "habits"), ("tags", "标签", "tags"),
    ("notes", "备注", "notes"), ("consent", "同意保存联系方式", "consent"), ("consent_date", "同意日期", "consent date"),
    ("consent_method", "同意方式", "consent method"), ("consent_purpose", "同意用途", "consent purpose"),
    ("points", "积分", "points"), ("commission_code", "佣金码", "commission code"), ("tax_no", "税号", "tax number"),
    ("credit_record", "付款信用记录", "credit record"), ("sales_limit", "销售限额", "sales limit"),
    ("delivery_address", "交货地址", "delivery address"), ("invoice_address", "发票地址", "invoice address"),
)
# Cells an export masked for a reader without access to contact details (138****5678,
# w***@qq.com, ****): such a file imports with those cells empty, as if the column were blank.
MASKED = "****"
_MASK_MARK = "***"

_CHOICE_WORDS = {
    "gender": {"男": "male", "女": "female", "m": "male", "f": "female", "未知": "unknown", "保密": "unknown"},
    "customer_type": {"个人": "individual", "个人购买者": "individual", "经销商": "intermediary",
                      "中间商": "intermediary", "分销商": "intermediary", "dealer": "intermediary",
                      "制造商": "manufacturer", "企业": "manufacturer", "公司": "manufacturer",
                      "company": "manufacturer"},
    "source": {"到店": "walk_in", "门店": "walk_in", "推荐": "referral", "老客推荐": "referral", "线上": "online",
               "网站": "online", "电话": "phone", "活动": "event", "社交媒体": "social", "其他": "other"},
    "consent_method": {"纸质表格": "paper", "书面": "paper", "线上": "online", "电话": "phone", "微信": "wechat"},
    "relationship_type": {},
}
_CHOICES = {"gender": GENDERS, "customer_type": CUSTOMER_TYPES, "source": SOURCES, "consent_method": CONSENT_METHODS,
            "relationship_type": RELATIONSHIPS}
_YES = {"是", "同意", "y", "yes", "true", "1", "√"}
_NO = {"否", "不同意", "n", "no", "false", "0", ""}
SHOWN_ERRORS = 200


class ImportFileError(RuleError):
    """The upload as a whole cannot be read (type, encoding, headers)."""


def _fold(header) -> str:
    return "".join(unicodedata.normalize("NFKC", str(header or "")).casefold().replace("*", "").split())


_HEADER_INDEX = {_fold(alias): key for key, aliases in COLUMNS.items() for alias in aliases}


# --- reading the file ------------------------------------------------------------

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff_kind(path: Path) -> str:
    """'xlsx' or 'csv' from the content, whatever the file is called; else ImportFileError."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    unpacked = sum(entry.file_size for entry in archive.infolist())
                    limit = current_app.config["IMPORT_MAX_UNPACKED_MB"]
                    if unpacked > limit * 1024 * 1024:
                        raise ImportFileError(_m(
                            "This workbook unpacks to %(size)s MB, more than the %(limit)s MB allowed (often "
                            "thousands of empty formatted rows). Copy only the customer rows into a new workbook, "
                            "or save the sheet as CSV.", size=format_number(unpacked // (1024 * 1024)), limit=limit))
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        raise ImportFileError(_m("This file is not a spreadsheet. Upload a CSV file or an Excel .xlsx workbook."))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_m("This is an old Excel .xls file. Open it in Excel or WPS and save it as .xlsx, then upload again."))
    if head.startswith(UTF16_BOMS):  # Excel's "Unicode text" (tab-separated UTF-16)
        return "csv"
    if b"\x00" in head:
        raise ImportFileError(_m("This file is not a spreadsheet. Upload a CSV file or an Excel .xlsx workbook."))
    return "csv"


# Encodings a file from another region may come in, by what a user would call them.
_FOREIGN_ENCODINGS = {
    "cp932": "Shift-JIS (日本語)", "shift_jis": "Shift-JIS (日本語)", "euc_jp": "EUC-JP (日本語)",
    "euc_jis_2004": "EUC-JP (日本語)", "big5": "Big5 (繁體中文)", "big5hkscs": "Big5-HKSCS (繁體中文)",
    "cp949": "EUC-KR (한국어)", "euc_kr": "EUC-KR (한국어)", "johab": "Johab (한국어)",
}
_SAMPLE_BYTES = 1 << 16


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 (a superset of GBK) when the
    text reads as simplified Chinese. GB18030 decodes almost any bytes, so a Japanese Shift-JIS
    file came out as rare characters (山田太郎 stored as 嶳揷懢榊): when most characters fall
    outside the everyday set (GB2312), the file is refused, naming the encoding it looks like."""
    codecs = __import__("codecs")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        try:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    gb = codecs.getincrementaldecoder("gb18030")()
    with open(path, "rb") as fh:
        try:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                gb.decode(chunk)
            gb.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFileError(_m("The file's text encoding is neither UTF-8 nor GBK. Save it as CSV (UTF-8) and try again.")) from None
    with open(path, "rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if not _reads_as_simplified_chinese(sample.decode("gb18030", errors="ignore")):
        from charset_normalizer import from_bytes

        guess = from_bytes(sample).best()
        found = _FOREIGN_ENCODINGS.get(guess.encoding) if guess is not None else None
        if found:
            raise ImportFileError(_m("The file looks like %(encoding)s text, not UTF-8 or GBK: read as Chinese it "
                                    "would be garbled. Save it as CSV (UTF-8) and try again.", encoding=found))
    return "gb18030"


def _reads_as_simplified_chinese(text: str) -> bool:
    """Whether the Chinese characters are mostly everyday ones (GB2312): names and addresses
    are; text from another encoding read as GBK is mostly rare characters."""
    han = [ch for ch in text if "\u3400" <= ch <= "\u9fff"]
    if not han:
        return True
    # Real files: a list of names with rare ones (喆, 堃, 玥) is still more than half GB2312;
    # Shift-JIS read as GBK is almost none (0 of 18 in the test file).
    common = sum(1 for ch in han if _in_gb2312(ch))
    return common >= 0.5 * len(han)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def iter_rows(path: Path, kind: str, encoding: str | None):
    """Yield (row number, list of cell values), the header being row 1."""
    if kind == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged workbook
            raise ImportFileError(_m("The Excel file could not be opened; it may be damaged.")) from None
        try:
            for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
                yield number, list(row)
        finally:
            book.close()
        return
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.readline(1 << 20)
        fh.seek(0)
        delimiter = max((",", "\t", ";"), key=sample.count)
        reader = csv.reader(fh, delimiter=delimiter)
        number = 0
        try:
            inert = spreadsheets.from_csv_cell
            for number, row in enumerate(reader, start=1):
                yield number, [inert(cell) for cell in row] if any(cell.startswith("'") for cell in row) else row
        except csv.Error:  # "field larger than field limit": one cell of 30 MB, or no line breaks
            raise ImportFileError(_m("Row %(row)d has a cell longer than %(limit)s characters, so the file cannot be "
                                    "a customer list; check that it has one customer per line.",
                                    row=number + 1, limit=format_number(csv.field_size_limit()))) from None


def _map_headers(header: list) -> dict[str, int]:
    mapping = {}
    for index, cell in enumerate(header):
        key = _HEADER_INDEX.get(_fold(cell))
        if key and key not in mapping:
            mapping[key] = index
    if "name" not in mapping:
        raise ImportFileError(_m("No name column found. The first row must hold the column headers, e.g. 姓名 or name."))
    return mapping


# --- checking one row -----------------------------------------------------------------

_LABELS: dict[int, dict[str, str]] = {}  # by the choices dict (module constants)


def cell_reader(cells: dict, errors: list, required_message=None):
    """``take(column, convert, required=False)`` for one row: the cell converted, or None when
    empty or wrong (the problem goes to ``errors`` as (column, message))."""
    def take(column, convert, required=False):
        value = cells.get(column)
        if value is None or value == "" or (value.__class__ is str and not value.strip()):  # mostly empty
            if required:
                errors.append((column, _m("This column must be filled in.")))
            return None
        try:
            return convert(value)
        except fields.FieldError as error:
            errors.append((column, error.args[0]))
            return None
    return take


def store_of_row(cells: dict, stores: dict, default, errors: list):
    """The store a row names by its code (one of the open stores in scope), else the import's."""
    code = str(cells.get("store_code") or "").strip().upper()
    if not code:
        return default
    store = stores.get(code)
    if store is None:
        errors.append(("store_code", _m("Store %(code)s is not one of your open stores.", code=code)))
        return default
    return store


def choice_code(value, choices: dict, words: dict):
    """The code of a choice cell (both imports): the code itself, a common word for it
    (``words``), or its label in either language (an export in English imports too); None
    when empty. Anything else names the allowed labels."""
    text = _fold(value)
    if not text:
        return None
    if text in choices:
        return text
    if text in words:
        return words[text]
    labels = _LABELS.get(id(choices))
    if labels is None:
        labels = {}
        for locale in ("zh_Hans", "en"):
            with force_locale(locale):
                labels.update({_fold(str(label)): code for code, label in choices.items()})
        _LABELS[id(choices)] = labels
    if text in labels:
        return labels[text]
    allowed = "、".join(str(label) for label in choices.values())  # in the uploader's language
    raise fields.FieldError(_m("%(value)s is not one of the allowed values: %(allowed)s.", value=str(value).strip(),
                               allowed=allowed))


class RowChecker:
    """Validates rows against the stores in scope, the database and the rows seen before.

    The codes and mobiles already in the database are read per store and franchisee the first
    time a row names them: headquarters imports with the whole network in scope, and reading
    every code and mobile of 1,000,000 customers up front took 550 MB.
    """

    def __init__(self, stores: dict[str, "StoreRef"], default_store: "StoreRef", existing: str = "refuse"):
        self.stores = stores
        self.default_store = default_store
        self.existing = existing
        self.codes: set[tuple[int, str]] = set()
        # Customers already in the stores read, by (store, code): the rows that name them are
        # skipped or update them, as the import was told.
        self.on_file: dict[tuple[int, str], int] = {}
        self.file_codes: dict[tuple[int, str], int] = {}
        self.mobiles: dict[tuple[int, str], str] = {}
        self.file_mobiles: dict[tuple[int, str], int] = {}
        self._stores_read: set[int] = set()
        self._franchisees_read: set[int] = set()
        self.today = local_today()  # once: asked for every row's birthday and consent
        self.read_existing(default_store)

    def read_existing(self, store: "StoreRef") -> None:
        """The codes of ``store`` and the mobiles of its franchisee, once each; each read is a
        short transaction of its own, so none stays open while the file is read."""
        if store.id in self._stores_read and store.franchisee_id in self._franchisees_read:
            return
        if store.id not in self._stores_read:
            for code, customer_id in db.session.execute(
                    select(Customer.code, Customer.id).where(Customer.store_id == store.id)):
                self.codes.add((store.id, code))
                if self.existing != "refuse":
                    self.on_file[(store.id, code)] = customer_id
            self._stores_read.add(store.id)
        if store.franchisee_id not in self._franchisees_read:
            self.mobiles.update(((store.franchisee_id, mobile), code) for mobile, code in db.session.execute(
                select(Customer.mobile, Customer.code).where(
                    Customer.franchisee_id == store.franchisee_id, Customer.mobile.is_not(None),
                    Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None))))
            self._franchisees_read.add(store.franchisee_id)
        db.session.commit()

    def _choice(self, key, value):
        return choice_code(value, _CHOICES[key], _CHOICE_WORDS[key])

    def check(self, number: int, cells: dict) -> tuple[dict, list]:
        errors, data = [], {}
        cells = dict(cells)
        for column in ("mobile", "landline", "email", "address", "delivery_address", "invoice_address"):
            if _MASK_MARK in str(cells.get(column) or ""):
                cells[column] = None

        take = cell_reader(cells, errors)
        store = store_of_row(cells, self.stores, self.default_store, errors)
        self.read_existing(store)
        data["store"] = store
        code = str(cells.get("code") or "").strip().upper()
        existing_id = self.on_file.get((store.id, code)) if code else None
        stored = None
        if existing_id is not None:
            data["existing_id"], data["code"] = existing_id, code
            first = self.file_codes.setdefault((store.id, code), number)
            if first != number:
                errors.append(("code", _m("The same customer code is on row %(row)d.", row=first)))
                return data, errors
            if self.existing == "skip":
                return data, errors  # skipped: its other cells are neither checked nor written
            # Update: an empty cell keeps what is on file, so the row is checked as the whole
            # record it will be.
            stored = _stored_cells(existing_id)
            merged = {**stored, **{k: v for k, v in cells.items() if v is not None and str(v).strip() != ""}}
            cells.clear()  # in place: ``take`` reads this dict
            cells.update(merged)
        try:
            data["name"] = fields.clean_name(cells.get("name"))
        except fields.FieldError as error:
            errors.append(("name", error.args[0]))
            data["name"] = None
        if code and existing_id is None:
            if len(code) > 30:
                errors.append(("code", _m("At most %(max)d characters.", max=30)))
            elif (store.id, code) in self.codes:
                errors.append(("code", _m("Customer code %(code)s is already used in this store or file.", code=code)))
            else:
                self.codes.add((store.id, code))
            data["code"] = code
        birthday = take("birthday", fields.parse_date)
        data["birthday"] = take("birthday", lambda _v: fields.check_birthday(birthday, self.today)) if birthday else None
        mobile = take("mobile", fields.normalise_mobile)
        if mobile:
            key = (store.franchisee_id, mobile)
            # A mobile kept as it is on file is no new claim on it (duplicates that share a phone
            # export and import again as they are).
            own = stored is not None and mobile == stored.get("_mobile")
            if own:
                pass
            elif key in self.mobiles and not (existing_id is not None and self.mobiles[key] == code):
                errors.append(("mobile", _m("This mobile number already belongs to customer %(code)s.", code=self.mobiles[key])))
            elif key in self.file_mobiles:
                errors.append(("mobile", _m("The same mobile number is on row %(row)d.", row=self.file_mobiles[key])))
            else:
                self.file_mobiles[key] = number
        data["mobile"] = mobile
        data["landline"] = take("landline", fields.normalise_landline)
        data["email"] = take("email", fields.normalise_email)
        data["postal_code"] = take("postal_code", fields.normalise_postal_code)
        address = take("address", fields.address_with_divisions)
        data["address"], divisions = address if address else (None, fields.address_divisions(None))
        data.update(divisions)
        for column, limit in (("occupation", 60), ("interests", 200), ("habits", 200), ("tags", 200), ("notes", 2000),
                              ("commission_code", 20), ("tax_no", 30), ("credit_record", 200),
                              ("delivery_address", 200), ("invoice_address", 200)):
            data[column] = take(column, lambda v, limit=limit: fields.normalise_text(v, limit))
        for column in ("gender", "customer_type", "source", "consent_method", "relationship_type"):
            data[column] = take(column, lambda v, column=column: self._choice(column, v))
        consent_word = _fold(cells.get("consent"))
        if consent_word in _YES:
            data["consent"] = True
        elif consent_word in _NO:
            data["consent"] = False
        else:
            errors.append(("consent", _m("Write 是 or 否 (yes or no).")))
        data["consent_at"] = take("consent_date", fields.parse_date)
        data["consent_purpose"] = take("consent_purpose", lambda v: fields.normalise_text(v, 200))
        if stored is not None:
            data["stored_consent_at"] = stored["_consent_at"]  # kept to the second if the date is unchanged
        if "consent" in data:  # the form's rule (R61): consent with how, why and when; contacts only with it
            checked = data
            if stored is not None and not (stored["consent"] == "yes" and not data["consent"]):
                # As on the form: contact details already on file from before consent was enforced
                # stay; those the row adds or changes need consent (withdrawing it clears them all).
                checked = {k: v for k, v in data.items() if k not in fields.CONTACT_FIELDS or v != stored.get(f"_{k}")}
            errors.extend(fields.consent_problems(checked, self.today))
        data["points"] = take("points", _whole_number) or 0
        data["sales_limit"] = take("sales_limit", _money)
        return data, errors


def _stored_cells(customer_id: int) -> dict:
    """A customer on file as the cells of an import row (what an update row starts from), and
    their contact details as stored (``_mobile`` ...), to tell kept details from new ones."""
    customer = db.session.get(Customer, customer_id)
    cells = {
        "name": customer.name, "gender": customer.gender, "birthday": customer.birthday, "mobile": customer.mobile,
        "landline": customer.landline, "email": customer.email, "address": customer.address,
        "postal_code": customer.postal_code, "customer_type": customer.customer_type, "source": customer.source,
        "relationship_type": customer.relationship_type, "occupation": customer.occupation,
        "interests": customer.interests, "habits": customer.habits, "tags": customer.tags, "notes": customer.notes,
        "consent": "yes" if customer.consent else "no",
        "consent_date": local_date(customer.consent_at) if customer.consent_at else None,
        "consent_method": customer.consent_method, "consent_purpose": customer.consent_purpose,
        "points": str(customer.points), "commission_code": customer.commission_code, "tax_no": customer.tax_no,
        "credit_record": customer.credit_record,
        "sales_limit": str(customer.sales_limit) if customer.sales_limit is not None else None,
        "delivery_address": customer.delivery_address, "invoice_address": customer.invoice_address,
    }
    cells.update({f"_{name}": getattr(customer, name) for name in fields.CONTACT_FIELDS})
    cells["_consent_at"] = customer.consent_at
    db.session.expunge(customer)
    db.session.commit()  # no read transaction stays open while the file is read
    return cells


def _whole_number(value):
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip().replace(",", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise fields.FieldError(_m("Enter a whole number.")) from None
    if number != number.to_integral_value() or number < 0 or number > 100_000_000:
        raise fields.FieldError(_m("Enter a whole number.")) from None
    return int(number)


def _money(value):
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip().replace(",", "").lstrip("¥￥")
    if not text:
        return None
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise fields.FieldError(_m("Enter an amount in yuan, e.g. 5000.00.")) from None
    if amount < 0 or amount > 99_999_999:
        raise fields.FieldError(_m("Enter an amount between 0 and 99,999,999.")) from None
    return amount


# --- the job --------------------------------------------------------------------------

def import_dir() -> Path:
    path = Path(current_app.config["IMPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


EXISTING_CHOICES = ("refuse", "skip", "update")


IMPORT_KINDS = ("customers", "purchases")


def accept_upload(upload, store: Store, actor: User, existing: str = "refuse", holds: str = "customers") -> CustomerImport:
    """Store an uploaded file and create its job (state 'validating'); ``existing`` says what to
    do with rows naming a customer code the store already has (EXISTING_CHOICES), ``holds``
    whether the file lists customers or purchases (IMPORT_KINDS)."""
    stem = uuid.uuid4().hex
    path = import_dir() / f"{stem}.upload"
    upload.save(path)
    size = path.stat().st_size
    filename = (upload.filename or "upload")[-200:]
    try:
        if size == 0:
            raise ImportFileError(_m("The file is empty."))
        kind = sniff_kind(path)
        encoding = detect_encoding(path) if kind == "csv" else None
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise
    # openpyxl goes by the file name's extension.
    stored_as = f"{stem}.{kind}"
    path.rename(import_dir() / stored_as)
    job = CustomerImport(store_id=store.id, franchisee_id=store.franchisee_id, created_by_id=actor.id,
                         filename=filename, stored_as=stored_as, file_kind=kind, size=size, encoding=encoding,
                         existing=existing if existing in EXISTING_CHOICES else "refuse",
                         kind=holds if holds in IMPORT_KINDS else "customers")
    db.session.add(job)
    db.session.flush()
    audit.record("customers.import_uploaded", actor=actor, target=job,
                 details={"file": filename, "bytes": size, "existing": job.existing, "kind": job.kind})
    return job


def progress_path(job: CustomerImport) -> Path:
    return import_dir() / f"{job.stored_as}.progress"


def errors_path(job: CustomerImport) -> Path:
    return import_dir() / f"{job.stored_as}.errors.jsonl"


def column_label(header: str) -> str:
    """A column of a problem in the reader's language: problems store the Chinese header (the
    first accepted one); an English reader sees the English header the import also accepts."""
    from flask_babel import get_locale

    if not str(get_locale()).startswith("en"):
        return header
    from app.services import purchase_import

    for columns in (COLUMNS, purchase_import.COLUMNS):
        for aliases in columns.values():
            if aliases[0] == header:
                return next((a for a in aliases if a.isascii()), header)
    return header


def problem_report_rows(job: CustomerImport):
    """The error report as CSV rows in the language in force: a header, then row, column and
    problem for every problem found (the problem made inert if it quotes a formula)."""
    yield [str(_m("Row")), str(_m("Column")), str(_m("Problem"))]
    with open(errors_path(job), encoding="utf-8") as lines:
        for line in lines:
            number, column, message = json.loads(line)
            yield [number, column_label(column), spreadsheets.csv_cell(Message.text(message))]


def read_progress(job: CustomerImport) -> dict:
    try:
        return json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return {}


def _write_progress(job, phase: str, rows: int, fraction: float) -> None:
    tmp = progress_path(job).with_suffix(".tmp")
    tmp.write_text(json.dumps({"phase": phase, "rows": rows, "percent": round(min(fraction, 1.0) * 100)}))
    os.replace(tmp, progress_path(job))


class _Progress:
    """Rows done against the rows expected: counted lines for CSV, the sheet's size for Excel."""

    def __init__(self, job, phase, path):
        self.job, self.phase = job, phase
        self.expected = job.total_rows or self._estimate(path, job.file_kind)

    @staticmethod
    def _estimate(path, kind) -> int:
        if kind == "xlsx":
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            rows = book.worksheets[0].max_row or 0
            book.close()
        else:
            with open(path, "rb") as fh:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        return max(rows - 1, 1)

    def update(self, rows: int) -> None:
        _write_progress(self.job, self.phase, rows, rows / self.expected)


@dataclass(frozen=True)
class StoreRef:
    """What the checks need of a store, as plain values (valid after the transaction ends)."""

    id: int
    code: str
    franchisee_id: int


def _scope_stores() -> dict[str, StoreRef]:
    """Open stores in the active scope (the job's creator's), by code."""
    return {s.code: StoreRef(s.id, s.code, s.franchisee_id)
            for s in db.session.execute(select(Store.id, Store.code, Store.franchisee_id).where(Store.status == "open"))}


def _checker(job) -> "RowChecker":
    """A checker for the job's stores, after which the reading transaction ends: the file is
    read for seconds, and SQLite's log cannot be checkpointed past an open reader."""
    stores = _scope_stores()
    default = next((s for s in stores.values() if s.id == job.store_id), None)
    if default is None:
        raise ImportFileError(_m("The store of this import is closed or no longer yours."))
    return RowChecker(stores, default, job.existing)


def _rows(job, path):
    """Non-blank data rows as (row number, {column: value}); the header is checked first."""
    rows = iter_rows(path, job.file_kind, job.encoding)
    try:
        header = next(rows)[1]
    except StopIteration:
        raise ImportFileError(_m("The file is empty.")) from None
    mapping = _map_headers(header)
    limit = current_app.config["IMPORT_MAX_ROWS"]
    for number, row in rows:
        if number > limit + 1:  # blank rows count too: a sheet of a million empty rows is refused early
            raise ImportFileError(_m("The file has more than %(max)d rows; split it into smaller files.", max=limit))
        if not any(str(v).strip() for v in row if v is not None):
            continue
        yield number, {key: (row[index] if index < len(row) else None) for key, index in mapping.items()}


def _snapshot(job: CustomerImport) -> SimpleNamespace:
    """The job's values the passes need, as plain attributes: the passes end transactions as
    they go, and an expired job would start a new one at its next attribute read."""
    return SimpleNamespace(id=job.id, store_id=job.store_id, stored_as=job.stored_as, file_kind=job.file_kind,
                           encoding=job.encoding, total_rows=job.total_rows, filename=job.filename,
                           existing=job.existing)


def validate(job: CustomerImport) -> dict:
    """Pass 1: check every row, keep the errors, write nothing. Returns the job's new values
    (state 'ready' or 'invalid'), which ``run`` writes."""
    job = _snapshot(job)
    path = import_dir() / job.stored_as
    progress = _Progress(job, "validating", path)
    checker = _checker(job)
    shown, total, bad, on_file = [], 0, 0, 0
    limit = current_app.config["IMPORT_MAX_ROWS"]
    # Every problem as a line of JSON (row, column, message data): the download writes them as
    # CSV in the reader's language (problem_report_rows), not the uploader's.
    with open(errors_path(job), "w", encoding="utf-8") as report:
        for number, cells in _rows(job, path):
            total += 1
            if total > limit:
                raise ImportFileError(_m("The file has more than %(max)d rows; split it into smaller files.", max=limit))
            data, errors = checker.check(number, cells)
            on_file += "existing_id" in data
            if errors:
                bad += 1
                for column, message in errors:
                    line = [number, COLUMNS[column][0], stored(message)]  # shown with column_label
                    report.write(json.dumps(line, ensure_ascii=False) + "\n")
                    if len(shown) < SHOWN_ERRORS:
                        shown.append(line)
            if total % 1000 == 0:
                progress.update(total)
    if total == 0:
        raise ImportFileError(_m("The file has a header row but no customers."))
    # Before the import: how many rows name a customer on file (to be updated or skipped).
    planned = {"updated_rows": on_file if job.existing == "update" else 0,
               "skipped_rows": on_file if job.existing == "skip" else 0}
    return {"total_rows": total, "error_rows": bad, "errors": shown, "state": "invalid" if bad else "ready", **planned}


# Columns written for each imported row, in order; prepared rows are tuples of these.
_ROW_COLUMNS = (
    "store_id", "franchisee_id", "code", "name", "name_key", "gender", "birthday", "birthday_md", "mobile",
    "mobile_tail", "landline", "email", "address", "province", "city", "district", "postal_code", "customer_type", "source",
    "relationship_type", "occupation", "interests", "habits", "tags", "notes", "consent",
    "consent_at", "consent_method", "consent_purpose", "points", "commission_code", "tax_no", "credit_record", "sales_limit",
    "delivery_address", "invoice_address", "created_by_id", "updated_by_id", "created_at", "updated_at",
    "last_activity_on", "version", "clv", "category", "grade", "tier_id",
)
_CODE = _ROW_COLUMNS.index("code")
_STORE = _ROW_COLUMNS.index("store_id")
# Rows per INSERT statement: at most 500, and under SQLite's 32,766 bound parameters for the
# columns written (the file's and the defaulted ones: 54 at present, 27,000 parameters).
_ROWS_PER_INSERT = min(500, 32_000 // (len(_ROW_COLUMNS) + sum(
    1 for c in Customer.__table__.c if c.name not in _ROW_COLUMNS and c.default is not None and c.default.is_scalar)))


def import_rows(job: CustomerImport, actor: User) -> dict:
    """Pass 2: check the rows again and prepare them, then write them in one transaction.

    Returns the job's new values; ``run`` writes them after the derived figures are done.
    """
    job = _snapshot(job)
    actor_id, job_id, filename = actor.id, job.id, job.filename
    started = time.perf_counter()
    path = import_dir() / job.stored_as
    progress = _Progress(job, "importing", path)
    checker = _checker(job)
    now = utcnow()
    today = local_today()
    # Prepared rows wait in a temporary file, a chunk per pickle, not in memory (100 MB per 100,000).
    spool = _Spool()
    changes: list[dict] = []
    outcomes: list[tuple] = []
    try:
        stores_by_id = _prepare(job, path, checker, spool, progress, actor_id, now, changes, outcomes)
    except BaseException:
        spool.close()
        raise
    done = spool.count
    skipped = sum(1 for _n, _c, outcome in outcomes if outcome == "skipped")
    _write_progress(job, "writing", done, 1.0)
    prepared = time.perf_counter()

    try:
        with write_transaction(db.session):
            postgresql = db.session.get_bind().dialect.name == "postgresql"
            if postgresql:
                # New names go to the trigram index's pending list and are merged in one pass at
                # the end, rather than the list being flushed every 4 MB (≈ 40 % of the INSERT time
                # for 100,000 rows on the 1,000,000-customer database).
                db.session.execute(text("SET LOCAL gin_pending_list_limit = '128MB'"))
            insert = _RowInserter(stores_by_id, checker, outcomes)
            for chunk in spool.chunks():
                insert(chunk)
            _apply_updates(changes, actor_id, filename)
            if postgresql:
                db.session.execute(text("SELECT gin_clean_pending_list(to_regclass('ix_customer_name_trgm')) "
                                        "WHERE to_regclass('ix_customer_name_trgm') IS NOT NULL"))
            db.session.execute(update(CustomerImport).where(CustomerImport.id == job_id)
                               .values(state="done", imported_rows=done, updated_rows=len(changes), skipped_rows=skipped))
            audit.record("customers.imported", actor=db.session.get(User, actor_id), target=db.session.get(CustomerImport, job_id),
                         details={"file": filename, "rows": done, "updated": len(changes), "skipped": skipped})
    except IntegrityError as error:
        if "code" not in str(error.orig):
            raise
        # Someone gave a customer one of the file's codes after the check.
        raise ImportFileError(_m("Customers were added to these stores while the file was being imported; "
                                "check the file again.")) from None
    finally:
        spool.close()
    written = time.perf_counter()
    # Led by the stores, so each set-based step reads one store's index range, not every customer.
    imported = (Customer.store_id.in_(sorted(stores_by_id)) & (Customer.created_at == now)
                & (Customer.created_by_id == actor_id))
    _write_row_report(job, outcomes)
    _derived_state_of_import(imported, today, done)
    if changes:
        _derived_state_of_updates([change["_id"] for change in changes], today)
    current_app.logger.info("import %s: %d rows checked and prepared in %.1f s, written in %.1f s (the write "
                            "transaction), derived figures in %.1f s", job_id, done, prepared - started,
                            written - prepared, time.perf_counter() - written)
    return {"state": "done", "imported_rows": done, "updated_rows": len(changes), "skipped_rows": skipped}


def rows_path(job) -> Path:
    return import_dir() / f"{job.stored_as}.rows.jsonl"


def _write_row_report(job, outcomes) -> None:
    """What became of every row (created with its code, updated, skipped), for the row report."""
    with open(rows_path(job), "w", encoding="utf-8") as report:
        for number, code, outcome in sorted(outcomes):
            report.write(json.dumps([number, code, outcome], ensure_ascii=False) + "\n")


ROW_OUTCOMES = {"created": _m("New customer created"), "updated": _m("Updated"), "skipped": _m("Skipped: already on file"),
                "purchase": _m("Purchase added to the history")}


def row_report_rows(job):
    """The row report as CSV rows in the reader's language."""
    yield [str(_m("Row")), str(_m("Customer code")), str(_m("Outcome"))]
    with open(rows_path(job), encoding="utf-8") as lines:
        for line in lines:
            number, code, outcome = json.loads(line)
            yield [number, spreadsheets.csv_cell(code), str(ROW_OUTCOMES[outcome])]


def _apply_updates(changes: list[dict], actor_id: int, filename: str) -> None:
    """Write the update rows (inside the import's transaction): each is a change of the master
    record, so its version moves on (a colleague's open form then reports the conflict)."""
    if not changes:
        return
    table = Customer.__table__
    stmt = (table.update().where(table.c.id == bindparam("p_id"))
            .values({column: bindparam(f"p_{column}") for column in _UPDATED_COLUMNS} | {"version": table.c.version + 1}))
    actor = db.session.get(User, actor_id)
    for start in range(0, len(changes), 1000):
        batch = changes[start:start + 1000]
        db.session.execute(stmt, [{"p_id": c["_id"], **{f"p_{k}": c[k] for k in _UPDATED_COLUMNS}} for c in batch])
        # Each customer's trail says the import changed their file.
        loaded = db.session.scalars(select(Customer).where(Customer.id.in_([c["_id"] for c in batch]))).all()
        for customer in loaded:
            audit.record("customer.updated", actor=actor, target=customer, details={"import": filename})
        db.session.flush()
        for customer in loaded:  # 1,000 at a time, not the whole file in the identity map
            db.session.expunge(customer)


def _derived_state_of_updates(ids: list[int], today) -> None:
    """Figures (points decide tiers), duplicate pairs, consent on care tasks and roll-ups of the
    updated customers, a slice per short transaction."""
    from app.services import customer_care, customer_duplicates, rollups

    with unscoped():
        for start in range(0, len(ids), 2000):
            part = ids[start:start + 2000]
            with write_transaction(db.session):
                analytics.apply_rules(part, today=today)
                customer_duplicates.refresh_for(part)
                customer_care.sync_contactable(part)
        stores = db.session.scalars(select(Customer.store_id).where(Customer.id.in_(ids[:50_000])).distinct()).all()
        db.session.commit()
        for store_id in sorted(stores):
            with write_transaction(db.session):
                rollups.touch(store_id, today)


# What an update row writes: the master record's columns the import fills. Not the figures, and
# not the points: a customer on file earns them by purchases (and spends them in the loyalty
# programme), and an exported balance imported again would undo what was earned since.
_UPDATED_COLUMNS = tuple(c for c in _ROW_COLUMNS if c not in {
    "store_id", "franchisee_id", "code", "created_by_id", "created_at", "version", "clv", "category", "grade",
    "tier_id", "last_activity_on", "points"})


def _prepare(job, path, checker, spool, progress, actor_id, now, changes, outcomes) -> dict[int, StoreRef]:
    """Check each row again and spool it as the values to insert; returns the stores written to.
    Rows naming a customer on file go to ``changes`` (updates: id and values) or are only
    reported (skipped); ``outcomes`` gets (row, code, outcome) for them.

    Each row carries its figures as the rules make them for a customer without purchases
    (analytics' own rule functions): updating 100,000 fresh rows afterwards rewrote each row and
    its 18 index entries (PostgreSQL: 8-10 s of a 37 s import)."""
    today = local_today()
    rules, tier_list = analytics.get_rules(), analytics.tiers()
    clv = Decimal("0.00")  # no purchase yet: no expected return
    category, grade = analytics.category_for(0, 0, 0.0, 0, False, rules), analytics.grade_for(clv, rules)
    tier_by_points: dict[int, int | None] = {}
    stores_by_id: dict[int, StoreRef] = {}
    for number, cells in _rows(job, path):
        data, errors = checker.check(number, cells)
        if errors:  # the file or the data changed since it was checked
            raise ImportFileError(_m("Row %(row)d no longer passes the checks; check the file again.", row=number))
        store = data.pop("store")
        stores_by_id[store.id] = store
        existing_id = data.pop("existing_id", None)
        stored_consent_at = data.pop("stored_consent_at", None)
        if existing_id is not None and job.existing == "skip":
            outcomes.append((number, data["code"], "skipped"))
            continue
        consent_at = data.pop("consent_at")
        birthday, mobile = data["birthday"], data["mobile"]
        values = {
            **data,
            "store_id": store.id,
            "franchisee_id": store.franchisee_id,
            "code": data.get("code"),
            "name_key": fields.name_key(data["name"]),
            "birthday_md": birthday.month * 100 + birthday.day if birthday else None,
            "mobile_tail": mobile[-4:] if mobile else None,
            "gender": data["gender"] or "unknown",
            "customer_type": data["customer_type"] or "individual",
            "source": data["source"] or "other",
            "relationship_type": data["relationship_type"] or "accountable",
            "consent_at": fields.consent_time(consent_at, stored_consent_at) if data["consent"] else None,
            "created_by_id": actor_id,
            "updated_by_id": actor_id,
            "created_at": now,
            "updated_at": now,
            "last_activity_on": today,
            "version": 1,
            "clv": clv,
            "category": category,
            "grade": grade,
        }
        if existing_id is not None:
            changes.append({"_id": existing_id, **{column: values[column] for column in _UPDATED_COLUMNS}})
            outcomes.append((number, data["code"], "updated"))
            continue
        points = data["points"]
        if points not in tier_by_points:
            tier = analytics.tier_for(Decimal("0"), 0, points, tier_list)
            tier_by_points[points] = tier.id if tier is not None else None
        values["tier_id"] = tier_by_points[points]
        spool.add([values[column] for column in _ROW_COLUMNS] + [number])
        if spool.count % 5000 == 0:
            progress.update(spool.count)
    return stores_by_id


class _Spool:
    """Prepared rows in a temporary file, written and read back a chunk at a time."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.count = 0
        self._chunk: list = []

    def add(self, row: list) -> None:
        self._chunk.append(row)
        self.count += 1
        if len(self._chunk) == _ROWS_PER_INSERT:
            pickle.dump(self._chunk, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self._chunk = []

    def chunks(self):
        if self._chunk:
            pickle.dump(self._chunk, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self._chunk = []
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()


class _RowInserter:
    """Writes prepared rows (multi-row INSERTs; COPY on PostgreSQL), giving rows without a code the store's next
    free one. Runs inside the import's write transaction: the sequences are read under the write
    lock, so two imports or an import and a new customer never take the same number.

    The SQL is written once per chunk size: SQLAlchemy's compiler makes a bound parameter object
    per value, ≈ 60 s for 100,000 rows of 33 columns. Values pass through each column type's own
    bind processor, as SQLAlchemy would do, and columns the file does not fill take their model
    defaults.
    """

    def __init__(self, stores: dict[int, StoreRef], checker: "RowChecker", outcomes: list):
        self.stores, self.checker, self.outcomes = stores, checker, outcomes
        self.sequences: dict[int, CustomerSequence] = {}
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        table = Customer.__table__
        defaulted = [c for c in table.c if c.name not in _ROW_COLUMNS and c.default is not None and c.default.is_scalar]
        self.defaults = [c.default.arg for c in defaulted]
        columns = [table.c[name] for name in _ROW_COLUMNS] + defaulted
        self.processors = [column.type._cached_bind_processor(dialect) for column in columns]
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.one = "(" + ", ".join([mark] * len(columns)) + ")"
        quote = dialect.identifier_preparer
        self.head = (f"INSERT INTO {quote.format_table(table)} "
                     f"({', '.join(quote.format_column(c) for c in columns)}) VALUES ")
        self.statements: dict[int, str] = {}
        # PostgreSQL takes the rows through COPY, its bulk path (no statement to parse per 500 rows).
        self.copy_sql = (f"COPY {quote.format_table(table)} ({', '.join(quote.format_column(c) for c in columns)}) "
                         "FROM STDIN") if dialect.name == "postgresql" else None

    def __call__(self, chunk: list[list]) -> None:
        for row in chunk:
            number = row.pop()  # the file's row number, for the row report
            if not row[_CODE]:
                row[_CODE] = self._next_code(row[_STORE])
            self.outcomes.append((number, row[_CODE], "created"))
        db.session.flush()  # new sequence rows, before the customers that use them
        defaults, processors = self.defaults, self.processors
        if self.copy_sql:
            with self.connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy(self.copy_sql) as copy:
                    for row in chunk:
                        copy.write_row([process(value) if process and value is not None else value
                                        for process, value in zip(processors, row + defaults)])
            return
        sql = self.statements.get(len(chunk)) or self.statements.setdefault(
            len(chunk), self.head + ", ".join([self.one] * len(chunk)))
        params = [process(value) if process and value is not None else value
                  for row in chunk for process, value in zip(processors, row + defaults)]
        self.connection.exec_driver_sql(sql, tuple(params))

    def _next_code(self, store_id: int) -> str:
        seq = self.sequences.get(store_id)
        if seq is None:
            seq = db.session.scalar(select(CustomerSequence).where(CustomerSequence.store_id == store_id)
                                    .with_for_update())
            if seq is None:
                seq = CustomerSequence(store_id=store_id, last=0)
                db.session.add(seq)
            self.sequences[store_id] = seq
        store = self.stores[store_id]
        while True:
            seq.last += 1
            code = f"{store.code}-{seq.last:06d}"
            if (store.id, code) not in self.checker.codes:
                self.checker.codes.add((store.id, code))
                return code


def _derived_state_of_import(imported, today, count: int) -> None:
    """Duplicates, care tasks and roll-ups for the stores and franchisees the file touched,
    each in a short transaction of its own."""
    from app.services import customer_care, customer_duplicates, rollups
    from app.services.loyalty import ledger

    with unscoped():
        touched = db.session.execute(select(Customer.store_id, Customer.franchisee_id).where(imported).distinct()).all()
        if count <= 2000:
            ids = db.session.scalars(select(Customer.id).where(imported)).all()
            with write_transaction(db.session):
                customer_duplicates.refresh_for(ids)
        else:
            db.session.commit()
            for franchisee_id in sorted({f for _, f in touched}):
                customer_duplicates.rebuild(franchisee_id)
        with write_transaction(db.session):
            customer_care.generate(analytics.get_rules(), today, imported)
        with write_transaction(db.session):
            ledger.backfill(analytics.get_rules(), imported)  # the points on file open each new ledger
        for store_id in sorted({s for s, _ in touched}):
            with write_transaction(db.session):
                rollups.touch(store_id, today)


def run(job_id: int) -> CustomerImport:
    """Run a job's next step (check, or import after confirmation) as its creator.

    Called by ``flask customers run-import`` in its own process (and inline by
    the tests). Commits the outcome; on any error the import is rolled back
    and the job says why.
    """
    from app.security.scope import build_scope
    from app.security.tenancy import activate, unscoped

    with unscoped():
        job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
        user = job.created_by
        with force_locale(user.locale or "zh_Hans"):
            scope = build_scope(user)
    activate(scope)
    started = time.perf_counter()
    job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
    if job.kind == "purchases":
        from app.services import purchase_import as steps
    else:
        steps = sys.modules[__name__]
    step = steps.validate if job.state == "validating" else steps.import_rows if job.state == "importing" else None
    if step is None:
        return job
    try:
        _run_step(job_id, step, user, started)
    finally:
        start_next()  # a place is free: the next in line starts
    return db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))


def _run_step(job_id: int, step, user: User, started: float) -> None:
    job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
    with force_locale(user.locale or "zh_Hans"):
        try:
            outcome = step(job) if step.__name__ == "validate" else step(job, user)
            with write_transaction(db.session):
                job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
                for key, value in outcome.items():
                    setattr(job, key, value)
                job.seconds = round(time.perf_counter() - started, 2)
                job.peak_memory_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
                job.finished_at = utcnow()
        except ImportFileError as error:
            db.session.rollback()
            _fail(job_id, error.args[0])
        except Exception:
            db.session.rollback()
            current_app.logger.exception("customer import %s failed", job_id)
            _fail(job_id, _m("The import stopped on an unexpected error; nothing was imported."))
            raise


def _fail(job_id: int, message) -> None:
    """The job failed; ``message`` (a ``Message``) is stored as data, shown in each reader's language."""
    data = stored(message)
    text = json.dumps(data, ensure_ascii=False) if isinstance(data, list) else data
    with write_transaction(db.session):
        job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
        job.state = "failed"
        job.message = text if len(text) <= 300 else str(message)[:300]
        job.finished_at = utcnow()


def start(job: CustomerImport) -> None:
    """Hand the job's step to a separate process (or run it now, in tests) if fewer than
    IMPORT_MAX_RUNNING are running; else it waits in line and ``start_next`` starts it when
    one finishes. The caller has committed."""
    with unscoped(), write_transaction(db.session):
        job = db.session.get(CustomerImport, job.id)
        if running_count(besides=job.id) >= current_app.config["IMPORT_MAX_RUNNING"]:
            job.queued_at = job.queued_at or utcnow()
            return
        job.queued_at = None
        _write_progress(job, job.state, 0, 0.0)
        job_id, log = job.id, import_dir() / f"{job.stored_as}.log"
    if jobs.runs_inline():
        run(job_id)
        return
    jobs.start_command("customers", "run-import", str(job_id), log_path=log)


def running_count(besides: int | None = None) -> int:
    """Jobs whose step is running now: checking or importing, not waiting, not stalled."""
    active = db.session.scalars(select(CustomerImport).where(
        CustomerImport.state.in_(("validating", "importing")), CustomerImport.queued_at.is_(None),
        CustomerImport.id != (besides or 0))).all()
    return sum(1 for job in active if not stalled(job))


def place_in_line(job: CustomerImport) -> int:
    """How many jobs wait ahead of this one (0 when it is next)."""
    with unscoped():
        return db.session.scalar(select(func.count(CustomerImport.id)).where(
            CustomerImport.queued_at.is_not(None), CustomerImport.queued_at < job.queued_at)) or 0


def start_next() -> None:
    """Start the jobs waiting longest, as far as there is room (after a job finishes)."""
    while True:
        with unscoped():
            waiting = db.session.scalar(select(CustomerImport).where(CustomerImport.queued_at.is_not(None))
                                        .order_by(CustomerImport.queued_at, CustomerImport.id).limit(1))
            if waiting is None or running_count(besides=waiting.id) >= current_app.config["IMPORT_MAX_RUNNING"]:
                db.session.commit()
                return
        db.session.commit()
        start(waiting)


def template_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADERS)
    example = {"姓名": "王小明", "性别": "男", "生日": "1988-04-12", "手机": "13800138000", "邮箱": "wang@example.com",
               "地址": "上海市徐汇区漕溪北路1号", "邮编": "200030", "客户类型": "个人", "来源": "到店", "关系类型": "负责型",
               "职业": "教师", "兴趣爱好": "园艺", "习惯": "周末到店", "标签": "装修, 老客户", "同意保存联系方式": "是",
               "同意日期": "2026-01-05", "同意方式": "纸质表格", "同意用途": "回访、会员活动与节日问候", "积分": "120"}
    writer.writerow([example.get(header, "") for header in TEMPLATE_HEADERS])
    return buffer.getvalue().encode("utf-8-sig")


def delete_old_files(now=None) -> int:
    """Delete uploaded files, progress files and error reports of imports older than the rules'
    ``import_retention_days`` (they hold customers' personal data), and the first errors kept on
    the job, which may echo what was typed. The job itself stays, with its counts. Returns how
    many imports lost their files. Run by the nightly job."""
    now = now or utcnow()
    days = analytics.get_rules().import_retention_days
    cutoff = now - timedelta(days=days)
    with unscoped():
        jobs = db.session.scalars(
            select(CustomerImport).where(CustomerImport.files_deleted_at.is_(None), CustomerImport.created_at < cutoff,
                                         CustomerImport.state.not_in(("validating", "importing")))
        ).all()
        for job in jobs:
            for path in (import_dir() / job.stored_as, progress_path(job), errors_path(job), rows_path(job)):
                path.unlink(missing_ok=True)
            job.errors = None
            job.files_deleted_at = now
        db.session.commit()
    return len(jobs)


def stalled(job: CustomerImport, now=None) -> bool:
    """A job checking or importing that has shown no progress for IMPORT_STALL_SECONDS: its
    process died (a restart, a kill, the machine). Nothing of it was written: the import's
    writes are one transaction."""
    if job.state not in ("validating", "importing") or job.queued_at is not None:
        return False
    try:
        last = datetime.fromtimestamp(progress_path(job).stat().st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        last = job.created_at
    return ((now or utcnow()) - last).total_seconds() > current_app.config["IMPORT_STALL_SECONDS"]


def begin_step(job: CustomerImport) -> None:
    """Start the job's current step (the import after confirmation, or a stalled step again):
    now, or in line (``start``)."""
    start(job)
