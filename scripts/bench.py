"""`make bench`: the portal under gunicorn on loopback against a large dataset, in one table.

1. Database ``BENCH_DATABASE_URL`` (default ``sqlite:///<repo>/instance/large.db``). Without a
   ``customer`` table or with fewer than min(100,000, BENCH_CUSTOMERS) customers it is built:
   ``flask db upgrade`` then ``flask seed large --stores BENCH_STORES --customers BENCH_CUSTOMERS``
   (PostgreSQL: the database is created first if missing). ``BENCH_SKIP_SEED=1`` uses it as it is.
2. gunicorn with ``gunicorn.conf.py`` (2 sync workers) on 127.0.0.1:<free port 8700-8799>, production
   profile, serving ``scripts/bench_wsgi.py``: the portal, a bare Flask hello-world route
   (``/__flask_hello``, the reference for "% of hello") and a plain WSGI one (``/__hello``).
3. Signs in as hq-admin (network), owner-a (one franchisee), manager-a1 (one store) through the form.
4. For each role and page: 5 warm-up requests, then BENCH_RUNS (60) sequential requests on one
   keep-alive connection -> p50/p95/p99, the X-SQL-Statements of the last response; then requests/s
   with ``wrk -t2 -c8 -d5s``. A page a role may not see (403) is shown as "—".
5. Meanwhile a BENCH_IMPORT_ROWS (100,000) row customer import runs through
   ``flask customers run-import`` (check, then import) into one store; its customers are deleted
   at the end, so the dataset is the same for the next run.
6. Prints one markdown table and writes it to bench-results/<date>-<sqlite|postgresql>-<HHMM>.md.

Settings (environment): BENCH_DATABASE_URL, BENCH_STORES (1000), BENCH_CUSTOMERS (1000000),
BENCH_SEED (seed large's own default if unset), BENCH_SKIP_SEED, BENCH_RUNS (60),
BENCH_WRK_SECONDS (5), BENCH_PAGE_SECONDS (10: the sequential runs of a page stop after this
long once 10 are done, so a slow page cannot stretch the run), BENCH_IMPORT_ROWS (100000; 0 = no import).
"""
import http.client
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo-pass-2026"
COOKIE = "cxportal_session"
ROLES = (("hq-admin", "network"), ("owner-a", "franchisee"), ("manager-a1", "store"))
RUNS = int(os.environ.get("BENCH_RUNS", "60"))
WARMUP = 5
MIN_RUNS = 10
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "10"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "5"))
WRK_CONNECTIONS = 8
TIMEOUT = 30
STORES = int(os.environ.get("BENCH_STORES", "1000"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
IMPORT_TAG = "bench-import"  # every imported row carries it, so the clean-up finds exactly those
PORTS = range(8700, 8800)
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- 1. database ----------------------------------------------------------------------

def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'large.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.split("://", 1)[1]
    return url


def sqlalchemy_url(url: str) -> str:
    """The URL as config.py hands it to SQLAlchemy (psycopg 3 for PostgreSQL)."""
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def create_pg_database(url: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(host=u.host or "localhost", port=u.port or 5432, user=u.username, password=u.password,
                         dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone() is None:
            log(f"creating PostgreSQL database {u.database}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))


def customer_count(url: str) -> int | None:
    """Customers in the database, or None when it has no customer table."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        if not inspect(engine).has_table("customer"):
            return None
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM customer")).scalar_one()
    finally:
        engine.dispose()


def prepare_database(url: str) -> None:
    if url.startswith("postgresql://"):
        create_pg_database(url)
    elif url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    count = customer_count(url)
    wanted = min(100_000, CUSTOMERS)
    if os.environ.get("BENCH_SKIP_SEED") == "1":
        if count is None:
            sys.exit(f"{shown_url(url)} has no customer table (and BENCH_SKIP_SEED=1)")
        log(f"using {shown_url(url)} as it is: {count:,} customers (BENCH_SKIP_SEED=1)")
        return
    if count is not None and count >= wanted:
        log(f"using {shown_url(url)}: {count:,} customers")
        return
    env = dict(os.environ, DATABASE_URL=url, PORTAL_CONFIG="development")
    log(f"{shown_url(url)}: {'no customer table' if count is None else f'{count:,} customers'}; "
        f"building it: db upgrade, seed large --stores {STORES} --customers {CUSTOMERS}")
    if subprocess.run(FLASK + ["db", "upgrade"], cwd=ROOT, env=env).returncode:
        sys.exit("flask db upgrade failed (above)")
    seed = FLASK + ["seed", "large", "--stores", str(STORES), "--customers", str(CUSTOMERS)]
    if os.environ.get("BENCH_SEED"):
        seed += ["--seed", os.environ["BENCH_SEED"]]
    started = time.perf_counter()
    if subprocess.run(seed, cwd=ROOT, env=env).returncode:
        sys.exit(f"seed large failed (above). A half-built database is refused by seed large: delete "
                 f"{shown_url(url)} (or drop the PostgreSQL database) and run make bench again.")
    log(f"seed large took {time.perf_counter() - started:.0f} s")


# --- reading the bench's targets from the database --------------------------------------

ACTIVE = "c.merged_into_id IS NULL AND c.anonymised_at IS NULL"


def role_store_ids(conn, username: str, level: str) -> list[int] | None:
    """The stores a role sees, as app/security/scope.py computes them (None: the whole network)."""
    from sqlalchemy import text

    if level == "network":
        return None
    if level == "franchisee":
        stmt = ('SELECT s.id FROM store s JOIN "user" u ON u.franchisee_id = s.franchisee_id '
                "WHERE u.username = :u ORDER BY s.id")
    else:
        stmt = ('SELECT s.id FROM store s JOIN user_store us ON us.store_id = s.id JOIN "user" u ON u.id = us.user_id '
                "WHERE u.username = :u AND s.franchisee_id = u.franchisee_id ORDER BY s.id")
    return list(conn.execute(text(stmt), {"u": username}).scalars())


def scope_sql(store_ids: list[int] | None) -> str:
    if store_ids is None:
        return "1 = 1"
    return f"c.store_id IN ({', '.join(str(int(i)) for i in store_ids) or 'NULL'})"


def mask(mobile: str) -> str:
    return mobile[:3] + "****" + mobile[-4:]


@dataclass
class Page:
    label: str
    path: str | None  # None: nothing in scope to ask for (shown as "—")
    note: str = ""


def role_pages(conn, username: str, level: str, avoid_store: int | None) -> tuple[list[Page], str]:
    """The pages to time for one role, with real cursors, names, mobiles and codes from its scope."""
    from sqlalchemy import text

    from app.pagination import encode_cursor

    stores = role_store_ids(conn, username, level)
    where = f"{ACTIVE} AND {scope_sql(stores)}"
    # The customer at ~50 % of the role's default list (last purchase, newest first): one query.
    row = conn.execute(text(
        f"SELECT c.last_purchase_day, c.id, (SELECT COUNT(*) FROM customer c WHERE {where}) AS n "
        f"FROM customer c WHERE {where} ORDER BY c.last_purchase_day DESC, c.id DESC "
        f"LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM customer c WHERE {where})"
    )).first()
    active = row.n if row else 0
    cursor = encode_cursor([row.last_purchase_day, row.id]) if row else None

    def commonest(length: int):
        return conn.execute(text(
            f"SELECT c.name, COUNT(*) AS n FROM customer c WHERE {where} AND LENGTH(c.name) = {length} "
            "GROUP BY c.name ORDER BY n DESC, c.name LIMIT 1"
        )).first()

    zhang_wei = conn.execute(text(f"SELECT COUNT(*) FROM customer c WHERE {where} AND c.name_key = '张伟'")).scalar_one()
    name2 = ("张伟", zhang_wei) if zhang_wei else commonest(2)
    name3 = commonest(3)
    sample = conn.execute(text(
        f"SELECT c.id, c.code, c.mobile, c.store_id FROM customer c WHERE {where} AND c.purchase_count > 0 "
        "AND c.mobile IS NOT NULL AND LENGTH(c.mobile) = 11 AND c.store_id <> :avoid "
        "ORDER BY c.last_purchase_day DESC, c.id DESC LIMIT 1"
    ), {"avoid": avoid_store or -1}).first()
    store_size = None
    if sample:
        store_size = conn.execute(text(f"SELECT COUNT(*) FROM customer c WHERE {ACTIVE} AND c.store_id = :s"),
                                  {"s": sample.store_id}).scalar_one()

    def q(value):
        return "/customers/?" + urlencode({"q": value})

    pages = [
        Page("dashboard", "/"),
        Page("customer list", "/customers/"),
        Page("deep page (~50 %)", f"/customers/?{urlencode({'after': cursor})}" if cursor else None),
        Page(f"search 2-char {name2[0]}" if name2 else "search 2-char name", q(name2[0]) if name2 else None,
             f"{name2[1]:,} named so" if name2 else ""),
        Page(f"search 3-char {name3[0]}" if name3 else "search 3-char name", q(name3[0]) if name3 else None,
             f"{name3[1]:,} named so" if name3 else ""),
        Page(f"search mobile {mask(sample.mobile)}" if sample else "search mobile",
             q(sample.mobile) if sample else None),
        Page(f"search code {sample.code}" if sample else "search code", q(sample.code) if sample else None),
        Page("filter vip", "/customers/?category=vip"),
        Page("filter churn, by spend", "/customers/?churn=any&sort=spend"),
        Page("churn", "/customers/churn"),
        Page("care", "/customers/care"),
        Page("duplicates", "/customers/duplicates"),
        Page("detail", f"/customers/{sample.id}" if sample else None),
        Page("analysis notes", f"/customers/{sample.id}/analysis" if sample else None),
        Page("loyalty", f"/customers/{sample.id}/loyalty" if sample else None),
        Page("export csv (1 store)", f"/customers/export.csv?{urlencode({'store': sample.store_id})}" if sample else None,
             f"{store_size:,} rows" if store_size is not None else ""),
    ]
    # Complaints (issue 9): the queue's tabs, one complaint, the statistics of a year.
    complaint_where = "1=1" if stores is None else f"c.store_id IN ({', '.join(str(s) for s in stores) or '-1'})"
    complaint = conn.execute(text(
        f"SELECT c.id FROM complaint c WHERE {complaint_where} AND c.escalated = {'true' if conn.dialect.name == 'postgresql' else '1'} "
        "ORDER BY c.received_at DESC, c.id DESC LIMIT 1")).first()
    pages += [
        Page("complaint queue", "/complaints/"),
        Page("complaints overdue", "/complaints/?tab=overdue"),
        Page("complaints, all, newest", "/complaints/?tab=all"),
        Page("complaint detail (escalated)", f"/complaints/{complaint.id}" if complaint else None),
        Page("complaint statistics by store", "/complaints/statistics?group=store"),
        Page("complaint statistics by month", "/complaints/statistics?group=month"),
    ]
    # Audits (issue 10): the plan's tabs, the calendar, one published audit, corrective actions, rankings.
    audit_where = "1=1" if stores is None else f"a.store_id IN ({', '.join(str(s) for s in stores) or '-1'})"
    audit = conn.execute(text(
        f"SELECT a.id FROM store_audit a WHERE {audit_where} AND a.published_at IS NOT NULL "
        "ORDER BY a.published_at DESC, a.id DESC LIMIT 1")).first()
    pages += [
        Page("audit plan, all", "/audits/?tab=all"),
        Page("audit plan, overdue", "/audits/?tab=overdue"),
        Page("audit calendar", "/audits/calendar"),
        Page("audit detail (published)", f"/audits/{audit.id}" if audit else None),
        Page("corrective actions, open", "/audits/actions"),
        Page("audit rankings", "/audits/rankings"),
    ]
    # Training (issue 11): the teams, the register, the gap report's tabs, one employee's page, sessions.
    staff_where = "1=1" if stores is None else f"e.store_id IN ({', '.join(str(s) for s in stores) or '-1'})"
    employee = conn.execute(text(
        f"SELECT e.id FROM employee e WHERE {staff_where} AND e.status <> 'left' ORDER BY e.id LIMIT 1")).first()
    pages += [
        Page("teams and training", "/training/"),
        Page("staff register", "/training/staff"),
        Page("staff search (name prefix)", "/training/staff?q=%E7%8E%8B"),
        Page("training gaps, overdue", "/training/gaps"),
        Page("training gaps, expiring", "/training/gaps?tab=expiring"),
        Page("employee page", f"/training/staff/{employee.id}" if employee else None),
        Page("training sessions", "/training/sessions"),
    ]
    # Surveys, KPIs and the evaluation (issue 12): the current survey's results, its responses,
    # the follow-ups, the KPI table, the overview with its charts, the warnings, the evaluation.
    project = conn.execute(text(
        "SELECT p.id FROM survey_project p JOIN questionnaire q ON q.id = p.questionnaire_id "
        "WHERE q.kind = 'index' ORDER BY p.year DESC, p.half DESC, p.id DESC LIMIT 1")).first()
    pages += [
        Page("survey results", f"/surveys/projects/{project.id}" if project else None),
        Page("survey responses", f"/surveys/projects/{project.id}/responses" if project else None),
        Page("survey follow-ups", "/surveys/follow-ups"),
        Page("KPI table", "/kpis/"),
        Page("CX overview (charts)", "/kpis/dashboard"),
        Page("KPI warnings", "/kpis/warnings"),
        Page("half-yearly evaluation", "/kpis/evaluation"),
    ]
    # Deliveries and the logistics partners' KPIs (issue 12, the Amazon case).
    carrier = conn.execute(text("SELECT id FROM logistics_partner WHERE active ORDER BY id LIMIT 1")).first()
    pages += [
        Page("delivery partners", "/logistics/"),
        Page("delivery partner page", f"/logistics/partners/{carrier.id}" if carrier else None),
        Page("deliveries on their way", "/logistics/deliveries"),
        Page("deliveries, all", "/logistics/deliveries?tab=all"),
    ]
    # The loyalty programme (issue 14): the ledger of the sample customer, the counter's form,
    # redemptions and the catalogue, and the points lapsing soon.
    pages += [
        Page("points ledger", f"/loyalty/customers/{sample.id}" if sample else None),
        Page("redeem form", f"/loyalty/customers/{sample.id}/redeem" if sample else None),
        Page("redemptions", "/loyalty/"),
        Page("reward catalogue", "/loyalty/rewards"),
        Page("care: points lapsing", "/customers/care?tab=points"),
        Page("offers", "/loyalty/offers"),
        Page("member events", "/loyalty/events"),
        Page("value segments", "/loyalty/segments"),
        Page("relationship reviews", "/loyalty/reviews"),
        Page("lost customers", "/loyalty/lost"),
    ]
    # Governance (issue 15): announcements (headquarters' page of one lists its stores by keyset),
    # the numbered manual copies and the privacy policy.
    notice = conn.execute(text("SELECT id FROM announcement WHERE status = 'published' "
                               "ORDER BY stores_count DESC, id LIMIT 1")).first()
    pages += [
        Page("announcements", "/governance/announcements"),
        Page("announcement (stores)", f"/governance/announcements/{notice.id}" if notice else None),
        Page("manual copies", "/governance/copies"),
        Page("privacy policy", "/privacy"),
    ]
    # Improvement projects and the feedback-to-improvement cycle (issue 15, part 3): the register,
    # one project, the suggestions and praise to classify and to screen.
    project = conn.execute(text("SELECT id FROM improvement_project ORDER BY parts_count DESC, id LIMIT 1")).first()
    pages += [
        Page("improvement projects", "/governance/projects"),
        Page("improvement project", f"/governance/projects/{project.id}" if project else None),
        Page("feedback to classify", "/governance/feedback"),
        Page("feedback to screen", "/governance/feedback?tab=classified"),
    ]
    scope = "all stores" if stores is None else f"{len(stores)} store{'s' * (len(stores) != 1)}"
    return pages, f"{username}: {scope}, {active:,} active customers"


def import_store(conn):
    """The store the concurrent import writes to: the last open one outside owner-a's franchisee
    (whose pages are timed), and no role's sample customer or export is taken from it."""
    from sqlalchemy import text

    owner_a = conn.execute(text('SELECT franchisee_id FROM "user" WHERE username = :u'), {"u": "owner-a"}).scalar()
    return conn.execute(text(
        "SELECT s.id, s.code, s.franchisee_id FROM store s WHERE s.status = 'open' AND s.franchisee_id <> :f "
        "ORDER BY s.id DESC LIMIT 1"), {"f": owner_a or -1}).first()


def dataset_sizes(conn) -> dict:
    from sqlalchemy import text

    return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("store", "customer", "purchase", "points_entry", "complaint", "store_audit", "audit_answer", "employee",
                      "attendance")}


# --- 2. gunicorn --------------------------------------------------------------------------

def free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port in 8700-8799")


class Server:
    def __init__(self, url: str, work: Path):
        self.port = free_port()
        self.log_path = work / "gunicorn.log"
        self.env = dict(
            os.environ,
            PORTAL_CONFIG="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=url,
            COUNT_STATEMENTS="1",
            RATELIMIT_STORAGE_URI="memory://",
            IMPORT_DIR=str(work / "imports"),
        )
        self.process = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{self.port}", "--no-control-socket", "scripts.bench_wsgi:app"]
        self._log = open(self.log_path, "ab")
        # Own session: a Ctrl-C in the terminal reaches only the bench, which stops gunicorn itself.
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=self._log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if fetch(self.port, "/__hello", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 90 s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --- 3. HTTP --------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def fetch(port: int, path: str, method: str = "GET", body: str | None = None, cookie: str | None = None,
          timeout: float = TIMEOUT) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept-Encoding": "identity"}
        if cookie:
            headers["Cookie"] = f"{COOKIE}={cookie}"
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body.encode() if body is not None else None, headers=headers)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def session_cookie(response: Response) -> str | None:
    # Production cookies are Secure (https only); the bench reads and resends it itself over http.
    for header in response.headers.get_all("Set-Cookie") or []:
        m = re.match(rf"\s*{COOKIE}=([^;]*)", header)
        if m:
            return m.group(1)
    return None


def sign_in(port: int, username: str) -> str:
    page = fetch(port, "/login")
    cookie = session_cookie(page)
    m = re.search(rb'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page.body) or \
        re.search(rb'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', page.body)
    if page.status != 200 or not m:
        raise RuntimeError(f"GET /login: {page.status}, no csrf_token")
    form = urlencode({"csrf_token": m.group(1).decode(), "login": username, "password": PASSWORD, "next": ""})
    answer = fetch(port, "/login", "POST", form, cookie)
    cookie = session_cookie(answer) or cookie
    if answer.status != 302:
        raise RuntimeError(f"sign-in as {username}: HTTP {answer.status} (expected a redirect)")
    # Signed in: the sign-in page now sends the user on (whatever the dashboard itself answers).
    check = fetch(port, "/login", cookie=cookie)
    if check.status != 302:
        raise RuntimeError(f"sign-in as {username} did not hold: GET /login answers {check.status}")
    return cookie


class Client:
    """One persistent connection, as a browser keeps one (sync workers close it after each answer;
    http.client then reconnects by itself)."""

    def __init__(self, port: int, cookie: str | None):
        self.port = port
        self.headers = {"Accept-Encoding": "identity"}
        if cookie:
            self.headers["Cookie"] = f"{COOKIE}={cookie}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def get(self, path: str) -> tuple[float, int | None, str | None, str]:
        """(ms, status or None, X-SQL-Statements, error text)"""
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=self.headers)
            r = self.conn.getresponse()
            r.read()
            return (time.perf_counter() - started) * 1000, r.status, r.getheader("X-SQL-Statements"), ""
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            return (time.perf_counter() - started) * 1000, None, None, type(error).__name__

    def close(self) -> None:
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def run_wrk(port: int, path: str, cookie: str | None) -> dict:
    cmd = ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{WRK_SECONDS}s", "--timeout", f"{TIMEOUT}s"]
    if cookie:
        cmd += ["-H", f"Cookie: {COOKIE}={cookie}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=WRK_SECONDS + 90).stdout
    except subprocess.TimeoutExpired:
        return {"rps": None, "non2xx": 0, "socket": 0, "failed": "wrk timed out"}
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket": sum(int(n) for n in sock.groups()) if sock else 0,
        "failed": "" if rps else (out.strip().splitlines() or ["no output"])[-1],
    }


@dataclass
class Row:
    role: str
    page: Page
    skipped: str = ""
    times: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)  # non-200 status (or exception name) -> count
    sql: str | None = None
    wrk: dict = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    @property
    def seq_errors(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return self.seq_errors + self.wrk.get("non2xx", 0) + self.wrk.get("socket", 0) + bool(self.wrk.get("failed"))


def measure(port: int, role: str, page: Page, cookie: str | None) -> Row:
    row = Row(role, page, started=time.time())
    try:
        if page.path is None:
            row.skipped = "nothing in scope"
            return row
        client = Client(port, cookie)
        try:
            began = time.monotonic()
            for i in range(WARMUP):
                ms, status, sql, error = client.get(page.path)
                if i == 0 and status == 403:
                    row.skipped = "403"
                    return row
                if time.monotonic() - began > PAGE_SECONDS:
                    break
            began = time.monotonic()
            for i in range(RUNS):
                ms, status, sql, error = client.get(page.path)
                row.times.append(ms)
                if status != 200:
                    key = f"HTTP {status}" if status else error
                    row.statuses[key] = row.statuses.get(key, 0) + 1
                row.sql = sql
                if i + 1 >= MIN_RUNS and time.monotonic() - began > PAGE_SECONDS:
                    break
        finally:
            client.close()
        row.wrk = run_wrk(port, page.path, cookie)
        # Requests wrk left in gunicorn's queue are served before this answers.
        try:
            fetch(port, "/__hello", timeout=120)
        except OSError:
            pass
        return row
    finally:
        row.ended = time.time()


# --- 6. the concurrent import ---------------------------------------------------------------

class Import:
    """A customer file of IMPORT_ROWS rows, checked then imported by ``flask customers run-import``."""

    def __init__(self, app, url: str, server: Server, work: Path, store):
        self.app, self.url, self.server, self.work = app, url, server, work
        self.thread = None
        self.process = None
        self.cancelled = False
        self.result = {"ok": False, "message": "not run"}
        self.started = self.ended = None
        self.store = store  # (id, code, franchisee_id)
        self.sequence_last = None
        self.job_id = None
        self.output = ""

    def prepare(self) -> None:
        from sqlalchemy import insert, select, text

        from app.extensions import db
        from app.models import CustomerImport, CustomerSequence

        leftover = self.cleanup()
        if leftover:
            log(f"removed {leftover:,} customers left in {self.store.code} by an earlier, interrupted bench import"
                + self.refresh_rollups())
        from scripts.import_file import write_customer_csv

        with self.app.app_context(), db.engine.begin() as conn:
            admin = conn.execute(text('SELECT id FROM "user" WHERE username = :u'), {"u": "hq-admin"}).scalar()
            if admin is None:
                raise RuntimeError("no hq-admin to run the import as")
            store = self.store
            seq = CustomerSequence.__table__
            self.sequence_last = conn.execute(select(seq.c.last).where(seq.c.store_id == store.id)).scalar()
            taken = set(conn.execute(text("SELECT mobile FROM customer WHERE franchisee_id = :f AND mobile IS NOT NULL"),
                                     {"f": store.franchisee_id}).scalars())
            folder = self.work / "imports"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "bench.csv"
            write_customer_csv(path, IMPORT_ROWS, [store.code], taken, tag=IMPORT_TAG)
            self.job_id = conn.execute(insert(CustomerImport.__table__).values(
                store_id=store.id, franchisee_id=store.franchisee_id, created_by_id=admin,
                filename="bench-customers.csv", stored_as=path.name, file_kind="csv",
                size=path.stat().st_size, encoding="utf-8-sig")).inserted_primary_key[0]
        db_dispose(self.app)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="bench-import", daemon=True)
        self.thread.start()

    def _step(self, name: str) -> dict:
        from sqlalchemy import text

        from app.extensions import db

        started = time.perf_counter()
        self.process = subprocess.Popen(FLASK + ["customers", "run-import", str(self.job_id)], cwd=ROOT,
                                        env=self.server.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        out, _ = self.process.communicate()
        self.output += out
        wall = time.perf_counter() - started
        with self.app.app_context(), db.engine.connect() as conn:
            job = conn.execute(text("SELECT state, seconds, peak_memory_mb, message, imported_rows, total_rows, "
                                    "error_rows FROM customer_import WHERE id = :i"), {"i": self.job_id}).one()
        db_dispose(self.app)
        return {"step": name, "wall": wall, "rc": self.process.returncode, **job._asdict()}

    def _run(self) -> None:
        from sqlalchemy import text

        from app.extensions import db

        self.started = time.time()
        try:
            check = self._step("check")
            self.result = {"ok": False, "check": check}
            if check["state"] != "ready":
                self.result["message"] = f"check ended '{check['state']}': {check['message'] or ''} " \
                                         f"({check['error_rows']} rows with errors)"
                return
            if self.cancelled:
                return
            with self.app.app_context(), db.engine.begin() as conn:
                conn.execute(text("UPDATE customer_import SET state = 'importing' WHERE id = :i"), {"i": self.job_id})
            db_dispose(self.app)
            done = self._step("import")
            self.result.update(ok=done["state"] == "done" and done["imported_rows"] == IMPORT_ROWS, done=done,
                               message="" if done["state"] == "done" else
                               f"import ended '{done['state']}': {done['message'] or ''}")
        except Exception as error:  # reported, never fatal for the bench
            self.result["message"] = f"{type(error).__name__}: {error}"
        finally:
            self.ended = time.time()

    def running_during(self, row: Row) -> bool:
        if self.started is None:
            return False
        end = self.ended or time.time()
        return row.started < end and row.ended > self.started

    def stop(self) -> None:
        """Wait for the import (or end it, after Ctrl-C) before the server goes away."""
        while self.thread is not None and self.thread.is_alive():
            if self.cancelled and self.process and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)  # the import rolls back: nothing is written
            self.thread.join(timeout=1)

    def cleanup(self) -> int:
        """Delete the customers a bench import made (and the rows that point at them); returns how many.

        On its own engine, without the portal's foreign-key enforcement: every referencing row is
        deleted first anyway, and checking each deleted customer against unindexed referencing
        columns (customer.merged_into_id) costs a scan of the whole table per row. PostgreSQL skips
        those checks with session_replication_role = replica when the role may set it.
        """
        from sqlalchemy import create_engine, delete, func, select, text, update

        from app.models import Customer, CustomerSequence

        customer, seq = Customer.__table__, CustomerSequence.__table__
        ids = select(customer.c.id).where(customer.c.store_id == self.store.id, customer.c.tags == IMPORT_TAG)
        sqlite = self.url.startswith("sqlite")
        engine = create_engine(sqlalchemy_url(self.url), **({"connect_args": {"timeout": 120}} if sqlite else {}))
        try:
            with engine.connect() as conn:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction: takes effect
                    conn.commit()
                removed = conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
                if self.job_id is not None:  # an interrupted run leaves no job that looks as if it still runs
                    conn.execute(text("UPDATE customer_import SET state = 'failed', message = 'make bench was "
                                      "interrupted' WHERE id = :i AND state IN ('validating', 'importing')"),
                                 {"i": self.job_id})
                    conn.commit()
                if not removed:
                    return 0
                if not sqlite:
                    try:
                        with conn.begin_nested():
                            conn.execute(text("SET LOCAL session_replication_role = replica"))
                    except Exception:
                        log("(not allowed to skip foreign-key checks: the clean-up may take long)")
                _delete_referencing(conn, customer, ids)
                conn.execute(delete(customer).where(customer.c.id.in_(ids)))
                last = self.sequence_last
                if last is None:  # an earlier run's leftovers: the highest code number still in use
                    codes = conn.execute(select(customer.c.code).where(customer.c.store_id == self.store.id)).scalars()
                    last = max((int(c.rsplit("-", 1)[1]) for c in codes if c.rsplit("-", 1)[-1].isdigit()), default=0)
                conn.execute(update(seq).where(seq.c.store_id == self.store.id).values(last=last))
                conn.commit()
        finally:
            engine.dispose()
        return removed

    def refresh_rollups(self) -> str:
        """The store's roll-ups (customer counts) as they were before the import."""
        from app.extensions import db
        from app.security.tenancy import unscoped

        try:
            from app.services import rollups
        except ImportError:
            return ""
        try:
            with self.app.app_context(), unscoped():
                rollups.touch(self.store.id)
                db.session.commit()
            return ""
        except Exception as error:
            return f"; ROLL-UPS OF {self.store.code} NOT REFRESHED ({type(error).__name__}: {error})"
        finally:
            db_dispose(self.app)


def _delete_referencing(conn, table, ids, depth: int = 0) -> None:
    """Delete, deepest first, the rows of every table whose foreign key points at ``ids`` of ``table``."""
    from sqlalchemy import delete, select

    from app.extensions import db

    for other in db.metadata.sorted_tables:
        if other is table:  # customer.merged_into_id: imported customers are never merge targets
            continue
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            where = fk.parent.in_(ids)
            if depth < 3 and "id" in other.c:
                _delete_referencing(conn, other, select(other.c.id).where(where), depth + 1)
            conn.execute(delete(other).where(where))


def db_dispose(app) -> None:
    """Hold no connection while gunicorn runs (an idle SQLite connection is harmless; a pool is not needed)."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- 7. the report -------------------------------------------------------------------------------

def fmt_ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def describe_errors(row: Row) -> str:
    if row.skipped:
        return "—"
    parts = [f"{k} ×{n}" for k, n in row.statuses.items()]
    if row.wrk.get("non2xx"):
        parts.append(f"wrk non-2xx {row.wrk['non2xx']}")
    if row.wrk.get("socket"):
        parts.append(f"wrk socket {row.wrk['socket']}")
    if row.wrk.get("failed"):
        parts.append(f"wrk: {row.wrk['failed']}")
    return f"{row.errors} ({', '.join(parts)})" if parts else "0"


def table_line(row: Row, hello_rps: float | None, during_import: bool) -> str:
    label = row.page.label + (" †" if during_import else "")
    if row.page.note:
        label += f" ({row.page.note})"
    if row.skipped:
        return f"| {row.role} | {label} | — | — | — | — | — | — | — ({row.skipped}) |"
    if row.times and len(row.times) < RUNS:
        label += f" n={len(row.times)}"
    p = [fmt_ms(percentile(row.times, q)) for q in (0.5, 0.95, 0.99)] if row.times else ["—"] * 3
    rps = row.wrk.get("rps")
    share = f"{rps / hello_rps * 100:.1f} %" if rps is not None and hello_rps else "—"
    return (f"| {row.role} | {label} | {p[0]} | {p[1]} | {p[2]} | {f'{rps:,.1f}' if rps is not None else '—'} "
            f"| {share} | {row.sql or '—'} | {describe_errors(row)} |")


def machine() -> str:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, AttributeError):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"nproc {nproc}{f' ({cpu})' if cpu else ''}{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# gunicorn's own lines "[time] [pid] [LEVEL] ..." and Flask's "[time] LEVEL in module: ...".
LOG_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [^\]]*\] (?:\[\d+\] \[(\w+)\]|(\w+) in [\w.]+:) (.*)$")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Timeout|Violation)\b")


def log_findings(path: Path) -> tuple[int, list[str]]:
    """Error records (tracebacks) in gunicorn's log that say "database is locked", and the distinct failures.

    A request whose error page fails too leaves two records: Flask's "Exception on …" and
    gunicorn's "Error handling request …" (gunicorn then answers a bare 500 itself).
    """
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0, []
    records, current = [], None
    for line in lines:
        m = LOG_RECORD.match(line)
        if m:
            current = {"level": m.group(1) or m.group(2), "message": m.group(3), "lines": []}
            records.append(current)
        elif current is not None:
            current["lines"].append(line)
    locked, seen = 0, {}
    for record in records:
        if record["level"] not in ("ERROR", "CRITICAL", "WARNING"):
            continue
        body = record["lines"]
        locked += any("database is locked" in line for line in body) or "database is locked" in record["message"]
        where = [i for i, line in enumerate(body) if EXCEPTION_LINE.match(line)]
        message = record["message"].removeprefix("Exception on ")
        key = f"{message}: {exception_text(body, where[-1])}" if where else message[:200]
        seen[key] = seen.get(key, 0) + 1
    return locked, [f"{n} × {key}" for key, n in sorted(seen.items(), key=lambda kv: -kv[1])][:15]


AUTOFLUSH_NOTE = re.compile(r"\s*\(raised as a result of Query-invoked autoflush[^)]*\)")


def exception_text(lines: list[str], i: int) -> str:
    """The exception at ``lines[i]``, with the message SQLAlchemy puts on the next line after an autoflush note."""
    text = lines[i]
    if AUTOFLUSH_NOTE.search(text):
        text = AUTOFLUSH_NOTE.sub("", text).rstrip(":") + ": " + (lines[i + 1].strip() if i + 1 < len(lines) else "")
        text += " (autoflush)"
    return text[:160]


def locked_in(output: str) -> int:
    """Tracebacks in a process's output that end in "database is locked"."""
    return sum(1 for line in output.splitlines() if line.startswith("sqlite3.OperationalError: database is locked"))


def _terminated(signum, frame):
    raise KeyboardInterrupt  # `kill <pid>` stops the bench as Ctrl-C does: gunicorn and the import end too


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `bash scripts/system-deps.sh bench` (make bench does)")
    url = database_url()
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    prepare_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    options = {"pool_pre_ping": True}
    if kind == "sqlite":
        options["connect_args"] = {"timeout": 60}
    app = create_app("development", SQLALCHEMY_DATABASE_URI=sqlalchemy_url(url), SQLALCHEMY_ENGINE_OPTIONS=options)
    now = datetime.now()
    with app.app_context(), db.engine.connect() as conn:
        sizes = dataset_sizes(conn)
        target = import_store(conn) if IMPORT_ROWS else None
        if IMPORT_ROWS and target is None:
            sys.exit("no open store outside owner-a's franchisee to import into (BENCH_IMPORT_ROWS=0 skips the import)")
        plan = [(user, *role_pages(conn, user, level, target and target.id)) for user, level in ROLES]
        server_version = conn.execute(text("SELECT version()")).scalar() if kind == "postgresql" \
            else f"SQLite {sqlite3.sqlite_version}"
    db_dispose(app)
    for _, _, scope in plan:
        log(scope)

    work = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    server = Server(url, work)
    importer = None
    rows: list[Row] = []
    hello = ceiling = None
    cleanup_note = ""
    try:
        log(f"starting gunicorn on 127.0.0.1:{server.port} (log: {server.log_path})")
        server.start()
        cookies = {user: sign_in(server.port, user) for user, _, _ in plan}
        if IMPORT_ROWS:
            importer = Import(app, url, server, work, target)
            importer.prepare()
        hello = measure(server.port, "—", Page("hello-world /__flask_hello", "/__flask_hello"), None)
        log(f"hello-world (Flask): p50 {percentile(hello.times, .5):.2f} ms, {hello.wrk.get('rps') or 0:,.0f} req/s")
        ceiling = measure(server.port, "—", Page("plain WSGI /__hello", "/__hello"), None)
        log(f"plain WSGI: p50 {percentile(ceiling.times, .5):.2f} ms, {ceiling.wrk.get('rps') or 0:,.0f} req/s")
        if importer:
            log(f"import of {IMPORT_ROWS:,} rows into store {importer.store.code} starts")
            importer.start()
        # BENCH_ONLY="survey,KPI": only the pages whose names contain one of these (a module's pages
        # measured again after a change; the full run is the record).
        only = [part.strip().lower() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()]
        if only:
            plan = [(user, [p for p in pages if any(o in p.label.lower() for o in only)], note)
                    for user, pages, note in plan]
        total = sum(len(pages) for _, pages, _ in plan)
        for user, pages, _ in plan:
            for page in pages:
                row = measure(server.port, user, page, cookies[user])
                rows.append(row)
                p50 = f"p50 {percentile(row.times, .5):.1f} ms, " if row.times else ""
                log(f"[{len(rows)}/{total}] {user} {page.label}: {row.skipped or ''}{p50}"
                    f"{row.wrk.get('rps') or 0:,.1f} req/s, errors {describe_errors(row)}")
        if importer and importer.thread.is_alive():
            log("pages done; waiting for the import to finish")
    except BaseException as error:
        log("interrupted: stopping" if isinstance(error, KeyboardInterrupt) else f"stopping on {error!r}")
        if importer:
            importer.cancelled = True
        raise
    finally:
        if importer:
            importer.stop()
        server.stop()
        if importer:
            try:
                removed = importer.cleanup()
                cleanup_note = f"removed the {removed:,} imported customers afterwards"
                if removed:
                    cleanup_note += importer.refresh_rollups()
            except Exception as error:
                cleanup_note = f"CLEAN-UP FAILED ({type(error).__name__}: {error}); imported rows are tagged '{IMPORT_TAG}'"
            log(cleanup_note)
    report = render(url, kind, now, sizes, server_version, plan, rows, hello, ceiling, importer, server, cleanup_note)
    print(report)
    out = ROOT / "bench-results" / f"{now:%Y-%m-%d}-{kind}-{now:%H%M}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
    log(f"written to {out.relative_to(ROOT)}; gunicorn log: {server.log_path}")


def render(url, kind, now, sizes, server_version, plan, rows, hello, ceiling, importer, server, cleanup_note) -> str:
    locked, findings = log_findings(server.log_path)
    import_locked = locked_in(importer.output) if importer else 0
    hello_rps = hello.wrk.get("rps") if hello else None
    lines = [
        f"# make bench — {now:%Y-%m-%d %H:%M}",
        "",
        f"- database: {kind}, `{shown_url(url)}` ({server_version.split(' on ')[0]})",
        f"- dataset: {sizes['store']:,} stores, {sizes['customer']:,} customers, {sizes['purchase']:,} purchases, "
        f"{sizes['complaint']:,} complaints",
        f"- git commit: {git_commit()}",
        f"- machine: {machine()}",
        f"- server: gunicorn (gunicorn.conf.py: 2 sync workers), PORTAL_CONFIG=production, 127.0.0.1:{server.port}",
        f"- method: per page {WARMUP} warm-up requests, then {RUNS} sequential requests at one client "
        f"(p50/p95/p99; at most {PAGE_SECONDS:g} s once {MIN_RUNS} are done, n= says how many); "
        f"req/s @8 = `wrk -t2 -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s`; SQL statements = X-SQL-Statements of the last "
        "response; errors = non-200 answers + wrk non-2xx and socket errors",
        *[f"- {scope}" for _, _, scope in plan],
        "",
        "| role | page | p50 ms | p95 ms | p99 ms | req/s @8 | % of hello | SQL statements | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        lines.append(table_line(row, hello_rps, importer.running_during(row) if importer else False))
    lines.append("")
    for label, run in (("hello-world (`/__flask_hello`, a bare Flask route in the same gunicorn; "
                        "\"% of hello\" is against this)", hello),
                       ("plain WSGI (`/__hello`, never reaches Flask: the server's ceiling)", ceiling)):
        if run and run.times:
            lines.append(f"{label}: p50 {percentile(run.times, .5):.2f} ms, "
                         f"p95 {percentile(run.times, .95):.2f} ms, p99 {percentile(run.times, .99):.2f} ms, "
                         f"{run.wrk.get('rps') or 0:,.1f} req/s @8, errors {describe_errors(run)}")
            lines.append("")
        else:
            lines.append(f"{label}: not measured")
    lines.append("")
    if importer:
        r = importer.result
        check, done = r.get("check") or {}, r.get("done") or {}
        peak = max([x for x in (check.get("peak_memory_mb"), done.get("peak_memory_mb")) if x is not None], default=None)

        def secs(step):
            return f"{step['seconds']:.1f} s" if step.get("seconds") is not None else \
                (f"{step['wall']:.1f} s wall" if step else "—")

        ok = "ok" if r.get("ok") else f"FAILED: {r.get('message')}"
        span = ""
        if importer.started:
            span = (f"; ran {datetime.fromtimestamp(importer.started):%H:%M:%S}–"
                    f"{datetime.fromtimestamp(importer.ended or time.time()):%H:%M:%S}, "
                    "rows marked † were measured while it ran")
        lines.append(f"import (`flask customers run-import`, into store {importer.store.code}): {IMPORT_ROWS:,} rows, "
                     f"check {secs(check)}, import {secs(done)}, peak {f'{peak:.0f} MB' if peak else '—'}, "
                     f"{ok}{span}; {cleanup_note}")
        # The import's own account of where its time went (app/services/customer_import.py).
        phases = [line.split("import ", 1)[-1] for line in importer.output.splitlines() if "checked and prepared in" in line]
        if phases:
            lines.append("")
            lines.append(f"import phases: {phases[-1].strip()}")
    else:
        lines.append("import: not run (BENCH_IMPORT_ROWS=0)")
    lines.append("")
    errors = sum(row.errors for row in rows) + sum(r.errors for r in (hello, ceiling) if r)
    seq = sum(row.seq_errors for row in rows) + sum(r.seq_errors for r in (hello, ceiling) if r)
    wrk_errors = errors - seq
    lines.append(f"**errors: {errors}** ({seq} non-200 in the sequential runs, {wrk_errors} from wrk); "
                 f"**\"database is locked\": {locked}** error records in gunicorn's log"
                 + (f", {import_locked} in the import's output" if importer else ""))
    skipped = [f"{r.role} {r.page.label} ({r.skipped})" for r in rows if r.skipped]
    if skipped:
        lines.append("")
        lines.append("not timed: " + "; ".join(skipped))
    if findings:
        lines += ["", "errors in gunicorn's log (request: exception):", "", "```", *findings, "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
