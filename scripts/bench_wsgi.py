"""The WSGI app `make bench` serves: the portal, plus a plain hello-world at ``/__hello``.

``/__hello`` never reaches Flask, so its requests/s is the ceiling of this gunicorn on this
machine (sockets, HTTP parsing, worker model), measured by the same server in the same run
as the portal's pages. Everything else goes to ``wsgi:app`` unchanged.

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8765 scripts.bench_wsgi:app
"""
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wsgi  # noqa: E402  (first: builds the app, then gc.freeze() as in production)

portal = wsgi.app
HELLO = b"Hello, world!\n"
HELLO_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(HELLO)))]


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/__hello":
        start_response("200 OK", list(HELLO_HEADERS))
        return [HELLO]
    return portal(environ, start_response)


# The few objects defined above join the frozen start-up set, as wsgi.py intends.
gc.freeze()
