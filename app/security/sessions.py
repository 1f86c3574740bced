"""Server-side sign-in sessions behind Flask-Login.

The signed cookie holds a random token; the UserSession row decides whether it
is still good. Signing out, idle or absolute expiry, a password change and
deactivation all end the row, so a copied cookie dies with it.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app import refcache
from app.database import write_transaction
from app.extensions import db, login_manager
from app.models import User, UserSession
from app.models.base import utcnow

TOKEN_KEY = "sid"
# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> None:
    """Begin a fresh session for ``user``: new cookie contents, new server record."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_hash(token),
            user_id=user.id,
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:255],
        )
    )
    session[TOKEN_KEY] = token
    session.permanent = True


def end() -> None:
    """Revoke the current session record and empty the cookie."""
    token = session.get(TOKEN_KEY)
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    session.clear()


def revoke_all(user: User, keep_current: bool = False) -> None:
    """End every session of ``user`` (deactivation, password reset or change)."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    token = session.get(TOKEN_KEY) if keep_current else None
    if token:
        stmt = stmt.where(UserSession.token_hash != _hash(token))
    db.session.execute(stmt.values(revoked_at=utcnow()))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    token = session.get(TOKEN_KEY)
    if not token or not user_id.isdigit():
        return None
    # One statement for the session record and its user (this runs on every request).
    # The reference-data stamp comes along (app/refcache.py): no statement of its own.
    found = db.session.execute(
        select(UserSession, User, refcache.stamp_column()).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    if found is None or found[0].user_id != int(user_id) or found[0].revoked_at is not None:
        g.session_ended = True
        return None
    record, user, token = found
    refcache.remember_stamp(token)
    now = utcnow()
    cfg = current_app.config
    if (
        now - record.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
        or now - record.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    ):
        record.revoked_at = now
        db.session.commit()
        g.session_ended = True
        return None
    if not user.active:
        g.session_ended = True
        return None
    if now - record.last_seen_at > TOUCH_EVERY:
        g.touch_session = (record.id, now)  # written after the response is built (touch_session)
    return user


def touch_session(response):
    """Record that the session was used, after the page is built: committing before would
    expire the user and the page's objects and read them again (two more statements)."""
    touch = g.pop("touch_session", None)
    if touch is None:
        return response
    record_id, now = touch
    try:
        with write_transaction(db.session):
            db.session.execute(update(UserSession).where(UserSession.id == record_id).values(last_seen_at=now))
    except OperationalError:
        # Another writer holds SQLite's lock for longer than the busy timeout: the touch is
        # only bookkeeping, so skip it this time rather than fail the page.
        db.session.rollback()
    return response
