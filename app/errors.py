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


def render_error(code: int, message=None, back: str | None = None):
    # An error before or outside the request's scope (a failing hook, a locked
    # database) must still render: the page itself reads nothing tenant-owned.
    if SCOPE_KEY not in db.session.info:
        activate(NOTHING)
    title, default = MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title, message=message or default, back=back), code


def _page_before() -> str | None:
    """The portal page the request came from (to go back to it), if it was one of ours."""
    from urllib.parse import urlsplit

    from flask import request

    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    return referrer if referrer and parts.netloc == request.host else None


def register(app) -> None:
    for code in (400, 403, 404, 405, 429):
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(413)
    def too_large(e):
        # The photo or file was too big for the request at all (a phone's full-size picture):
        # say the limit and go back to the form, not to the dashboard (issue 10, trial 7).
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return render_error(413, _l("The upload is larger than %(mb)d MB, the most the portal accepts. Go back and "
                                    "choose a smaller file: a phone photo is usually 2 to 5 MB.", mb=limit),
                            back=_page_before())

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
