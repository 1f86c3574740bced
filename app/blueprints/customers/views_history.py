from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.common import commit_or_explain, create_once
from app.blueprints.customers import bp
from app.blueprints.customers.forms import AnonymiseForm, ConsentForm, ContactForm, PurchaseForm
from app.models import Customer
from app.models.base import local_today
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import customer_fields as fields
from app.services import customers
from app.services import RuleError
from app.services.loyalty import catalogue, offers


def _back(customer):
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.route("/<int:customer_id>/purchases/new", methods=["GET", "POST"])
@access("customers.edit")
def new_purchase(customer_id: int):
    """Record a purchase: points, figures, grade and tier follow at once; a coupon is used with it."""
    customer = get_scoped_or_404(Customer, customer_id)
    coupons = offers.usable(customer, customer.store_id)
    form = PurchaseForm()
    form.coupon_id.choices = [(0, _("No coupon"))] + [
        (c.id, _("%(offer)s (until %(day)s)", offer=c.offer.title(str(get_locale())), day=c.offer.ends_on.isoformat()))
        for c in coupons]
    if not form.is_submitted():
        form.purchased_on.data = local_today()
    chosen = next((c for c in coupons if c.id == form.coupon_id.data), None) if form.coupon_id.data else None
    if form.validate_on_submit() and _coupon_fits(form, chosen, customer):
        data = {
            "purchased_on": form.purchased_on.data,
            "amount": form.amount.data,
            "items": form.items.data.strip(),
            "product_type": form.product_type.data,
            "channel": form.channel.data,
        }
        def url_of(purchase):
            if purchase.over_limit:
                flash(_("This order is above the customer's sales limit."), "warning")
            if form.deliver.data and can(current_user, "logistics.record"):
                return url_for("logistics.new_shipment", purchase=purchase.id)
            return url_for("customers.show", customer_id=customer.id)

        def record():
            purchase = customers.record_purchase(customer, data, current_user)
            if chosen is not None:
                offers.use(chosen, purchase, current_user)  # refused if another counter used it meanwhile
            return purchase

        if done := create_once(form, record, url_of, _("Purchase recorded.")):
            return done
    return render_template("customers/purchase_form.html", form=form, customer=customer, coupons=coupons,
                           privileges=catalogue.privileges_of(customer.tier, str(get_locale())))


def _coupon_fits(form, coupon, customer) -> bool:
    """The chosen coupon goes with this purchase (date, store, spend); if not, the field says why."""
    if form.coupon_id.data and coupon is None:  # used at another counter since the form was opened
        form.coupon_id.errors.append(_("This coupon was already used or withdrawn."))
        return False
    if coupon is None:
        return True
    try:
        offers.check_use(coupon, customer, customer.store_id, form.purchased_on.data, form.amount.data)
    except RuleError as error:
        form.coupon_id.errors.append(str(error))
        return False
    return True


@bp.route("/<int:customer_id>/contacts/new", methods=["GET", "POST"])
@access("customers.edit")
def new_contact(customer_id: int):
    """Log a contact or care visit in the customer's history."""
    customer = get_scoped_or_404(Customer, customer_id)
    form = ContactForm()
    if form.validate_on_submit() and (done := create_once(
        form, lambda: customers.record_contact(customer, form.data_for_model(), current_user),
        lambda contact: url_for("customers.show", customer_id=customer.id), _("Contact logged."),
    )):
        return done
    return render_template("customers/contact_form.html", form=form, customer=customer, care=None)


@bp.route("/<int:customer_id>/consent", methods=["GET", "POST"])
@access("customers.edit")
def consent(customer_id: int):
    """Record that the customer agreed to our keeping their contact details (R61)."""
    customer = get_scoped_or_404(Customer, customer_id)
    form = ConsentForm()
    if form.validate_on_submit() and commit_or_explain(
        lambda: customers.record_consent(customer, form.consent_method.data, form.consent_purpose.data.strip(),
                                         fields.consent_time(form.consent_date.data), current_user),
        _("Consent recorded."),
    ):
        return _back(customer)
    return render_template("customers/consent_form.html", form=form, customer=customer)


@bp.route("/<int:customer_id>/anonymise", methods=["GET", "POST"])
@access("customers.privacy")
def anonymise(customer_id: int):
    """Withdrawn consent or a deletion request: erase identity and contact details for good."""
    customer = get_scoped_or_404(Customer, customer_id)
    form = AnonymiseForm()
    if form.validate_on_submit() and commit_or_explain(
        lambda: customers.anonymise(customer, form.reason.data, current_user),
        _("The customer's personal details were erased; purchases and statistics are kept."),
    ):
        return _back(customer)
    return render_template("customers/anonymise_form.html", form=form, customer=customer)
