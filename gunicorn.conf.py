"""Gunicorn settings for production and `make bench` (one file, so both run the same server).

    .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app            # production (README)
    .venv/bin/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8765 scripts.bench_wsgi:app   # what bench.py runs

Command-line options override these. Plain ``sync`` workers (see ../shared/PERFORMANCE.md):
each handles one request at a time, behind a TLS-terminating proxy that buffers slow clients.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
# Seconds an idle client connection is kept open. Sync workers answer every request with
# "Connection: close" whatever this says; it applies if the worker class ever changes.
keepalive = 5
# A worker silent this long is killed and replaced (a stuck request, not a slow page:
# the longest page, a 100,000-row export, takes a few seconds).
timeout = 30
graceful_timeout = 30
# The app is imported by each worker (not the master), so no database connection is
# shared across fork; wsgi.py freezes the start-up objects out of the GC in each worker.
preload_app = False
# No access log: the proxy keeps one, and writing it costs every request. Errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = "info"
# The heartbeat file of each worker lives in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
