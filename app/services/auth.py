"""Signing in: credential checks and throttling of failed attempts."""
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import Franchisee, User
from app.models.base import utcnow
from app.security.tenancy import unscoped
from app.security.passwords import hash_password, needs_rehash, verify_password
from app.services import audit


class LoginLimiter:
    """Counts failed sign-ins per account and per client address.

    Built once per application (``create_app``), so each test app has its own
    counters; production points RATELIMIT_STORAGE_URI at Redis so that all
    workers share them.
    """

    def __init__(self, storage_uri: str, per_account: str, per_address: str):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._account = parse(per_account)
        self._address = parse(per_address)

    def _checks(self, account: str, ip: str | None):
        yield self._account, ("login-account", account)
        if ip:
            yield self._address, ("login-address", ip)

    def wait_seconds(self, account: str, ip: str | None) -> int:
        """0 if another attempt is allowed, else seconds until one is."""
        now = datetime.now(UTC).timestamp()
        wait = 0
        for limit, keys in self._checks(account, ip):
            if not self._limiter.test(limit, *keys):
                stats = self._limiter.get_window_stats(limit, *keys)
                wait = max(wait, int(stats.reset_time - now) + 1)
        return wait

    def failed(self, account: str, ip: str | None) -> None:
        for limit, keys in self._checks(account, ip):
            self._limiter.hit(limit, *keys)

    def succeeded(self, account: str) -> None:
        self._limiter.clear(self._account, "login-account", account)


def public_limiter(storage_uri: str) -> MovingWindowRateLimiter:
    """The rate limiter of the pages without sign-in (the public complaint page), sharing the
    login limiter's storage (Redis in production, so every worker counts the same hits)."""
    return MovingWindowRateLimiter(storage_from_string(storage_uri))


@dataclass
class SignInResult:
    user: User | None = None
    error: str | None = None  # "credentials", "inactive", "throttled"
    wait_seconds: int = 0


def touch_user(user: User, **values) -> None:
    """Update bookkeeping columns without bumping the row version.

    Signing in or picking a language must not make an administrator's open
    edit form look stale.
    """
    # Nothing cached depends on these columns (app/refcache.py).
    db.session.execute(update(User).where(User.id == user.id).values(**values)
                       .execution_options(reference_data=False))


def normalise_login(login: str) -> str:
    return (login or "").strip().lower()


def find_user(login: str) -> User | None:
    key = normalise_login(login)
    return db.session.scalar(
        select(User).where(or_(User.username == key, func.lower(User.email) == key))
    )


def _franchise_terminated(user: User) -> bool:
    if user.franchisee_id is None:
        return False
    # Signing in happens before the user has a scope, so look past it for this one fact.
    with unscoped():
        status = db.session.scalar(select(Franchisee.status).where(Franchisee.id == user.franchisee_id))
    return status == "terminated"


def sign_in(limiter: LoginLimiter, login: str, password: str, ip: str | None) -> SignInResult:
    """Check credentials. Records every outcome in the audit trail; never commits."""
    typed = normalise_login(login)[:254]
    user = find_user(typed)
    # Failures count per account, however it is named (user name or e-mail): five as "owner-c"
    # used to leave five more as "owner-c@..." (issue 8). An unknown name counts by itself.
    key = f"user:{user.id}" if user else f"name:{typed}"
    wait = limiter.wait_seconds(key, ip)
    if wait:
        audit.record("auth.login_throttled", actor=user, actor_name=typed)
        return SignInResult(error="throttled", wait_seconds=wait)
    if not verify_password(user.password_hash if user else None, password):
        limiter.failed(key, ip)
        audit.record(
            "auth.login_failed",
            actor=user,
            actor_name=typed,
            details={"reason": "bad_password" if user else "unknown_user"},
        )
        return SignInResult(error="credentials")
    if not user.active or _franchise_terminated(user):
        audit.record("auth.login_failed", actor=user, details={"reason": "inactive"})
        return SignInResult(error="inactive")
    limiter.succeeded(key)
    changes = {"last_login_at": utcnow()}
    if needs_rehash(user.password_hash):
        changes["password_hash"] = hash_password(password)
    touch_user(user, **changes)
    audit.record("auth.login_succeeded", actor=user)
    return SignInResult(user=user)
