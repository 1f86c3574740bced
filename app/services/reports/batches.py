"""Batches of store reports (issue 13): every open store of a franchisee, or of the network, for
one half-year, rendered outside web requests and downloaded as one ZIP.

- **Runners.** With ``REDIS_URL`` set, the batch becomes RQ jobs on the ``reports`` queue; any
  number of ``flask reports worker`` processes, on any machines sharing the database and Redis,
  take them. Without Redis a process of its own (``flask reports run-batch``) renders the batch
  with ``REPORT_WORKERS`` processes, so ``make run`` needs nothing else. One document uses one
  core: the workers parallelise across documents.
- **Items.** Each store is an item; a worker claims one pending item at a time (an UPDATE that
  only one worker can win), renders it and marks it done or failed, so two workers never
  render the same store and a batch that stopped (a killed worker) resumes with what is left.
  A report and its bytes are written in one transaction: a killed worker leaves no half-file.
- **Twice.** A batch for the same franchisee (or network), half-year and language that is
  still queued or running is not started again: the caller is sent to it.
"""
import hashlib
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import Store, User
from app.models.base import utcnow
from app.models.report import Report, ReportBatch, ReportBatchItem, ReportFile, file_name
from app.security.tenancy import unscoped
from app.services import RuleError

QUEUE = "reports"
ITEMS_PER_JOB = 20


class AlreadyRunning(RuleError):
    def __init__(self, batch: ReportBatch):
        super().__init__(_("This batch is already under way; here is its progress."))
        self.batch = batch


def runner() -> str:
    configured = current_app.config["REPORT_RUNNER"]
    if configured:
        return configured
    return "rq" if current_app.config["REDIS_URL"] else "process"


def start(period: int, language: str, user, scope, franchisee_id: int | None = None, run: str | None = None,
          kind: str = "store", schedule_id: int | None = None) -> ReportBatch:
    """Queue the store reports of ``franchisee_id``'s open stores (None: the network's) for
    ``period`` (``kind`` "franchisee": every franchisee's report, headquarters only); ``scope`` is
    the caller's tenant scope. ``run="cli"``: the caller renders the batch itself (``run_pool``)."""
    if kind not in ("store", "franchisee") or (kind == "franchisee" and not scope.is_network):
        raise RuleError(_("Unknown report."))
    if franchisee_id is None and not scope.is_network:
        raise RuleError(_("Only headquarters prints the whole network's reports."))
    if franchisee_id is not None and not (scope.is_network or (scope.level == "franchisee"
                                                               and scope.covers_franchisee(franchisee_id))):
        raise LookupError(franchisee_id)
    running = db.session.scalar(select(ReportBatch).where(
        ReportBatch.kind == kind, ReportBatch.period == period, ReportBatch.language == language, ReportBatch.status.in_(("queued", "running")),
        ReportBatch.franchisee_id.is_(None) if franchisee_id is None else ReportBatch.franchisee_id == franchisee_id))
    if running is not None:
        raise AlreadyRunning(running)
    stores = select(Store.id).where(Store.status == "open")
    if franchisee_id is not None:
        stores = stores.where(Store.franchisee_id == franchisee_id)
    if kind == "store":
        rows = db.session.execute(select(Store.id, Store.franchisee_id).where(Store.id.in_(stores))
                                  .order_by(Store.code)).all()
    else:  # each franchisee with an open store
        rows = [(None, fid) for fid in db.session.scalars(select(Store.franchisee_id).where(Store.id.in_(stores))
                                                         .distinct().order_by(Store.franchisee_id))]
    if not rows:
        raise RuleError(_("There is no open store to report on."))
    batch = ReportBatch(kind=kind, period=period, language=language, franchisee_id=franchisee_id, total=len(rows),
                        created_by_id=getattr(user, "id", None), runner=run or runner(), schedule_id=schedule_id)
    db.session.add(batch)
    db.session.flush()
    db.session.execute(ReportBatchItem.__table__.insert(), [
        {"batch_id": batch.id, "store_id": sid, "franchisee_id": fid, "status": "pending"} for sid, fid in rows])
    db.session.commit()
    if batch.runner != "cli":
        dispatch(batch)
    return batch


def dispatch(batch: ReportBatch) -> None:
    """Hand the batch's pending items to the runner."""
    kind = batch.runner
    if kind == "inline":
        work(batch.id)
    elif kind == "rq":
        from redis.exceptions import RedisError

        pending = db.session.scalar(select(func.count(ReportBatchItem.id)).where(
            ReportBatchItem.batch_id == batch.id, ReportBatchItem.status == "pending")) or 0
        try:
            queue = rq_queue()
            for _i in range(max(1, -(-pending // ITEMS_PER_JOB))):
                queue.enqueue("app.services.reports.batches.rq_job", batch.id, ITEMS_PER_JOB,
                              job_timeout=ITEMS_PER_JOB * 60, result_ttl=3600, failure_ttl=86400)
        except RedisError:
            # Redis is down: the batch still runs, in a process of its own (and the log says why).
            current_app.logger.exception("report batch %s: Redis unreachable, running it in a process", batch.id)
            db.session.rollback()
            db.session.execute(update(ReportBatch).where(ReportBatch.id == batch.id).values(runner="process")
                               .execution_options(synchronize_session=False))
            db.session.commit()
            _start_process(batch.id)
    else:
        _start_process(batch.id)


def _start_process(batch_id: int) -> None:
    from app.jobs import start_command

    folder = Path(current_app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    start_command("reports", "run-batch", str(batch_id), log_path=folder / f"report-batch-{batch_id}.log")


def rq_queue():
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def rq_job(batch_id: int, limit: int) -> int:
    """An RQ job: render up to ``limit`` pending items of the batch (in this worker's app)."""
    from flask import has_app_context

    if has_app_context():
        return work(batch_id, limit)
    with _worker_app().app_context():
        return work(batch_id, limit)


_app = None


def _worker_app():
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def _claim(batch_id: int) -> ReportBatchItem | None:
    while True:
        item_id = db.session.scalar(select(ReportBatchItem.id).where(
            ReportBatchItem.batch_id == batch_id, ReportBatchItem.status == "pending")
            .order_by(ReportBatchItem.id).limit(1))
        if item_id is None:
            db.session.commit()
            return None
        with write_transaction(db.session):  # SQLite: the write lock first, waiting for the other worker
            won = db.session.execute(update(ReportBatchItem).where(
                ReportBatchItem.id == item_id, ReportBatchItem.status == "pending").values(status="running")
                .execution_options(synchronize_session=False)).rowcount
            db.session.execute(update(ReportBatch).where(ReportBatch.id == batch_id).values(
                status="running", heartbeat_at=utcnow(), started_at=func.coalesce(ReportBatch.started_at, utcnow()))
                .execution_options(synchronize_session=False))
        if won:
            return db.session.get(ReportBatchItem, item_id)


def work(batch_id: int, limit: int | None = None, progress=None) -> int:
    """Render pending items of a batch until none is left (or ``limit`` are done); returns how
    many this call rendered. Safe to run in many processes at once."""
    from app.services import reports

    done = 0
    with unscoped():
        batch = db.session.get(ReportBatch, batch_id)
        if batch is None:
            return 0
        user = db.session.get(User, batch.created_by_id) if batch.created_by_id else None
        network = batch.franchisee_id is None or (user is not None and user.role in ("hq_admin", "hq_auditor", "hq_viewer"))
        period, language, kind = batch.period, batch.language, batch.kind
        db.session.commit()
        while limit is None or done < limit:
            item = _claim(batch_id)
            if item is None:
                break
            item_id = item.id
            try:
                report = reports.issue(kind, period=period, language=language, user=user, store_id=item.store_id,
                                       franchisee_id=item.franchisee_id, batch_id=batch_id, network=network)
                values, counter = {"status": "done", "report_id": report.id, "error": None}, "done"
            except RuleError as error:  # a reason the reader can act on
                db.session.rollback()
                values, counter = {"status": "failed", "error": str(error)[:300]}, "failed"
            except Exception:  # noqa: BLE001 - one store's failure must not stop the others
                db.session.rollback()
                current_app.logger.exception("report batch %s: item %s failed", batch_id, item_id)
                # The details are in the worker's log; the page and the ZIP say it in the batch's language.
                from app.i18n import force_locale

                with force_locale(language):
                    message = _("The report could not be printed; the details are in the report worker's log. "
                                "Resume the batch to try again.")
                values, counter = {"status": "failed", "error": message[:300]}, "failed"
            column = getattr(ReportBatch, counter)
            with write_transaction(db.session):
                db.session.execute(update(ReportBatchItem).where(ReportBatchItem.id == item_id).values(**values)
                                   .execution_options(synchronize_session=False))
                db.session.execute(update(ReportBatch).where(ReportBatch.id == batch_id).values(
                    {counter: column + 1, "heartbeat_at": utcnow()}).execution_options(synchronize_session=False))
            done += 1
            if progress:
                progress(1)
        _finish_if_complete(batch_id)
    return done


def _finish_if_complete(batch_id: int) -> None:
    left = db.session.scalar(select(func.count(ReportBatchItem.id)).where(
        ReportBatchItem.batch_id == batch_id, ReportBatchItem.status.in_(("pending", "running"))))
    if left:
        db.session.commit()
        return
    failed = db.session.scalar(select(func.count(ReportBatchItem.id)).where(
        ReportBatchItem.batch_id == batch_id, ReportBatchItem.status == "failed"))
    with write_transaction(db.session):
        finished = db.session.execute(update(ReportBatch).where(
            ReportBatch.id == batch_id, ReportBatch.finished_at.is_(None)).values(
            status="failed" if failed else "done", finished_at=utcnow()).execution_options(
            synchronize_session=False)).rowcount
    if finished:  # this worker finished it: a scheduled batch's reports go out now, once
        from app.services.reports import distribution

        batch = db.session.get(ReportBatch, batch_id)
        if batch.schedule_id:
            distribution.distribute_batch(batch)
            db.session.commit()


def stalled(batch: ReportBatch) -> bool:
    """A batch that has stopped moving: queued or running without a sign of life for long."""
    if batch.finished:
        return False
    last = batch.heartbeat_at or batch.created_at
    return utcnow() - last > timedelta(seconds=current_app.config["REPORT_STALL_SECONDS"])


def resume(batch: ReportBatch) -> int:
    """Send the items a dead worker left (running) and the failed ones back to the queue."""
    if batch.finished and not batch.failed:
        raise RuleError(_("This batch is complete; there is nothing to resume."))
    if not batch.finished and not stalled(batch):
        raise RuleError(_("This batch is still moving; it can be resumed once it has stopped."))
    again = db.session.execute(update(ReportBatchItem).where(
        ReportBatchItem.batch_id == batch.id, ReportBatchItem.status.in_(("running", "failed")))
        .values(status="pending", error=None).execution_options(synchronize_session=False)).rowcount
    batch.failed = 0
    batch.status, batch.finished_at, batch.heartbeat_at = "queued", None, utcnow()
    batch.runner = runner()
    db.session.commit()
    dispatch(batch)
    return again


def zip_file(batch: ReportBatch):
    """The ZIP of a batch's finished reports, as bytes up to 16 MB and as an open temporary
    file beyond (the response closes it), with a list of the stores that failed; PDFs are compressed already, so
    they are stored, not deflated. Every read goes through the caller's tenant scope, one file
    per short transaction: nothing stays open across the whole batch."""
    from app.models import Franchisee

    rows = db.session.execute(
        select(ReportBatchItem.status, ReportBatchItem.error, func.coalesce(Store.code, ""),
               func.coalesce(Store.name, Franchisee.name), Report.id, Report.kind,
               Report.period, Report.language, Report.version, Report.franchisee_id, Report.sha256)
        .outerjoin(Store, Store.id == ReportBatchItem.store_id)
        .outerjoin(Franchisee, Franchisee.id == ReportBatchItem.franchisee_id)
        .outerjoin(Report, Report.id == ReportBatchItem.report_id)
        .where(ReportBatchItem.batch_id == batch.id).order_by(Store.code, ReportBatchItem.id)).all()
    db.session.commit()
    failed_lines = []
    spool = tempfile.TemporaryFile()
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:
        for status, error, code, name, report_id, kind, period, language, version, franchisee_id, digest in rows:
            if status != "done" or report_id is None:
                failed_lines.append(f"{code} {name}: {error or status}")
                continue
            data = db.session.scalar(select(ReportFile.data).where(ReportFile.report_id == report_id))
            db.session.commit()
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                failed_lines.append(f"{code} {name}: " + _("the file does not match its checksum"))
                continue
            archive.writestr(file_name(kind, code or None, franchisee_id, period, language, version), data)
        if failed_lines:
            archive.writestr("not-generated.txt", "\n".join(failed_lines) + "\n")
    if spool.tell() <= 16 * 1024 * 1024:
        spool.seek(0)
        with spool:
            return spool.read()
    spool.seek(0)
    return spool


def run_pool(batch_id: int, processes: int, progress=None) -> None:
    """The fallback runner and the CLI: ``processes`` processes claim items until none is left;
    ``progress(finished)`` hears how many items are finished (done or failed) as they move."""
    if processes <= 1:
        work(batch_id, progress=progress and (lambda _n: progress(_finished(batch_id))))
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = [pool.apply_async(_pool_work, (batch_id,)) for _i in range(processes)]
        while results:
            time.sleep(0.5)
            if progress:
                progress(_finished(batch_id))
            results = [r for r in results if not r.ready()]
        with unscoped():
            _finish_if_complete(batch_id)


def _finished(batch_id: int) -> int:
    with unscoped():
        row = db.session.execute(select(ReportBatch.done, ReportBatch.failed).where(ReportBatch.id == batch_id)).one()
        db.session.commit()
    return row[0] + row[1]


def _pool_work(batch_id: int) -> int:
    with _worker_app().app_context():
        from app.services import pdf

        pdf.warm_up()
        return work(batch_id)
