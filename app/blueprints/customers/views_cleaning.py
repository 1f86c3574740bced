from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from app.blueprints.common import commit_or_explain, keyset_of
from app.blueprints.customers import bp
from app.blueprints.customers.forms import MergeForm
from app.blueprints.customers.views_customers import franchisee_choices
from app.extensions import db
from app.i18n import translated
from app.forms import EmptyForm, choices
from app.models import Customer, DuplicateCandidate, NotDuplicate, StoreStats
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import audit, customers, rollups
from app.services.customer_duplicates import REASONS

PAIR_ORDER = Ordering((DuplicateCandidate.strength, DuplicateCandidate.id))


# What the page shows of each customer of a pair (whole records were 80 columns each).
PAIR_COLUMNS = (Customer.id, Customer.code, Customer.name, Customer.anonymised_at, Customer.mobile,
                Customer.birthday, Customer.store_id, Customer.merged_into_id)


@bp.route("/duplicates")
@access("customers.merge")
def duplicates():
    """Likely duplicate customers within each franchisee, to merge or dismiss (read from candidates)."""
    franchisee_id = request.args.get("franchisee", type=int)
    # Both customers must be in the user's scope (the EXISTS checks are scoped like every
    # customer query): a store manager does not see a pair that spans two of the franchisee's stores.
    stmt = select(DuplicateCandidate).options(
        joinedload(DuplicateCandidate.customer).load_only(*PAIR_COLUMNS),
        joinedload(DuplicateCandidate.other).load_only(*PAIR_COLUMNS),
    ).where(DuplicateCandidate.customer.has(), DuplicateCandidate.other.has())
    if franchisee_id:
        stmt = stmt.where(DuplicateCandidate.franchisee_id == franchisee_id)
    page = keyset_of(stmt, PAIR_ORDER)
    return render_template(
        "customers/duplicates.html",
        page=page,
        reasons=translated(REASONS),
        total=db.session.scalar(select(func.coalesce(func.sum(StoreStats.duplicates), 0))) if not franchisee_id else None,
        franchisee_id=franchisee_id,
        franchisees=franchisee_choices(),
    )


@bp.route("/<int:customer_id>/merge", methods=["GET", "POST"])
@access("customers.merge")
def merge(customer_id: int):
    """Compare two records side by side and merge one into the other."""
    first = get_scoped_or_404(Customer, customer_id)
    second = get_scoped_or_404(Customer, request.args.get("other", 0, type=int))
    # A pair that was merged already (another tab, a colleague, Back) is not offered again.
    for c in (first, second):
        if c.merged_into_id:
            flash(_("%(code)s has already been merged into another record.", code=c.code), "info")
            return redirect(url_for("customers.show", customer_id=c.merged_into_id))
    if first.id == second.id or first.is_anonymised or second.is_anonymised:
        flash(_("These two records cannot be merged."), "warning")
        return redirect(url_for("customers.duplicates"))
    form = MergeForm()
    form.keep.choices = choices(((c.id, f"{c.code} {c.display_name}") for c in (first, second)), blank=True)
    if form.validate_on_submit():
        keep, other = (first, second) if form.keep.data == first.id else (second, first)
        if commit_or_explain(lambda: customers.merge(keep, other, current_user),
                             _("%(other)s was merged into %(keep)s.", other=other.code, keep=keep.code)):
            return redirect(url_for("customers.show", customer_id=keep.id))
    return render_template("customers/merge.html", form=form, first=first, second=second)


@bp.route("/<int:customer_id>/not-duplicate", methods=["POST"])
@access("customers.merge")
def not_duplicate(customer_id: int):
    """Dismiss a suggested pair: they are two different people."""
    first = get_scoped_or_404(Customer, customer_id)
    second = get_scoped_or_404(Customer, request.args.get("other", 0, type=int))
    form = EmptyForm()
    if form.validate_on_submit():
        low, high = sorted((first.id, second.id))

        def dismiss():
            exists = db.session.scalar(
                select(NotDuplicate.id).where(NotDuplicate.customer_id == low, NotDuplicate.other_id == high)
            )
            if exists is None:
                db.session.add(NotDuplicate(customer_id=low, other_id=high, store_id=first.store_id,
                                            franchisee_id=first.franchisee_id, created_by_id=current_user.id))
                audit.record("customer.not_duplicate", actor=current_user, target=first, details={"other": second.code})
            db.session.execute(
                delete(DuplicateCandidate)
                .where(DuplicateCandidate.customer_id == low, DuplicateCandidate.other_id == high)
                .execution_options(synchronize_session=False)
            )
            rollups.refresh_stores([first.store_id, second.store_id])

        commit_or_explain(dismiss, _("The pair will no longer be suggested."))
    return redirect(url_for("customers.duplicates"))
