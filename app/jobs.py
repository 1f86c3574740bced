"""Background work that must not run inside a web request: each job is a ``flask`` command in
a process of its own (customer imports, re-grades). The tests run the job inline instead
(``IMPORT_RUNNER=inline``); production can move these calls behind a queue (README)."""
import os
import subprocess
import sys
from pathlib import Path

from flask import current_app


def runs_inline() -> bool:
    return current_app.config["IMPORT_RUNNER"] == "inline"


def start_command(*args: str, log_path: Path | None = None) -> None:
    """Start ``flask --app wsgi <args>`` detached from this request's process; its output goes
    to ``log_path`` (or this process's stderr)."""
    log = open(log_path, "ab") if log_path else None
    try:
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=Path(current_app.root_path).parent, stdout=log or subprocess.DEVNULL, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy(),
        )
    finally:
        if log:
            log.close()


def run_periodically(app, seconds: int, echo=print, stop=None) -> None:
    """Run the periodic complaint job every ``seconds`` until ``stop`` (a threading.Event) is set.

    One failed run is logged and the next one goes ahead: a mail server that is down must not
    stop late complaints from being escalated."""
    import threading
    import time

    from app.services.complaints import alerts

    stop = stop or threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        with app.app_context():
            try:
                echo(f"complaints tick: {alerts.tick()}")
            except Exception:  # logged; the next run tries again
                app.logger.exception("complaints tick failed")
                from app.extensions import db

                db.session.rollback()
            finally:
                from app.extensions import db

                db.session.remove()
        stop.wait(max(1.0, seconds - (time.monotonic() - started)))


def start_scheduler(app) -> None:
    """The periodic job in a thread of the web process (``make run``: PORTAL_SCHEDULER_SECONDS=60);
    production runs ``flask complaints tick`` from cron or ``flask complaints worker`` instead."""
    import threading

    seconds = app.config["SCHEDULER_SECONDS"]
    if seconds <= 0 or app.extensions.get("scheduler"):
        return
    thread = threading.Thread(target=run_periodically, args=(app, seconds, app.logger.info), daemon=True,
                              name="complaints-scheduler")
    app.extensions["scheduler"] = thread
    thread.start()
