"""The store's public complaint page: keys, progress links, spam checks and QR codes.

A customer who scans the QR code in a store files a complaint without signing in, agrees to a
short privacy notice (R61) and gets a reference number and a private progress link. Nothing on
these pages says anything about any other complaint: an unknown, expired or guessed link and a
store key that does not exist all answer the same "not found".
"""
import hashlib
import io
import secrets
from datetime import datetime, timedelta

import segno
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Store
from app.models.base import utcnow
from app.security.tenancy import unscoped


def store_for_key(key: str) -> Store | None:
    """The open store whose public page this is (read across tenants: the visitor has none)."""
    if not key or len(key) > 24:
        return None
    with unscoped():
        return db.session.scalar(select(Store).where(Store.public_key == key, Store.status == "open"))


def new_progress_token() -> tuple[str, str]:
    """(token for the link, its hash to store). 32 random bytes: not guessable, not countable."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def complaint_for_token(token: str, link_days: int, now: datetime | None = None) -> tuple[int, int, int] | None:
    """(complaint id, store id, franchisee id) a progress link names, or None when the link is
    unknown or has expired (``link_days`` after the complaint was closed)."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    with unscoped():
        row = db.session.execute(
            select(Complaint.id, Complaint.store_id, Complaint.franchisee_id, Complaint.closed_at)
            .where(Complaint.progress_token_hash == token_hash(token))).first()
    if row is None or (row.closed_at is not None and row.closed_at + timedelta(days=link_days) < now):
        return None
    return row.id, row.store_id, row.franchisee_id


# --- spam: a hidden field people leave empty, and the time a person takes to fill the form ---

# Each public form signs its stamps with a salt of its own: a complaint page's stamp is no use on
# a survey page (services/surveys/public.py) and the other way round.
COMPLAINT_FORM = "public-complaint-form"


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def form_stamp(secret_key: str, store_key: str, salt: str = COMPLAINT_FORM) -> str:
    """A signed stamp of when the form was shown, for which store (or page)."""
    return _serializer(secret_key, salt).dumps({"store": store_key, "shown": utcnow().timestamp()})


def stamp_problem(secret_key: str, stamp: str, store_key: str, min_seconds: int, max_seconds: int,
                  salt: str = COMPLAINT_FORM) -> str | None:
    """None when the stamp is ours, for this store (or page), and the form took a human's time; else
    why not ("forged", "fast", "stale")."""
    try:
        data = _serializer(secret_key, salt).loads(stamp or "", max_age=max_seconds)
    except SignatureExpired:
        return "stale"
    except BadSignature:
        return "forged"
    if not isinstance(data, dict) or data.get("store") != store_key:
        return "forged"
    if utcnow().timestamp() - float(data.get("shown", 0)) < min_seconds:
        return "fast"
    return None


# --- QR codes (segno: pure Python, SVG and PNG without an imaging library) ---

def qr_code(url: str, kind: str) -> bytes:
    """The QR code of ``url`` as an SVG or a PNG (large enough to print on an A5 poster)."""
    code = segno.make(url, error="m")
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4, xmldecl=True)
    else:
        code.save(out, kind="png", scale=12, border=4)
    return out.getvalue()


def qr_inline_svg(url: str) -> str:
    """The QR code as an inline <svg> element for a page."""
    return segno.make(url, error="m").svg_inline(scale=6, border=4)
