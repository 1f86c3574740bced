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
from app.text import list_text  # noqa: F401  (the pages import it from here)


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


def summed_for_scope(key: tuple, compute):
    """``compute()`` for the user's scope: a network's (or a large region's) sums of stored rows are
    kept a minute (``refcache.cached_for``, the scope in the key); a franchisee's few stores are
    added up live."""
    from app import refcache
    from app.security.scope import current_scope

    scope = current_scope._get_current_object()
    cfg = current_app.config
    if scope.is_network or len(scope.store_ids) > cfg["DASHBOARD_LIVE_MAX_STORES"]:
        return refcache.cached_for(cfg["DASHBOARD_CACHE_SECONDS"], (*key, scope), compute)
    return compute()


COUNT_CAP = 1000


def capped_count(stmt, cap: int = COUNT_CAP) -> int:
    """How many rows ``stmt`` returns, counting no further than ``cap + 1`` (shown as "1,000+")."""
    return count_of(stmt.order_by(None).limit(cap + 1))


def count_of(stmt) -> int:
    """How many rows ``stmt`` returns, counted by the database (scope applies as usual)."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _shown(field) -> str:
    """A field's value as the form shows it: the label of a chosen option, 是/否, a date; a long
    text whole (the user decides whether to keep it, so all of it is shown)."""
    from wtforms import BooleanField, SelectField, SelectMultipleField

    data = field.data
    if isinstance(field, (SelectField, SelectMultipleField)) and field.choices:
        labels = {}
        for choice in field.choices:
            value, label = (choice.value, choice.label) if hasattr(choice, "value") else (choice[0], choice[1])
            labels[str(value)] = str(label)
        values = data if isinstance(data, (list, tuple, set)) else [data]
        shown = [labels.get(str(v), str(v)) for v in values if v not in (None, "", 0)]
        return list_text(shown) or "—"
    if isinstance(field, BooleanField):
        return _("Yes") if data else _("No")
    if data in (None, ""):
        return "—"
    from datetime import date, datetime, time

    from app.templating import date_text

    if isinstance(data, datetime):
        return datetime_text(data, "short")
    if isinstance(data, date):
        return date_text(data)
    if isinstance(data, time):
        return data.strftime("%H:%M")
    return str(data)


def _as_posted(field) -> list[str]:
    """What a browser would post for ``field`` showing its current value."""
    from wtforms import BooleanField, SelectField, SelectMultipleField

    if isinstance(field, BooleanField):
        return ["y"] if field.data else []
    if isinstance(field, SelectMultipleField):
        return [str(v) for v in field.data or []]
    if isinstance(field, SelectField):
        return [] if field.data is None else [str(field.data)]
    return [field._value()]


def _merge(form, obj) -> bool:
    """Someone saved ``obj`` since this user opened the form: combine the two edits.

    A field only the colleague changed takes the colleague's value; a field only this user
    changed keeps this user's. The combination is then checked by the form's own rules (two
    edits each valid alone, "opens 13:00" and "closes 12:00", may not be valid together). When
    both changed one field to different values, or the combination breaks a rule, nothing is
    saved: the form comes back with this user's input and the colleague's other changes, each
    clash saying what is on file now, and compares against the current record from then on, so
    saving again keeps what the form shows. Returns True when the save may go ahead.
    """
    from werkzeug.datastructures import MultiDict

    base = form.opened_with() or {}  # no fingerprints (a page from before they existed): all compared
    on_file = form.as_on_file()
    theirs, mine = on_file.fingerprints(), form.fingerprints()
    fields = dict(form.compared_fields())
    theirs_changed = [n for n in fields if theirs.get(n) != base.get(n)]
    mine_changed = {n for n in fields if mine[n] != base.get(n)}
    clash = [n for n in theirs_changed if n in mine_changed and mine[n] != theirs.get(n)]
    taken = [n for n in theirs_changed if n not in mine_changed and n in on_file._fields]
    if taken:
        # The form as if the user had posted it with the colleague's values in those fields,
        # processed and checked like any post.
        merged = MultiDict(request.form)
        for name in taken:
            merged.setlist(fields[name].name, _as_posted(on_file[name]))
        form.process(formdata=merged)
    form.version.data = obj.version
    form.version.raw_data = [str(obj.version)]
    valid = form.validate() if taken else True
    taken_labels = list_text([str(fields[n].label.text) for n in taken])
    if not clash and valid:
        if taken:
            flash(_("Someone else saved this record while you were editing it. Their changes to %(fields)s "
                    "are kept together with yours.", fields=taken_labels), "info")
        return True
    form.remember(theirs)
    for name in clash:
        fields[name].errors = [*fields[name].errors, _(
            "Changed meanwhile by someone else. On file now: %(value)s", value=_shown(on_file[name]))]
    if clash:
        flash(_("Someone else changed this record while you were editing it, partly in the same fields as you. "
                "Nothing is saved yet: check the fields marked below (each says what is on file now), "
                "then save again to keep what the form shows."), "warning")
    else:
        flash(_("Someone else changed this record while you were editing it. Together with their changes to "
                "%(fields)s, yours break a rule of this form: nothing is saved yet. Check the fields marked "
                "below, then save again.", fields=taken_labels), "warning")
    if taken and clash:
        flash(_("Their changes to %(fields)s are already filled in.", fields=taken_labels), "info")
    return False


def save_versioned(form, obj, change) -> bool:
    """Apply ``change()`` to ``obj`` and commit, without overwriting a colleague's save.

    ``form`` is an ``app.forms.VersionedForm``. When ``obj`` was saved by someone else since
    the form was opened, the two edits are combined field by field (``_merge``); only when
    both changed the same field is the user asked. On a duplicate key or a broken rule nothing
    is written, the form keeps what the user typed, and the user is told why.
    """
    if form.version.data != obj.version and not _merge(form, obj):
        return False
    for attempt in (1, 2):
        try:
            change()
            db.session.commit()
            return True
        except StaleDataError:  # saved by someone else between loading and committing
            db.session.rollback()
            db.session.refresh(obj)
            if attempt == 2 or not _merge(form, obj):
                return False
        except IntegrityError:
            db.session.rollback()
            flash(_("Not saved: a code, name or number you entered is already in use."), "danger")
            return False
        except RuleError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return False
    return False


def flash_form_errors(form) -> None:
    """A form posted from a page that is not shown again (a button's small form): its field
    errors as messages on the page the user is sent back to."""
    for name, errors in form.errors.items():
        field = form[name] if name in form else None
        for error in errors:
            if field is None or name == "csrf_token" or not field.label.text:
                flash(str(error), "danger")
            else:  # which field: the page it came from may hold several small forms
                flash(_("%(field)s: %(error)s", field=field.label.text, error=error), "danger")


def commit_or_explain(change, success) -> bool:
    """Run a service call and commit; a broken business rule is rolled back and explained.
    ``success`` is the message, or a function of what the call returned (e.g. how many)."""
    try:
        result = change()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return False
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
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
