from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain
from app.blueprints.customers import bp
from app.blueprints.customers.forms import MergeForm
from app.extensions import db
from app.forms import EmptyForm, choices
from app.models import Customer, Franchisee, NotDuplicate
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import audit, customers
from app.services.customer_duplicates import find_duplicates

PAIRS_PER_PAGE = 25


@bp.route("/duplicates")
@access("customers.merge")
def duplicates():
    """Likely duplicate customers within each franchisee, to merge or dismiss."""
    franchisee_id = request.args.get("franchisee", type=int)
    pairs = find_duplicates(franchisee_id)
    page_no = max(request.args.get("page", 1, type=int), 1)
    shown = pairs[(page_no - 1) * PAIRS_PER_PAGE: page_no * PAIRS_PER_PAGE]
    ids = {p.first_id for p in shown} | {p.second_id for p in shown}
    by_id = {
        c.id: c for c in db.session.scalars(
            select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.store))
        )
    } if ids else {}
    return render_template(
        "customers/duplicates.html",
        pairs=[(p, by_id[p.first_id], by_id[p.second_id]) for p in shown],
        total=len(pairs),
        page_no=page_no,
        pages=max((len(pairs) + PAIRS_PER_PAGE - 1) // PAIRS_PER_PAGE, 1),
        franchisee_id=franchisee_id,
        franchisees=db.session.scalars(select(Franchisee).order_by(Franchisee.name)).all(),
        dismiss_form=EmptyForm(),
    )


@bp.route("/<int:customer_id>/merge", methods=["GET", "POST"])
@access("customers.merge")
def merge(customer_id: int):
    """Compare two records side by side and merge one into the other."""
    first = get_scoped_or_404(Customer, customer_id)
    second = get_scoped_or_404(Customer, request.args.get("other", 0, type=int))
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

        commit_or_explain(dismiss, _("The pair will no longer be suggested."))
    return redirect(url_for("customers.duplicates"))
