"""Settings for the portal, read from environment variables.

``PORTAL_CONFIG`` picks the profile: ``development`` (default), ``testing`` or
``production``. Every variable is described in the README.
"""
import os
import tempfile
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _database_url(default: str | None) -> str | None:
    url = os.environ.get("DATABASE_URL", default)
    # Hosting platforms hand out postgres:// URLs; psycopg 3 is the driver we pin.
    if url and url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _dev_secret_key() -> str:
    """A random key kept in instance/ so development sessions survive a restart."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'portal.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Sessions: a server-side record per sign-in (see app/security/sessions.py).
    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30)
    SESSION_ABSOLUTE_HOURS = _int("SESSION_ABSOLUTE_HOURS", 12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    SESSION_COOKIE_NAME = "cxportal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    # Sign-in throttling: failures allowed per window, per account and per address.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")
    # The public complaint page (no sign-in): per client address, per store, and the progress
    # links looked up per address (a guessed link costs a try).
    # Complaints filed per address (a store's Wi-Fi is one address for every customer in it)
    # and posts of any kind per address (mistakes included).
    PUBLIC_LIMIT_PER_ADDRESS = os.environ.get("PUBLIC_LIMIT_PER_ADDRESS", "10 per hour")
    PUBLIC_POSTS_PER_ADDRESS = os.environ.get("PUBLIC_POSTS_PER_ADDRESS", "40 per hour")
    PUBLIC_LIMIT_PER_STORE = os.environ.get("PUBLIC_LIMIT_PER_STORE", "200 per day")
    PROGRESS_LIMIT_PER_ADDRESS = os.environ.get("PROGRESS_LIMIT_PER_ADDRESS", "60 per hour")
    # A public form sent sooner than this after it was shown is a robot; older than the max, stale.
    PUBLIC_FORM_MIN_SECONDS = 3
    # Satisfaction surveys (issue 12): days the store has to follow up a very low answer, and
    # responses per address per hour on the public survey pages.
    SURVEY_FOLLOW_UP_DAYS = _int("SURVEY_FOLLOW_UP_DAYS", 3)
    SURVEY_LIMIT_PER_ADDRESS = os.environ.get("SURVEY_LIMIT_PER_ADDRESS", "20 per hour")
    PUBLIC_FORM_MAX_SECONDS = 4 * 3600
    # Notifications: e-mail when MAIL_SERVER is set, the group robots when their webhook is set;
    # without any, deliveries go to the outbox page (development).
    # The portal's address as users reach it, for links in e-mails and robot messages.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "cx-portal@localhost")
    WECOM_WEBHOOK_URL = os.environ.get("WECOM_WEBHOOK_URL", "")
    DINGTALK_WEBHOOK_URL = os.environ.get("DINGTALK_WEBHOOK_URL", "")
    DINGTALK_SECRET = os.environ.get("DINGTALK_SECRET", "")
    # The periodic complaint job (escalation of late complaints, sending notifications) runs in
    # the web process every this many seconds when set (make run sets 60); 0: cron runs
    # `flask complaints tick` instead (production).
    SCHEDULER_SECONDS = _int("PORTAL_SCHEDULER_SECONDS", 0)
    # How long the customer's progress link works after the complaint is closed.
    PROGRESS_LINK_DAYS = 90

    # argon2id cost; the defaults meet OWASP ASVS 5.0 appendix C (m=19 MiB, t=2, p=1).
    ARGON2_MEMORY_KIB = _int("ARGON2_MEMORY_KIB", 19456)
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 2)
    ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 1)
    PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 10)

    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = ("zh_Hans", "en")

    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
    # Uploaded customer files wait here for the background import (app/services/customer_import.py).
    IMPORT_DIR = os.environ.get("IMPORT_DIR", str(INSTANCE_DIR / "imports"))
    # Photos and documents on complaints: files outside the database, served only through the
    # tenant scope; a size limit per file and a number per complaint.
    ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR", str(INSTANCE_DIR / "attachments"))
    ATTACHMENT_MAX_MB = _int("ATTACHMENT_MAX_MB", 10)
    ATTACHMENTS_PER_COMPLAINT = _int("ATTACHMENTS_PER_COMPLAINT", 10)
    IMPORT_MAX_ROWS = _int("IMPORT_MAX_ROWS", 200_000)
    # An .xlsx is a zip: a 351 KB file of empty rows unpacked to 240 MB and took 3.7 GB to read.
    IMPORT_MAX_UNPACKED_MB = _int("IMPORT_MAX_UNPACKED_MB", 100)
    # A checking or importing job without progress for this long is offered a retry (its process died).
    IMPORT_STALL_SECONDS = _int("IMPORT_STALL_SECONDS", 300)
    # Checks and imports running at once (each is a process of its own); the rest wait in line.
    IMPORT_MAX_RUNNING = _int("IMPORT_MAX_RUNNING", 2)
    # "process": a separate `flask customers run-import` process; "inline" runs it in the test.
    IMPORT_RUNNER = os.environ.get("IMPORT_RUNNER", "process")
    # Printed reports (issue 13): batches go to RQ workers on this Redis when it is set
    # (`flask reports worker`, any number on any machine); otherwise a process of their own
    # (`flask reports run-batch`) with REPORT_WORKERS processes; "inline" runs them in the test.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    REPORT_RUNNER = os.environ.get("REPORT_RUNNER", "")
    REPORT_WORKERS = _int("REPORT_WORKERS", 2)
    # A running batch without a sign of life from a worker for this long is offered a resume.
    REPORT_STALL_SECONDS = _int("REPORT_STALL_SECONDS", 300)
    # SQLite only: page cache per connection, in MB (see app/database.py).
    SQLITE_CACHE_MB = _int("SQLITE_CACHE_MB", 48)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    PER_PAGE = 25
    # A user opening the same customer again within this many seconds is one visit in the trail.
    AUDIT_VIEW_WINDOW_SECONDS = _int("AUDIT_VIEW_WINDOW_SECONDS", 300)
    # How long a saved create form is remembered, so that posting it again adds nothing.
    FORM_RECEIPT_DAYS = _int("FORM_RECEIPT_DAYS", 30)
    # Dashboards of scopes larger than this many stores show figures up to this old (per worker).
    DASHBOARD_LIVE_MAX_STORES = _int("DASHBOARD_LIVE_MAX_STORES", 100)
    DASHBOARD_CACHE_SECONDS = _int("DASHBOARD_CACHE_SECONDS", 60)
    HSTS = False
    # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
    PROXY_COUNT = _int("PROXY_COUNT", 0)
    DEMO_PASSWORD = "demo-pass-2026"
    # `make bench`: an X-SQL-Statements header on every response (app/instrumentation.py).
    COUNT_STATEMENTS = os.environ.get("COUNT_STATEMENTS") == "1"


class DevelopmentConfig(Config):
    SECRET_KEY = Config.SECRET_KEY or _dev_secret_key()


class TestingConfig(Config):
    TESTING = True
    IMPORT_RUNNER = os.environ.get("IMPORT_RUNNER", "inline")
    REPORT_RUNNER = os.environ.get("REPORT_RUNNER", "inline")
    REDIS_URL = ""  # a test that wants RQ says so
    SECRET_KEY = "test-secret-key"
    SCHEDULER_SECONDS = 0
    MAIL_SERVER = WECOM_WEBHOOK_URL = DINGTALK_WEBHOOK_URL = ""
    # Files the tests attach go to the system's temporary directory, never to instance/.
    ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR") or os.path.join(tempfile.gettempdir(), "cx-portal-test-attachments")
    SQLALCHEMY_DATABASE_URI = _database_url(None) if os.environ.get("DATABASE_URL") else "sqlite://"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    HSTS = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")


PROFILES = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None):
    return PROFILES[name or os.environ.get("PORTAL_CONFIG", "development")]
