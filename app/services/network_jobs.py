"""Jobs that keep stored figures right as time passes: ``flask customers nightly``.

Each step works through the network a slice at a time and commits after each
slice, so no transaction stays open for long and the portal keeps serving (on
SQLite a writer holds the database only for one slice).

- lifetime value, category, tier (recency and activity decay) and churn flags: they change
  with the calendar; store by store, writing only the rows that change;
- care tasks for the look-ahead window, and missed ones retired;
- duplicate candidates, franchisee by franchisee;
- every roll-up;
- planner statistics (ANALYZE on PostgreSQL, ``PRAGMA optimize`` on SQLite).

``rebuild_all`` also recomputes every customer's figures from their purchases:
after a bulk load (``seed large``) or a data repair.
"""
import time
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text, update

from app import jobs
from app.database import writer
from app.extensions import db
from app.models import Customer, CustomerRules, FormReceipt, Franchisee, Store
from app.models.base import utcnow, local_today
from app.security.tenancy import unscoped
from app.services.loyalty import expiry, ledger, relations
from app.services import customer_analytics as analytics
from app.services import customer_care as care
from app.services import customer_duplicates as duplicates
from app.services import rollups

STORES_PER_SLICE = 25
CUSTOMERS_PER_SLICE = 5000


def _quiet(_message: str) -> None:
    pass


def _timed(progress, label: str, started: float) -> None:
    progress(f"{label}: {time.perf_counter() - started:.1f} s")


def nightly(today: date | None = None, progress=_quiet) -> None:
    """Bring every stored figure up to date for ``today``."""
    regrade(progress)  # a re-grade whose process died is finished first
    with writer():
        _nightly(today or local_today(), progress)


def request_regrade() -> None:
    """Ask for every customer's category, grade, tier and churn flags to be recomputed with the
    rules as they will be committed; ``start_regrade`` after the commit does it."""
    analytics.get_rules().regrade_requested_at = utcnow()


def start_regrade() -> None:
    """Run ``regrade`` in a process of its own (``flask customers regrade``): on a million
    customers it takes minutes, which no web request may hold. Inline in the tests."""
    if jobs.runs_inline():
        regrade()
        return
    jobs.start_command("customers", "regrade")


def regrade(progress=_quiet) -> bool:
    """Re-grade every customer with the current rules, a slice of stores per transaction, if a
    change asked for it; again if the rules changed meanwhile. Returns whether it ran."""
    ran = False
    with writer():
        while True:
            rules = analytics.get_rules()
            requested, pending = rules.regrade_requested_at, rules.regrade_pending
            db.session.commit()
            if not pending:
                return ran
            ran = True
            started = time.perf_counter()
            today = local_today()
            with unscoped():
                store_ids = db.session.scalars(select(Store.id).order_by(Store.id)).all()
            db.session.commit()
            for start in range(0, len(store_ids), STORES_PER_SLICE):
                in_slice = Customer.store_id.in_(store_ids[start:start + STORES_PER_SLICE])
                with unscoped():
                    analytics.apply_rules(where=in_slice, today=today)
                    analytics.update_churn(today, in_slice)
                    rollups.refresh_stores(store_ids[start:start + STORES_PER_SLICE])  # VIPs, warnings
                db.session.commit()
            with unscoped():
                db.session.execute(
                    update(CustomerRules).where(CustomerRules.id == 1, CustomerRules.regrade_requested_at == requested)
                    .values(regraded_at=requested)
                )
            db.session.commit()
            _timed(progress, "re-grade with the new rules", started)


def _nightly(today: date, progress) -> None:
    rules = analytics.get_rules()
    with unscoped():
        store_ids = db.session.scalars(select(Store.id).order_by(Store.id)).all()
        franchisee_ids = db.session.scalars(select(Franchisee.id).order_by(Franchisee.id)).all()
    db.session.commit()

    started = time.perf_counter()
    made = 0
    for start in range(0, len(store_ids), STORES_PER_SLICE):
        in_slice = Customer.store_id.in_(store_ids[start:start + STORES_PER_SLICE])
        # Lifetime value, category and tier depend on how long ago the last purchase was.
        with unscoped():
            analytics.apply_rules(where=in_slice, today=today, only_changed=True)
        analytics.update_churn(today, in_slice, rules)
        made += care.generate(rules, today, in_slice)
        db.session.commit()
    _timed(progress, f"figures as of today, churn flags and care tasks ({made} tasks made)", started)

    # Points (issue 14): what lapsed yesterday goes, slice by slice; then the notices of what lapses soon.
    started = time.perf_counter()
    with unscoped():
        lapsed = expiry.expire(today, commit=db.session.commit)
        told = expiry.notify(rules, today)
    db.session.commit()
    _timed(progress, f"points expiry ({lapsed} customers' points lapsed, {told} notices made)", started)
    started = time.perf_counter()
    with unscoped():
        added = relations.add_important(today)
    db.session.commit()
    _timed(progress, f"relationships of new VIP and business customers ({added} added)", started)

    started = time.perf_counter()
    pairs = 0
    for franchisee_id in franchisee_ids:
        pairs += duplicates.rebuild(franchisee_id)
        db.session.commit()
    _timed(progress, f"duplicate candidates ({pairs} pairs)", started)

    started = time.perf_counter()
    rollups.rebuild(progress)
    db.session.commit()
    _timed(progress, "roll-ups", started)

    # The complaint roll-up is kept as complaints change; rebuilding it nightly also fills it for
    # complaints loaded in bulk (the large seed) and repairs anything a bug left behind.
    started = time.perf_counter()
    from app.services.complaints import stats as complaint_stats

    complaint_stats.rebuild(progress)
    db.session.commit()
    _timed(progress, "complaint statistics", started)

    # Team figures move with the date alone (a certificate expiring, a deadline passing), and
    # store managers are told of their stores' training gaps.
    started = time.perf_counter()
    from app.services.training import alerts as training_alerts, records as training_records

    training_records.nightly(today)
    training_alerts.tick(today)
    db.session.commit()
    _timed(progress, "team and training figures", started)

    # The current half-year's KPIs move with every day's data; their warnings follow (issue 12).
    started = time.perf_counter()
    from app.services import kpis

    period = kpis.period_of(today)
    stores = kpis.refresh(period, today)
    warnings = kpis.evaluate(period)
    kpis.notify_owners(warnings)
    from app.services import evaluation

    scored = evaluation.evaluate(period)
    db.session.commit()
    _timed(progress, f"KPIs of {kpis.label(period)} for {stores} stores ({len(warnings)} new warnings, "
                     f"{scored} stores evaluated)", started)

    forget_old_receipts()
    from app.services import customer_import

    deleted = customer_import.delete_old_files()
    progress(f"import files deleted after the retention period: {deleted}")
    started = time.perf_counter()
    optimise()
    _timed(progress, "planner statistics", started)


def forget_old_receipts() -> None:
    """Saved create forms older than FORM_RECEIPT_DAYS: a post of one now is a new record."""
    cutoff = utcnow() - timedelta(days=current_app.config["FORM_RECEIPT_DAYS"])
    with unscoped():  # bookkeeping of every user's forms
        db.session.execute(delete(FormReceipt).where(FormReceipt.created_at < cutoff))
    db.session.commit()


def recompute_figures(progress=_quiet, today: date | None = None) -> int:
    """Recompute every customer's stored figures from their purchases, a slice at a time."""
    today = today or local_today()
    started = time.perf_counter()
    with unscoped():
        ids = db.session.scalars(select(Customer.id).order_by(Customer.id)).all()
    db.session.commit()
    for start in range(0, len(ids), CUSTOMERS_PER_SLICE):
        analytics.refresh(ids[start:start + CUSTOMERS_PER_SLICE], today)
        db.session.commit()
        done = min(start + CUSTOMERS_PER_SLICE, len(ids))
        if done % 100_000 < CUSTOMERS_PER_SLICE or done == len(ids):
            progress(f"  figures: {done:,} / {len(ids):,} customers, {time.perf_counter() - started:.0f} s")
    return len(ids)


def rebuild_all(progress=_quiet) -> None:
    """After a bulk load: statistics first (the planner needs them), figures, then the nightly job."""
    started = time.perf_counter()
    # Bulk loads may bypass the column default that fills the last four digits.
    with unscoped():
        db.session.execute(
            update(Customer).where(Customer.mobile.is_not(None), Customer.mobile_tail.is_(None))
            .values(mobile_tail=func.substr(Customer.mobile, func.length(Customer.mobile) - 3))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    optimise(full=True)
    recompute_figures(progress)
    _timed(progress, "customer figures", started)
    started = time.perf_counter()
    with writer(), unscoped():
        written = ledger.backfill(analytics.get_rules())
        db.session.commit()
    _timed(progress, f"points ledger ({written:,} entries)", started)
    reclaim(progress)
    nightly(progress=progress)


def reclaim(progress=_quiet) -> None:
    """PostgreSQL, after rewriting every customer: VACUUM (ANALYZE) the customer table. Computing the
    figures of 1,000,000 fresh rows left 2.5 million dead row versions that autovacuum had not yet
    reached (20 s to reclaim; the bench's 100,000-row import then wrote in 15.2 s, 17.9 s before,
    one run each). VACUUM cannot run in a transaction: an autocommit connection of its own."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    started = time.perf_counter()
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) customer"))
    _timed(progress, "vacuum of the customer table", started)


def optimise(full: bool = False) -> None:
    """Refresh the planner's statistics; ``full`` after a bulk load."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        db.session.commit()
        db.session.execute(text("ANALYZE" if full else "PRAGMA optimize"))
    elif dialect == "postgresql":
        db.session.commit()
        db.session.execute(text("ANALYZE"))
    db.session.commit()
