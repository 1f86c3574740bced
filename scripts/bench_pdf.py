"""`make bench-pdf` (and the end of `make bench`): what printing reports costs on this machine.

Against BENCH_DATABASE_URL (default ``sqlite:///<repo>/instance/large.db``, built by `make bench`):

1. **First report in a fresh worker**: a new Python process creates the application and prints
   one store report; the time from the process's start and of the first ``issue()`` alone.
2. **Warm**: BENCH_PDF_REPORTS (20) store reports of different stores in one process: figures
   gathered, rendered, checksummed and stored, against a bare WeasyPrint render of the same HTML
   (``HTML(string=...).write_pdf()`` with the stylesheet parsed each time, as a script would);
   the target is at most twice the bare render. File sizes (target < 400 KB).
3. **Batch**: every open store's report for the half-year through ``flask reports batch`` with
   BENCH_PDF_WORKERS (2) processes (target: 1,000 stores in 10 minutes on 2 cores).
   BENCH_PDF_BATCH=0 skips it.

Prints one markdown table and writes it to bench-results/<date>-pdf-<HHMM>.md. The reports it
prints are deleted again at the end (so the archive of the dataset stays as it was).
"""
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'large.db'}")
REPORTS = int(os.environ.get("BENCH_PDF_REPORTS", "20"))
WORKERS = int(os.environ.get("BENCH_PDF_WORKERS", "2"))
RUN_BATCH = os.environ.get("BENCH_PDF_BATCH", "1") != "0"
FIRST = r"""
import time, sys
started = time.perf_counter()
from app import create_app
from app.extensions import db
from app.security.tenancy import unscoped
from sqlalchemy import select
from app.models import StoreEvaluation
app = create_app()
with app.app_context(), unscoped():
    from app.services import reports
    period = int(sys.argv[1])
    store_id = db.session.scalar(select(StoreEvaluation.store_id).where(StoreEvaluation.period == period)
                                 .order_by(StoreEvaluation.rank).limit(1))
    t = time.perf_counter()
    r = reports.issue("store", period=period, language="zh_Hans", store_id=store_id, network=True)
    done = time.perf_counter()
    print(f"{done - started:.3f} {done - t:.3f} {r.id}")
"""


def log(message: str) -> None:
    print(f"[bench-pdf] {message}", flush=True)


def main() -> None:
    env = dict(os.environ, DATABASE_URL=URL, PORTAL_CONFIG="development", REPORT_RUNNER="process")
    os.environ.update(DATABASE_URL=URL, PORTAL_CONFIG="development")
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import Store, StoreEvaluation
    from app.models.report import Report, ReportBatch, ReportBatchItem, ReportFile
    from app.security.tenancy import unscoped
    from app.services import pdf, reports
    from app.services import kpis as kpi_service

    app = create_app()
    with app.app_context(), unscoped():
        period = db.session.scalar(select(func.max(StoreEvaluation.period)))
        if period is None:
            sys.exit(f"{URL}: no evaluation to report on (run make bench first: it builds the dataset)")
        stores = db.session.scalar(select(func.count(Store.id)).where(Store.status == "open"))
        started_id = db.session.scalar(select(func.max(Report.id))) or 0
        store_ids = db.session.scalars(select(StoreEvaluation.store_id).where(StoreEvaluation.period == period)
                                       .order_by(StoreEvaluation.store_id).limit(REPORTS)).all()
        problem = pdf.subsetting_problem()
    log(f"{URL.split('///')[-1]}: {stores:,} open stores, half-year {kpi_service.label(period)}")
    if problem:
        log(problem)

    # 1. A fresh worker's first report.
    out = subprocess.run([sys.executable, "-c", FIRST, str(period)], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    fresh_total, fresh_issue, _id = out.stdout.split()[-3:]
    log(f"fresh worker: {fresh_total} s from process start, {fresh_issue} s for the first report")

    # 2. Warm reports against a bare render of the same HTML.
    from weasyprint import CSS, HTML

    issue_times, bare_times, sizes, gather_times = [], [], [], []
    with app.app_context(), unscoped():
        reports.issue("store", period=period, language="zh_Hans", store_id=store_ids[0], network=True)  # warm-up
        for store_id in store_ids:
            t = time.perf_counter()
            html, _title, _numbers, _owners = reports.store_html(store_id, period, "zh_Hans", user_name="bench",
                                                                 network=True)
            gather_times.append(time.perf_counter() - t)
            db.session.commit()
            t = time.perf_counter()
            report = reports.issue("store", period=period, language="zh_Hans", store_id=store_id, network=True)
            issue_times.append(time.perf_counter() - t)
            sizes.append(report.size)
            t = time.perf_counter()
            HTML(string=html, base_url=pdf.STATIC.as_uri() + "/").write_pdf(
                stylesheets=[CSS(filename=str(pdf.STYLESHEET))])
            bare_times.append(time.perf_counter() - t)
    warm, bare = statistics.median(issue_times), statistics.median(bare_times)
    log(f"warm store report {warm:.3f} s (figures {statistics.median(gather_times) * 1000:.0f} ms), bare render "
        f"{bare:.3f} s, ratio {warm / bare:.2f}; sizes {min(sizes) // 1024}-{max(sizes) // 1024} KB")

    # 3. The whole network's batch.
    batch_line = "skipped (BENCH_PDF_BATCH=0)"
    batch_seconds = None
    if RUN_BATCH:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "reports", "batch", "--period",
                              str(period), "--workers", str(WORKERS)], cwd=ROOT, env=env, capture_output=True,
                             text=True)
        batch_seconds = time.perf_counter() - t
        batch_line = (out.stdout.strip().splitlines() or ["?"])[-1]
        log(f"batch: {batch_line} ({batch_seconds:.0f} s wall)")

    # 4. The report pages with the batch's 1,000 reports in the archive (Flask test client, in
    #    process: the pages' own cost and statements, not gunicorn's).
    page_rows = measure_pages(app)

    # Leave the dataset's archive as it was.
    with app.app_context(), unscoped():
        made = select(Report.id).where(Report.id > started_id)
        batch_ids = select(ReportBatch.id).where(ReportBatch.id.in_(select(Report.batch_id).where(Report.id > started_id)))
        db.session.execute(ReportFile.__table__.delete().where(ReportFile.report_id.in_(made)))
        db.session.execute(ReportBatchItem.__table__.delete().where(ReportBatchItem.batch_id.in_(batch_ids)))
        ids = db.session.scalars(batch_ids).all()
        db.session.execute(Report.__table__.delete().where(Report.id > started_id))
        db.session.execute(ReportBatch.__table__.delete().where(ReportBatch.id.in_(ids)))
        db.session.commit()

    ok = "✓"
    rows = [
        ("first store report in a fresh worker (fonts and stylesheet loaded on the way)", f"{float(fresh_issue):.2f} s",
         "≤ 2 s", ok if float(fresh_issue) <= 2 else "✗"),
        ("… a new process from its start (Python, the application, then that report)", f"{float(fresh_total):.2f} s",
         "", ""),
        ("warm store report (figures, render, checksum, stored), median", f"{warm:.3f} s", f"≤ 2 × bare = {2 * bare:.3f} s",
         ok if warm <= 2 * bare else "✗"),
        ("bare WeasyPrint render of the same HTML, median", f"{bare:.3f} s", "", ""),
        ("figures of one store report (SQL + template), median", f"{statistics.median(gather_times) * 1000:.0f} ms", "", ""),
        ("store report file size", f"{min(sizes) / 1024:.0f}–{max(sizes) / 1024:.0f} KB", "< 400 KB",
         ok if max(sizes) < 400 * 1024 else "✗"),
        (f"batch of all {stores:,} open stores, {WORKERS} processes", batch_line if batch_seconds is None else
         f"{batch_seconds:.0f} s ({batch_seconds / max(stores, 1):.2f} s a store)", "≤ 600 s for 1,000",
         "" if batch_seconds is None else ok if batch_seconds * 1000 / max(stores, 1) <= 600 else "✗"),
    ]
    lines = [f"# PDF reports — {datetime.now():%Y-%m-%d %H:%M}", "",
             f"Dataset: {URL.split('///')[-1]} ({stores:,} open stores), half-year {kpi_service.label(period)}; "
             f"{REPORTS} different stores for the warm figures; machine: {os.cpu_count()} cores.", "",
             "| measure | result | target | |", "|---|--:|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if page_rows:
        lines += ["", "Report pages with the batch's reports in the archive (in process, p50 of 20; SQL statements):", "",
                  "| role | page | p50 | statements |", "|---|---|--:|--:|"]
        lines += [f"| {role} | {name} | {p50:.1f} ms | {count} |" for role, name, p50, count in page_rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{datetime.now():%Y-%m-%d}-pdf-{datetime.now():%H%M}.md"
    path.write_text(text)
    log(f"written to {path.relative_to(ROOT)}")


def measure_pages(app) -> list[tuple]:
    from sqlalchemy import event, select

    from app.extensions import db
    from app.models import User
    from app.models.report import Report, ReportBatch
    from app.security.tenancy import unscoped

    rows = []
    with app.app_context(), unscoped():
        batch_id = db.session.scalar(select(ReportBatch.id).order_by(ReportBatch.id.desc()).limit(1))
        if batch_id is None:
            return rows
        report_id = db.session.scalar(select(Report.id).where(Report.batch_id == batch_id).order_by(Report.id).limit(1))
        users = {u.username: u for u in db.session.scalars(select(User).where(
            User.username.in_(["hq-admin", "owner-a", "manager-a1"])))}
        engine = db.engine
    statements = []
    listen = lambda *args: statements.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        for username in ("hq-admin", "owner-a", "manager-a1"):
            if username not in users:
                continue
            client = app.test_client()
            page = client.get("/login")
            token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text).group(1)
            client.post("/login", data={"login": username, "password": "demo-pass-2026", "csrf_token": token})
            # The first report the role's own list shows (the network batch's first store is
            # another franchisee's); the network batch's page is headquarters' alone.
            listed = re.search(r'data-testid="report-row"><td><a href="/reports/(\d+)"', client.get("/reports/").text)
            pages = [("reports", "/reports/"), ("report", f"/reports/{listed.group(1) if listed else report_id}")]
            if username == "hq-admin":
                pages.append(("batch", f"/reports/batches/{batch_id}"))
            for name, url in pages:
                times = []
                for _i in range(22):
                    statements.clear()
                    t = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - t) * 1000)
                if response.status_code != 200:
                    rows.append((username, name, float("nan"), f"HTTP {response.status_code}"))
                    continue
                rows.append((username, name, statistics.median(times[2:]), len(statements)))
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    for role, name, p50, count in rows:
        log(f"{role} {name}: {p50:.1f} ms, {count} statements")
    return rows


if __name__ == "__main__":
    main()
