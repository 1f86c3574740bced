"""View helpers shared by the blueprints."""
from flask import Response, current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import FormReceipt
from app.services import RuleError
from app.templating import datetime_text


def page_of(stmt):
    """One page of ``stmt`` using ``?page=``; a malformed page number means page 1."""
    return db.paginate(
        stmt,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
        error_out=False,
    )


def keyset_of(stmt, ordering, scalars=True):
    """One keyset page of ``stmt`` from ``?after=`` / ``?before=`` (app/pagination.py); no count."""
    from app.pagination import keyset_page

    return keyset_page(db.session, stmt, ordering, current_app.config["PER_PAGE"],
                       after=request.args.get("after"), before=request.args.get("before"), scalars=scalars)


COUNT_CAP = 1000


def capped_count(stmt, cap: int = COUNT_CAP) -> int:
    """How many rows ``stmt`` returns, counting no further than ``cap + 1`` (shown as "1,000+")."""
    return count_of(stmt.order_by(None).limit(cap + 1))


def count_of(stmt) -> int:
    """How many rows ``stmt`` returns, counted by the database (scope applies as usual)."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _conflict(form, obj) -> None:
    """Keep what the user typed, say what is on file now where it differs, and carry the current
    version so that saving once more saves (the hidden field renders the posted value, so its raw
    value is replaced too: without it every later save met the same conflict)."""
    form.version.data = obj.version
    form.version.raw_data = [str(obj.version)]
    differing = []
    for name, field in form._fields.items():
        if name in ("version", "csrf_token", "submission") or not hasattr(obj, name):
            continue
        current = getattr(obj, name)
        mine = field.data
        if isinstance(current, str) or isinstance(mine, str):
            current, mine = (current or "").strip() if isinstance(current, str) else current, \
                (mine or "").strip() if isinstance(mine, str) else mine
        if current != mine and not (current in (None, "") and mine in (None, "", 0)):
            differing.append(f"{field.label.text}: {'—' if current in (None, '') else current}")
    flash(
        _("Someone else changed this record while you were editing it. Your input is kept below; "
          "check the current values and save again to overwrite them."),
        "warning",
    )
    if differing:
        flash(_("On file now: %(values)s", values="; ".join(str(d)[:80] for d in differing[:6])), "info")


def save_versioned(form, obj, change) -> bool:
    """Apply ``change()`` to ``obj`` and commit, unless someone saved a newer version first.

    On a conflict or a duplicate key nothing is written, the form keeps what the
    user typed, and the user is told why.
    """
    if form.version.data != obj.version:
        _conflict(form, obj)
        return False
    try:
        change()
        db.session.commit()
        return True
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(obj)
        _conflict(form, obj)
    except IntegrityError:
        db.session.rollback()
        flash(_("Not saved: a code, name or number you entered is already in use."), "danger")
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
    return False


def commit_or_explain(change, success: str) -> bool:
    """Run a service call and commit; a broken business rule is rolled back and explained."""
    try:
        change()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def create_once(form, create, url_of, success) -> Response | None:
    """Save a create form once: run ``create()``, commit, say ``success`` and go to the record.

    ``form`` is an ``app.forms.OnceForm``. Its token is stored with the new record in one
    transaction, so posting the same form again (Back then Save, a double click) lands on the
    record the first post created, with a note saying so; of two simultaneous posts the second
    fails on the token's key and lands there too. A broken business rule or a duplicate key
    is rolled back and explained; then None is returned and the view shows the form again.
    ``url_of(obj)`` and ``success(obj)`` (or a plain string) describe the new record.
    """
    if form.receipt is not None:
        return _already_saved(form.receipt)
    token = form.submission.data
    try:
        obj = create()
        url = url_of(obj)
        if token:
            db.session.add(FormReceipt(token=token, user_id=current_user.id, url=url))
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return None
    except IntegrityError:
        db.session.rollback()
        receipt = token and db.session.scalar(
            select(FormReceipt).where(FormReceipt.token == token, FormReceipt.user_id == current_user.id))
        if receipt:
            return _already_saved(receipt)
        flash(_("Not saved: a code, name or number you entered is already in use."), "danger")
        return None
    flash(success(obj) if callable(success) else success, "success")
    return redirect(url)


def _already_saved(receipt) -> Response:
    flash(_("This form was already saved (at %(time)s); nothing was added again. "
            "Here is what it saved. To add another, open a new form.",
            time=datetime_text(receipt.created_at, "short")), "info")
    return redirect(receipt.url)
