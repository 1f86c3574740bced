"""The public complaint page of a store and the customer's progress page (no sign-in)."""
from datetime import datetime, timedelta

from flask import abort, current_app, redirect, render_template, request, session, url_for
from limits import parse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.blueprints.feedback import bp
from app.blueprints.feedback.forms import PublicComplaintForm
from app.extensions import db
from app.services.governance import privacy
from app.i18n import current_locale
from app.models import Complaint
from app.models.base import utcnow
from app.security.access import PUBLIC, access
from app.security.scope import public_scope
from app.security.tenancy import activate, unscoped
from app.services.complaints import alerts, public, settings, workflow

DONE_KEY = "feedback_done"


def _limited(name: str, limit: str, *keys) -> bool:
    """Count one hit; True when the limit was already reached."""
    limiter = current_app.extensions["public_limiter"]
    return not limiter.hit(parse(limit), name, *keys)


def _posted_stamp() -> str:
    """The form's stamp: from the script-filled text input, or the <noscript> copy."""
    return next((value for value in request.form.getlist("stamp") if value), "")


def _allowed(name: str, limit: str, *keys) -> bool:
    """Whether one more hit fits the limit, without counting one."""
    return current_app.extensions["public_limiter"].test(parse(limit), name, *keys)


def _render_form(store, form, status=200, problem=None, keep_stamp=False):
    # The stamp travels in a text input that app.js fills (as the one-time token of the portal's
    # forms): Back restores it with the typed text, so a resent form is recognised as the same.
    # A form shown again with problems keeps its stamp (the fill time counts from the first view).
    stamp = _posted_stamp() if keep_stamp else public.form_stamp(current_app.config["SECRET_KEY"], store.public_key)
    return render_template("feedback/form.html", store=store, form=form, problem=problem, stamp=stamp,
                           link_days=current_app.config["PROGRESS_LINK_DAYS"]), status


@bp.route("/<public_key>", methods=["GET", "POST"])
@access(PUBLIC)
def form(public_key: str):
    """A store's complaint page, reached from the QR code in the store."""
    store = public.store_for_key(public_key)
    if store is None:
        return render_template("feedback/not_found.html"), 404
    activate(public_scope(store.id, store.franchisee_id))
    settings.install_defaults()
    form = PublicComplaintForm(categories=settings.categories(), locale=current_locale())
    if request.method == "GET":
        return _render_form(store, form)
    config = current_app.config
    address = request.remote_addr or "-"
    # Every post counts towards a generous limit (a robot hammering the form); only complaints
    # filed count towards the tighter one, so a customer who fixes a mistake is not locked out,
    # nor the next customers on the store's Wi-Fi. Refused: the form again, the text kept.
    if _limited("public-posts", config["PUBLIC_POSTS_PER_ADDRESS"], address) or not _allowed(
            "public-address", config["PUBLIC_LIMIT_PER_ADDRESS"], address):
        return _render_form(store, form, 429, problem="busy", keep_stamp=True)
    stamp = _posted_stamp()
    if not form.validate_on_submit():
        # An expired CSRF token (the page was open for hours, the session ended): send again.
        return _render_form(store, form, 400, problem="stale" if form.csrf_token.errors else None,
                            keep_stamp=public.stamp_problem(config["SECRET_KEY"], stamp, store.public_key, 0,
                                                            config["PUBLIC_FORM_MAX_SECONDS"]) is None)
    submission = public.token_hash(stamp)
    with unscoped():
        earlier = db.session.scalar(select(Complaint.reference).where(Complaint.public_submission == submission))
    if earlier:  # Back then Send: the first one was received
        return render_template("feedback/already.html", store=store, reference=earlier), 200
    # A form a robot filled: the hidden field has text, or it came back faster than a person types.
    problem = public.stamp_problem(config["SECRET_KEY"], stamp, store.public_key,
                                   config["PUBLIC_FORM_MIN_SECONDS"], config["PUBLIC_FORM_MAX_SECONDS"])
    if form.website.data or problem == "forged":
        return _render_form(store, form, 400, problem="check")
    if problem == "fast":
        return _render_form(store, form, 400, problem="check", keep_stamp=True)
    if problem == "stale":
        return _render_form(store, form, 400, problem="stale")
    if _limited("public-store", config["PUBLIC_LIMIT_PER_STORE"], str(store.id)):
        return _render_form(store, form, 429, problem="busy", keep_stamp=True)
    token, token_hash = public.new_progress_token()
    channel = settings.channel_by_code(settings.PUBLIC_CHANNEL) or settings.channels()[0]
    data = form.data_for_model() | {
        "channel_id": channel.id, "public": True, "privacy_consent_at": utcnow(),
        "privacy_policy_number": privacy.number_in_force(),
        "progress_token_hash": token_hash, "public_submission": submission,
    }
    try:
        complaint = workflow.open_complaint(store, data, None)
        alerts.received_online(complaint)
        reference, due = complaint.reference, complaint.resolve_due_at
        db.session.commit()
        _limited("public-address", config["PUBLIC_LIMIT_PER_ADDRESS"], address)  # one more filed
    except IntegrityError:  # the same form sent twice at the same moment
        db.session.rollback()
        with unscoped():
            earlier = db.session.scalar(select(Complaint.reference).where(Complaint.public_submission == submission))
        return render_template("feedback/already.html", store=store, reference=earlier), 200
    session[DONE_KEY] = {"token": token, "reference": reference, "due": due.isoformat() if due else None,
                         "store": store.public_key}
    return redirect(url_for("feedback.done", public_key=store.public_key))


@bp.route("/<public_key>/done")
@access(PUBLIC)
def done(public_key: str):
    """The reference and the private progress link, shown once after sending."""
    store = public.store_for_key(public_key)
    receipt = session.pop(DONE_KEY, None)
    if store is None or not receipt or receipt.get("store") != public_key:
        return redirect(url_for("feedback.form", public_key=public_key))
    due = datetime.fromisoformat(receipt["due"]) if receipt.get("due") else None
    locale = current_locale()
    link = url_for("feedback.progress", token=receipt["token"], _external=True,
                   lang=None if locale == current_app.config["BABEL_DEFAULT_LOCALE"] else locale)
    return render_template("feedback/done.html", store=store, reference=receipt["reference"], due=due, link=link,
                           qr=public.qr_inline_svg(link), link_days=current_app.config["PROGRESS_LINK_DAYS"])


@bp.route("/progress/<token>")
@access(PUBLIC)
def progress(token: str):
    """Where the customer's complaint stands: its steps and the answer, nothing internal."""
    config = current_app.config
    if _limited("progress-address", config["PROGRESS_LIMIT_PER_ADDRESS"], request.remote_addr or "-"):
        return render_template("feedback/busy.html", store=None), 429
    found = public.complaint_for_token(token, config["PROGRESS_LINK_DAYS"])
    if found is None:
        return render_template("feedback/not_found.html", progress=True), 404
    complaint_id, store_id, franchisee_id = found
    activate(public_scope(store_id, franchisee_id, complaint_id))
    complaint = db.session.scalar(select(Complaint).where(Complaint.id == complaint_id)
                                  .options(selectinload(Complaint.events)))
    if complaint is None:
        abort(404)
    steps = [e for e in complaint.events if e.public and e.kind in ("created", "status", "wait", "resume", "escalated")]
    return render_template("feedback/progress.html", c=complaint, store=complaint.store, steps=steps, now=utcnow(),
                           expires=(complaint.closed_at + timedelta(days=config["PROGRESS_LINK_DAYS"])
                                    if complaint.closed_at else None))
