"""A portal served for real (migrated, demo-seeded, on a free port), for the browser and
concurrency tests: one way to start it and to know it is up."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_portal(env: dict, server_command, log=subprocess.DEVNULL):
    """Migrate and seed the demo network into ``env``'s database, start ``server_command(port)``
    and yield its base URL once /login answers; the server is stopped afterwards."""
    env = {**os.environ, **env}
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*FLASK, "seed", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(server_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the portal did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
