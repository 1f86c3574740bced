"""Command-line tasks: ``flask --app wsgi seed demo`` and ``flask --app wsgi users create-admin``."""
import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.security.tenancy import unscoped

seed = AppGroup("seed", help="Load data into the database.")
users = AppGroup("users", help="Manage portal users.")
customers = AppGroup("customers", help="Customer-file jobs that run outside web requests.")
complaints = AppGroup("complaints", help="Complaint jobs that run outside web requests.")
training = AppGroup("training", help="Training jobs that run outside web requests.")
kpis_group = AppGroup("kpis", help="KPI, warning and evaluation jobs that run outside web requests.")


@seed.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """Create the demo network and accounts (safe to run again: nothing is duplicated)."""
    from app.seed import seed_demo as run

    from app.services import network_jobs

    with unscoped():
        summary = run(current_app.config["DEMO_PASSWORD"], only_if_empty=if_empty)
        db.session.commit()
    click.echo(summary)
    # Churn flags, care tasks, duplicate candidates and roll-ups of what was just loaded.
    network_jobs.nightly(progress=click.echo)


@seed.command("large")
@click.option("--stores", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--franchisees", type=click.IntRange(0), help="[default: 15 % of --stores, at most 150]")
@click.option("--regions", type=click.IntRange(1), help="[default: 30, or one per franchisee if fewer]")
@click.option("--customers", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", "seed_value", default=42, show_default=True, help="Same seed, same network.")
@click.option("--complaints", type=click.IntRange(0), help="[default: one per five customers]")
@click.option("--no-derived", is_flag=True, help="Skip computing figures, care tasks and roll-ups afterwards.")
def seed_large(stores: int, franchisees: int | None, regions: int | None, customers: int, seed_value: int,
               complaints: int | None, no_derived: bool) -> None:
    """Load a large, reproducible network on top of the demo (performance work; see app/seed_large.py)."""
    from app.seed_large import LoadRefused, Options, load

    if franchisees is None:
        franchisees = min(150, max(1, round(stores * 0.15)))
    if regions is None:
        regions = max(1, min(30, franchisees))
    options = Options(stores=stores, franchisees=franchisees, regions=regions, customers=customers, seed=seed_value,
                      complaints=complaints)
    with unscoped():
        try:
            load(options, current_app.config["DEMO_PASSWORD"], progress=click.echo, rebuild=not no_derived)
        except LoadRefused as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None


@seed.command("large-training")
@click.option("--seed", "seed_value", default=42, show_default=True)
def seed_large_training(seed_value: int) -> None:
    """Teams and training for the stores of a large database that have no staff yet (issue 11)."""
    from app import seed_large_training as loader

    def end_transaction() -> None:
        db.session.commit()

    with unscoped():
        staff, results = loader.load(seed_value, click.echo, end_transaction)
    click.echo(f"training: {staff:,} staff, {results:,} results")


@seed.command("large-surveys")
@click.option("--seed", "seed_value", default=42, show_default=True)
def seed_large_surveys(seed_value: int) -> None:
    """Surveys of the last eight half-years, their responses, thresholds and KPIs for a large
    database without surveys (issue 12)."""
    from app import seed_large_surveys as loader

    def end_transaction() -> None:
        db.session.commit()

    with unscoped():
        answered = loader.load(seed_value, click.echo, end_transaction)
    click.echo(f"surveys: {answered:,} responses")


@seed.command("large-deliveries")
@click.option("--seed", "seed_value", default=42, show_default=True)
def seed_large_deliveries(seed_value: int) -> None:
    """Carriers and a year of deliveries for a large database without them (issue 12)."""
    from app import seed_large_deliveries as loader

    def end_transaction() -> None:
        db.session.commit()

    with unscoped():
        made = loader.load(seed_value, click.echo, end_transaction)
    click.echo(f"deliveries: {made:,}")


@users.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The administrator's full name.")
@click.option("--email", default=None)
@click.password_option()
def create_admin(username: str, display_name: str, email: str | None, password: str) -> None:
    """Create a headquarters administrator (first set-up of a production database)."""
    from sqlalchemy import select

    from app.models import User
    from app.security.passwords import hash_password

    with unscoped():
        if db.session.scalar(select(User).where(User.username == username.lower())):
            raise click.ClickException(f"user {username!r} already exists")
        db.session.add(
            User(
                username=username.lower(),
                display_name=display_name,
                email=email,
                role="hq_admin",
                password_hash=hash_password(password),
            )
        )
        db.session.commit()
    click.echo(f"created hq_admin {username}")


@customers.command("run-import")
@click.argument("job_id", type=int)
def run_import(job_id: int) -> None:
    """Check or import an uploaded customer file (started by the portal after an upload)."""
    import logging

    from flask import current_app

    from app.services import customer_import

    current_app.logger.setLevel(logging.INFO)  # the phase timings go to the job's log file
    job = customer_import.run(job_id)
    click.echo(f"import {job_id}: {job.state}, {job.total_rows} rows, {job.seconds}s, {job.peak_memory_mb} MB peak")


@customers.command("anonymise-inactive")
def anonymise_inactive() -> None:
    """Anonymise customers with no activity for the retention period (run daily from cron)."""
    from app.models.base import local_today
    from app.services.customers import anonymise_inactive as run

    with unscoped():
        count = run(local_today(), None)
        db.session.commit()
    click.echo(f"anonymised {count} inactive customers")


@customers.command("recompute")
def recompute() -> None:
    """Recompute every customer's figures and every derived table (after a bulk data repair)."""
    from app.services import network_jobs

    network_jobs.rebuild_all(progress=click.echo)
    click.echo("recomputed")


@customers.command("regrade")
def regrade() -> None:
    """Re-grade every customer after a change of rules or tiers (started by the rules page)."""
    from app.services import network_jobs

    ran = network_jobs.regrade(progress=click.echo)
    click.echo("re-graded" if ran else "nothing to re-grade")


@customers.command("nightly")
def nightly() -> None:
    """Renew churn warnings, care tasks, duplicate candidates and roll-ups (run daily from cron)."""
    from app.services import network_jobs

    network_jobs.nightly(progress=click.echo)
    click.echo("nightly job done")


@complaints.command("tick")
def complaints_tick() -> None:
    """Escalate late complaints and send due notifications (cron: every 5 minutes)."""
    from app.services.complaints import alerts

    click.echo(f"complaints tick: {alerts.tick()}")


@complaints.command("rebuild-stats")
def complaints_rebuild_stats() -> None:
    """Recompute the complaint statistics roll-up from all complaints (after an upgrade)."""
    from app.services.complaints import stats

    from app.services.network_jobs import optimise

    with unscoped():
        stats.rebuild(progress=click.echo)
        db.session.commit()
        optimise(full=True)  # the planner's statistics of the new rows (a store's pages use its index)


@complaints.command("worker")
@click.option("--every", default=60, show_default=True, help="Seconds between runs.")
def complaints_worker(every: int) -> None:
    """Run the complaint job for ever, every N seconds (instead of cron, e.g. under systemd)."""
    from app.jobs import run_periodically

    run_periodically(current_app._get_current_object(), every, echo=click.echo)


@training.command("refresh")
@click.option("--positions", default="", help="Comma-separated position ids whose staff to recompute.")
def training_refresh(positions: str) -> None:
    """After a change to the requirement matrix or the staffing norms: the staff of these
    positions (none: only every store's figures), a slice per transaction."""
    from app.services.training import records

    ids = [int(p) for p in positions.split(",") if p.strip().isdigit()]
    with unscoped():
        done = records.refresh_positions(ids, commit=db.session.commit)
        db.session.commit()
    click.echo(f"training refresh: {done:,} staff, every store's figures")


@kpis_group.command("refresh")
@click.option("--period", type=int, help="Half-year as yyyyH, e.g. 20261 (default: the current one).")
def kpis_refresh(period: int | None) -> None:
    """Compute a half-year's KPIs, open its warnings and evaluate its stores (the nightly job does
    the current half-year)."""
    import time

    from app.models.base import local_today
    from app.services import evaluation, kpis

    period = period or kpis.period_of(local_today())
    if period % 10 not in (1, 2) or not 2000 <= period // 10 <= 2100:
        raise click.BadParameter("a half-year is yyyy1 or yyyy2, e.g. 20261")
    started = time.perf_counter()
    stores = kpis.refresh(period)
    warnings = kpis.evaluate(period)
    kpis.notify_owners(warnings)
    scored = evaluation.evaluate(period)
    db.session.commit()
    click.echo(f"{kpis.label(period)}: {stores} stores, {len(warnings)} new warnings, {scored} evaluated, "
               f"{time.perf_counter() - started:.1f} s")


@kpis_group.command("rebuild-deliveries")
def deliveries_rebuild() -> None:
    """Recount the partners' monthly delivery figures from the deliveries (they are kept as
    deliveries change; this is for after a bulk load or a repair)."""
    from app.services import logistics

    with unscoped():
        rows = logistics.rebuild()
        db.session.commit()
    click.echo(f"{rows} partner/store/month rows recounted")


reports_group = AppGroup("reports", help="Printed PDF reports: checks, batches and their workers (issue 13).")


@reports_group.command("check")
def reports_check() -> None:
    """Check that reports can be printed fast: HarfBuzz subsetting, the shipped fonts, one render."""
    import time

    from app.services import pdf

    problem = pdf.subsetting_problem()
    if problem:
        raise click.ClickException(problem)
    started = time.perf_counter()
    pdf.warm_up()
    click.echo(f"HarfBuzz subsetting available; fonts loaded and a first page printed in "
               f"{time.perf_counter() - started:.2f} s")


@reports_group.command("batch")
@click.option("--period", type=int, required=True, help="half-year as yyyyh, e.g. 20261")
@click.option("--franchisee-id", type=int, help="a franchisee's id (default: every open store of the network)")
@click.option("--lang", "language", default="zh_Hans", type=click.Choice(["zh_Hans", "en"]))
@click.option("--workers", type=int, default=None, help="processes (default REPORT_WORKERS)")
def reports_batch(period: int, franchisee_id: int | None, language: str, workers: int | None) -> None:
    """Print every open store's evaluation report for a half-year, with a progress bar."""
    import time

    from flask import current_app

    from app.models import Franchisee
    from app.models.report import ReportBatch
    from app.security.scope import NETWORK
    from app.services import RuleError
    from app.services.reports import batches

    with unscoped():
        if franchisee_id is not None and db.session.get(Franchisee, franchisee_id) is None:
            raise click.ClickException(f"no franchisee {franchisee_id}")
        try:
            batch = batches.start(period, language, None, NETWORK, franchisee_id, run="cli")
        except batches.AlreadyRunning as running:
            raise click.ClickException(f"batch {running.batch.id} for the same stores is under way; "
                                       f"`flask reports run-batch {running.batch.id}` helps it along")
        except RuleError as error:
            raise click.ClickException(str(error))
        batch_id, total = batch.id, batch.total
    started = time.perf_counter()
    with click.progressbar(length=total, label=f"batch {batch_id}: {total} store reports") as bar:
        seen = [0]

        def progress(finished: int) -> None:
            bar.update(finished - seen[0])
            seen[0] = finished

        batches.run_pool(batch_id, workers or current_app.config["REPORT_WORKERS"], progress)
    with unscoped():
        batch = db.session.get(ReportBatch, batch_id)
        click.echo(f"batch {batch_id}: {batch.done} done, {batch.failed} failed in {time.perf_counter() - started:.1f} s")


@reports_group.command("run-batch")
@click.argument("batch_id", type=int)
@click.option("--workers", type=int, default=None, help="processes (default REPORT_WORKERS)")
def reports_run_batch(batch_id: int, workers: int | None) -> None:
    """Render a batch's pending reports (started by the portal when no Redis is configured)."""
    from flask import current_app

    from app.services.reports import batches

    batches.run_pool(batch_id, workers or current_app.config["REPORT_WORKERS"])
    click.echo(f"batch {batch_id} finished")


@reports_group.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
def reports_worker(burst: bool) -> None:
    """An RQ worker for report batches (REDIS_URL): start one per core, on any machine."""
    from flask import current_app
    from redis import Redis
    from rq import Queue, SimpleWorker

    from app.services import pdf
    from app.services.reports.batches import QUEUE

    url = current_app.config["REDIS_URL"]
    if not url:
        raise click.ClickException("REDIS_URL is not set: batches run in a process of their own instead")
    pdf.warm_up()  # fonts and stylesheet once, before the first job: jobs run in this process
    connection = Redis.from_url(url)
    SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=burst)


def register(app) -> None:
    app.cli.add_command(kpis_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(training)
    app.cli.add_command(complaints)
    app.cli.add_command(customers)
    app.cli.add_command(seed)
    app.cli.add_command(users)
