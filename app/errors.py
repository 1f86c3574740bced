"""Error pages: every failure a user can provoke gets a page in their language."""
import logging

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from app.extensions import db
from app.security.scope import NOTHING
from app.security.tenancy import SCOPE_KEY, ScopeViolation, activate

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not allow this action. Ask headquarters if you need access.")),
    404: (_l("Not found"), _l("This page does not exist, or it is not within your scope.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("The upload is larger than the portal accepts.")),
    429: (_l("Too many requests"), _l("Too many attempts. Please wait a little and try again.")),
    500: (_l("Something went wrong"), _l("The portal hit an unexpected error. Nothing was saved; please try again.")),
}


def render_error(code: int, message=None):
    # An error before or outside the request's scope (a failing hook, a locked
    # database) must still render: the page itself reads nothing tenant-owned.
    if SCOPE_KEY not in db.session.info:
        activate(NOTHING)
    title, default = MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title, message=message or default), code


def register(app) -> None:
    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_error(
            400,
            _l("This form has expired or lacks its security token, so nothing was changed. "
               "Please reload the page and try again."),
        )

    @app.errorhandler(ScopeViolation)
    def scope_violation(e):
        # A bug, not user input: refuse as if the row did not exist, and say so in the log.
        log.error("tenant scope violation: %s", e)
        db.session.rollback()
        return render_error(404)

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return render_error(500)
