"""User administration and own-account changes. Functions flush nothing and commit nothing."""
from flask import current_app
from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.models.user import FRANCHISE_ROLES, STORE_ROLES
from app.security import sessions
from app.security.passwords import hash_password, verify_password
from app.services import audit


def _fit_role_fields(user: User) -> None:
    """Clear the fields that the user's role does not use, so scope never rests on stale ones."""
    if user.role not in FRANCHISE_ROLES:
        user.franchisee_id = None
        user.franchisee = None
    if user.role not in STORE_ROLES:
        user.stores = []
    if user.role != "hq_supervisor":
        user.regions = []
    if user.role != "hq_department":
        user.department = None


def create_user(data: dict, password: str, actor: User) -> User:
    """Create a user from validated form data; they must change the password at first sign-in."""
    user = User(password_hash=hash_password(password), must_change_password=True)
    apply_profile(user, data)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=actor, target=user, details={"role": user.role})
    return user


def apply_profile(user: User, data: dict) -> dict:
    for key in ("username", "email", "display_name", "role", "franchisee", "department", "locale"):
        if key in data:
            if key == "locale" and user.locale is None and data[key] == current_app.config["BABEL_DEFAULT_LOCALE"]:
                continue  # no language chosen yet shows as the default: saving the form chose nothing
            setattr(user, key, data[key])
    user.username = user.username.strip().lower()
    user.email = (user.email or "").strip().lower() or None
    user.stores = list(data.get("stores", user.stores))
    user.regions = list(data.get("regions", user.regions))
    _fit_role_fields(user)
    return audit.changes(user)


def update_user(user: User, data: dict, actor: User) -> None:
    changed = apply_profile(user, data)
    if changed:
        if {"stores", "regions"} & changed.keys():
            # A change to the stores or regions alone writes only the link tables: the record's
            # own row must change too, or its version stays and a colleague's older form would
            # be saved over it without a word (issue 9, trial 5).
            user.updated_at = utcnow()
        if {"role", "franchisee", "stores", "regions", "department"} & changed.keys():
            # A narrower role must not keep a wider live session.
            sessions.revoke_all(user)
        audit.record("user.updated", actor=actor, target=user, details=changed)


def set_active(user: User, active: bool, actor: User) -> None:
    if user.active == active:
        return
    user.active = active
    if not active:
        sessions.revoke_all(user)
    audit.record("user.activated" if active else "user.deactivated", actor=actor, target=user)


def reset_password(user: User, password: str, actor: User) -> None:
    """Administrator reset: a temporary password, every session ended, change forced."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    sessions.revoke_all(user)
    audit.record("user.password_reset", actor=actor, target=user)


def change_own_password(user: User, current: str, new: str) -> bool:
    if not verify_password(user.password_hash, current):
        audit.record("auth.password_change_failed", actor=user)
        return False
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    audit.record("auth.password_changed", actor=user)
    return True


def signed_out(user: User) -> None:
    audit.record("auth.logout", actor=user)

