from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only

from app.blueprints.common import capped_count, create_once, keyset_of
from app.blueprints.customers import bp
from app.blueprints.customers.forms import ContactForm
from app.blueprints.customers.listing import Filters, customer_query
from app.blueprints.customers.views_customers import LIST_COLUMNS, store_choices
from app.extensions import db
from app.models import CareHoliday, CareTask, Customer, Purchase
from app.pagination import Ordering
from app.models.base import local_today
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import customer_analytics as analytics
from app.services import customer_care as care
from app.services import customers
from app.services.loyalty import expiry
from app.services.customer_analytics import CHURN_REASONS, SUGGESTED_ACTIONS


@bp.route("/churn")
@access("customers.view")
def churn():
    """Churn warnings (流失预警) for the stores in scope, with what to do about each."""
    today = local_today()
    rules = analytics.read_rules()
    reason = request.args.get("reason", "")
    store_id = request.args.get("store", type=int)
    store_code = request.args.get("store_code", "").strip().upper()[:20]
    # Win-back calls and offers go to customers who agreed to be contacted; the others are
    # listed apart, marked "do not contact" (R61).
    consent = "no" if request.args.get("consent") == "no" else "yes"
    f = Filters(churn=reason if reason in CHURN_REASONS else "any", store=store_id, store_code=store_code,
                sort="spend", consent=consent)
    stmt = customer_query(f, today, search_phone=False).options(
        load_only(*LIST_COLUMNS, Customer.churn_flags, Customer.usual_interval_days, *f.ordering.columns))
    page = keyset_of(stmt, f.ordering)
    ids = [c.id for c in page.items]
    contacts = customers.last_contacts(ids) if ids else {}
    rows = [{
        "customer": customer,
        "warnings": analytics.churn_warnings(customer),
        "limit": analytics.absence_limit(customer, rules),
        "last_contact": contacts.get(customer.id),
    } for customer in page.items]
    return render_template(
        "customers/churn.html", page=page, rows=rows, today=today, rules=rules, reason=reason, store_id=store_id,
        consent=consent,
        reasons=CHURN_REASONS, actions=SUGGESTED_ACTIONS, stores=store_choices(), store_code=store_code,
    )


CARE_ORDER = Ordering((CareTask.due_on, CareTask.id))
# The tab of return visits due to customers who did not agree to be contacted: listed so the
# store knows, without a "mark done" button.
NO_CONSENT = "no-consent"
CARE_CUSTOMER_COLUMNS = (Customer.id, Customer.code, Customer.name, Customer.anonymised_at, Customer.category,
                         Customer.grade, Customer.birthday, Customer.mobile)


@bp.route("/care")
@access("customers.view")
def care_schedule():
    """Return visits, birthdays and holiday greetings due in the coming days."""
    today = local_today()
    rules = analytics.read_rules()
    holidays = care.upcoming_holidays(rules, today)
    tab = request.args.get("tab", "return")
    holiday = None
    if tab.startswith("holiday-"):
        holiday = next((h for h in holidays if f"holiday-{h.id}" == tab), None)
    if holiday is None and tab not in ("birthday", "follow_up", care.COMPLAINT_KIND, expiry.KIND, NO_CONSENT):
        tab = "return"
    kind = "holiday" if holiday else "return" if tab == NO_CONSENT else tab
    stmt = care.due_tasks(kind, rules, today, holiday.id if holiday else None, consent=tab != NO_CONSENT).options(
        # What the tabs show of each customer (whole records were 80 columns each).
        joinedload(CareTask.customer).load_only(*CARE_CUSTOMER_COLUMNS),
        joinedload(CareTask.purchase).load_only(Purchase.id, Purchase.amount, Purchase.items, Purchase.purchased_on),
    )
    page = keyset_of(stmt, CARE_ORDER)
    counts = {k: capped_count(care.due_tasks(k, rules, today).with_only_columns(CareTask.id))
              for k in ("return", "follow_up", "birthday", care.COMPLAINT_KIND, expiry.KIND)}
    counts[NO_CONSENT] = capped_count(care.due_tasks("return", rules, today, consent=False)
                                      .with_only_columns(CareTask.id))
    complaints = {}
    if tab == care.COMPLAINT_KIND and page.items:
        from app.models import Complaint

        # The reference and subject staff know the complaint by (one statement for the page).
        ids = [int(t.ref[2:]) for t in page.items]
        complaints = {row.id: row for row in db.session.execute(
            select(Complaint.id, Complaint.reference, Complaint.title).where(Complaint.id.in_(ids))).all()}
    lapse_days, lapsing = {}, {}
    if tab == expiry.KIND and page.items:
        # The points each notice is about (one statement for the page).
        lapse_days = {t.ref[2:]: expiry.day_of(t.ref) for t in page.items}
        lapsing = expiry.lapsing_points([t.customer_id for t in page.items], set(lapse_days.values()))
    return render_template(
        "customers/care.html", page=page, tab=tab, holiday=holiday, holidays=holidays, counts=counts, today=today,
        complaints=complaints, lapse_days=lapse_days, lapsing=lapsing,
        rules=rules, locale=str(get_locale()),
    )


def _care_target(customer: Customer, kind: str, ref: int | None):
    """Check that the care task exists for this customer; returns the contact's references."""
    today = local_today()
    if kind in ("return_visit", "follow_up"):
        purchase = db.session.scalar(select(Purchase).where(Purchase.id == ref, Purchase.customer_id == customer.id))
        if purchase is None:
            abort(404)
        return {"purchase_id": purchase.id}, purchase
    if kind == "birthday":
        if ref not in (today.year, today.year + 1) or not customer.birthday_md:
            abort(404)
        return {"care_year": ref}, ref
    if kind == "points_expiry":
        day = expiry.day_of(f"x:{ref}")
        if day is None or not expiry.lapsing_points([customer.id], {day}):
            abort(404)
        return {"points_expiry_on": day}, day
    if kind == "holiday":
        holiday = db.session.scalar(select(CareHoliday).where(CareHoliday.id == ref))
        if holiday is None:
            abort(404)
        return {"holiday_id": holiday.id}, holiday
    abort(404)


@bp.route("/<int:customer_id>/care/<kind>", methods=["GET", "POST"])
@access("customers.edit")
def care_done(customer_id: int, kind: str):
    """Mark a care task done: the outcome goes into the contact log."""
    customer = get_scoped_or_404(Customer, customer_id)
    refs, target = _care_target(customer, kind, request.args.get("ref", type=int))
    if kind == "points_expiry" and not expiry.notice_open(customer.id, target):
        flash(_("This reminder was already done."), "info")
        return redirect(url_for("customers.care_schedule", tab=expiry.KIND))
    if not customer.consent:  # R61: the list offers no button for these; neither does the URL
        flash(_("%(name)s did not agree to be contacted: no care calls. Record their consent first if they agree.",
                name=customer.display_name), "warning")
        return redirect(url_for("customers.care_schedule", tab=NO_CONSENT))
    form = ContactForm(purpose=kind)
    back = request.args.get("tab", "return")
    if form.validate_on_submit():
        data = form.data_for_model() | refs
        if done := create_once(form, lambda: customers.record_contact(customer, data, current_user),
                               lambda contact: url_for("customers.care_schedule", tab=back),
                               _("Care for %(name)s marked done.", name=customer.display_name)):
            return done
    return render_template("customers/contact_form.html", form=form, customer=customer, care=kind, target=target,
                           locale=str(get_locale()))
