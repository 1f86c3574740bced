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
