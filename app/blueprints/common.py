"""View helpers shared by the blueprints."""
from flask import current_app, flash, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.services import RuleError


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


def _conflict(form, current_version: int) -> None:
    form.version.data = current_version
    flash(
        _("Someone else changed this record while you were editing it. Your input is kept below; "
          "check the current values and save again to overwrite them."),
        "warning",
    )


def save_versioned(form, obj, change) -> bool:
    """Apply ``change()`` to ``obj`` and commit, unless someone saved a newer version first.

    On a conflict or a duplicate key nothing is written, the form keeps what the
    user typed, and the user is told why.
    """
    if form.version.data != obj.version:
        _conflict(form, obj.version)
        return False
    try:
        change()
        db.session.commit()
        return True
    except StaleDataError:
        db.session.rollback()
        _conflict(form, obj.version)
    except IntegrityError:
        db.session.rollback()
        flash(_("Not saved: a code, name or number you entered is already in use."), "danger")
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


def commit_new(create) -> object | None:
    """Run ``create()`` and commit; a duplicate key becomes a message, not an error page."""
    try:
        obj = create()
        db.session.commit()
        return obj
    except IntegrityError:
        db.session.rollback()
        flash(_("Not saved: a code, name or number you entered is already in use."), "danger")
        return None
