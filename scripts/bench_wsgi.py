"""The WSGI app `make bench` serves: the portal, plus two hello-worlds.

``/__flask_hello`` is a hello-world route of a bare Flask app (no extensions, no database):
the reference the issue and ../shared/PERFORMANCE.md give each page's requests/s as a share of.
``/__hello`` never reaches Flask, so its requests/s is the ceiling of this gunicorn on this
machine (sockets, HTTP parsing, worker model). Both are measured by the same server in the same
run as the portal's pages. Everything else goes to ``wsgi:app`` unchanged.

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8765 scripts.bench_wsgi:app
"""
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wsgi  # noqa: E402  (first: builds the app, then gc.freeze() as in production)
from flask import Flask  # noqa: E402

portal = wsgi.app
bare = Flask("hello")


@bare.route("/__flask_hello")
def flask_hello():
    return "Hello, world!"

HELLO = b"Hello, world!\n"
HELLO_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(HELLO)))]


def app(environ, start_response):
    path = environ.get("PATH_INFO")
    if path == "/__hello":
        start_response("200 OK", list(HELLO_HEADERS))
        return [HELLO]
    if path == "/__flask_hello":
        return bare(environ, start_response)
    return portal(environ, start_response)


# The few objects defined above join the frozen start-up set, as wsgi.py intends.
gc.freeze()
