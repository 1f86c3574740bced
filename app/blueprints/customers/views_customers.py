from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from app import refcache
from app.blueprints.common import create_once, keyset_of, page_of, save_versioned
from app.blueprints.customers import bp
from app.blueprints.customers.forms import CustomerForm, NewCustomerForm, scoped_store
from app.blueprints.customers.listing import CHURN_FILTERS, CONSENT_FILTERS, SORTS, Filters, customer_query
from app.extensions import db
from app.i18n import translated
from app.models import AuditEvent, Contact, Coupon, Customer, Franchisee, Purchase, Store, StoreStats
from app.models.base import local_today
from app.models.customer import CATEGORIES, GRADES
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import audit, customers
from app.services import customer_analytics as analytics
from app.services import customer_file
from app.services.customer_care import next_birthday
from app.services.loyalty import catalogue, segments


def scoped_stores() -> list[Store]:
    return db.session.scalars(select(Store).where(Store.status == "open").order_by(Store.code)).all()


STORE_LIST_MAX = 60


def store_choices() -> list | None:
    """(id, code, name) of the stores in scope for the store filter; None when there are too
    many to list (the filter is then a box for the store code)."""
    def read():
        rows = db.session.execute(
            select(Store.id, Store.code, Store.name).order_by(Store.code).limit(STORE_LIST_MAX + 1)
        ).all()
        return None if len(rows) > STORE_LIST_MAX else tuple(rows)

    return refcache.scoped(("store_choices",), read)


def franchisee_choices() -> tuple:
    """(id, name) of the franchisees in scope, by name."""
    return refcache.scoped(("franchisee_choices",), lambda: tuple(
        db.session.execute(select(Franchisee.id, Franchisee.name).order_by(Franchisee.name))
    ))


def store_names(stores, items) -> dict:
    """Store of each listed customer by id: from the filter's list, or one query for the page."""
    if stores is not None:
        return {s.id: s for s in stores}
    ids = {c.store_id for c in items}
    if not ids:
        return {}
    return {s.id: s for s in db.session.execute(select(Store.id, Store.code, Store.name).where(Store.id.in_(ids)))}


LIST_COLUMNS = (
    Customer.id, Customer.code, Customer.name, Customer.store_id, Customer.mobile, Customer.category,
    Customer.grade, Customer.tier_id, Customer.purchase_count, Customer.total_spend, Customer.last_purchase_on,
    Customer.anonymised_at, Customer.merged_into_id,
)


@bp.route("/")
@access("customers.view")
def index():
    """The customer list: search, filters, sort and keyset pages, within the user's scope."""
    today = local_today()
    f = Filters.from_args(request.args)
    stmt = customer_query(f, today, search_phone=can(current_user, "customers.contact_details"))
    # The columns the list shows (and its cursor's): a page of whole records loaded 80 columns a row.
    stmt = stmt.options(load_only(*LIST_COLUMNS, *f.ordering.columns))
    page = keyset_of(stmt, f.ordering)
    stores = store_choices()
    tiers = analytics.tier_options()
    # Without a filter the total is the stores' maintained count, not a count(*) of every row.
    total = None if f.narrowed else db.session.scalar(select(func.coalesce(func.sum(StoreStats.customers), 0)))
    return render_template(
        "customers/index.html",
        page=page,
        f=f,
        today=today,
        total=total,
        stores=stores,
        store_names=store_names(stores, page.items),
        franchisees=franchisee_choices(),
        tiers=tiers,
        tier_names={t.id: t for t in tiers},
        categories=translated(CATEGORIES),
        grades=GRADES,
        churn_filters=translated(CHURN_FILTERS),
        consent_filters=translated(CONSENT_FILTERS),
        sorts=translated(SORTS),
        locale=str(get_locale()),
        choosing=_choosing(f),
    )


def _choosing(f):
    """What the list is choosing customers for: an offer to issue (``?offer=``), an event to invite
    them to (``?event=``) or a club to join (``?club=``), if the user may; None otherwise."""
    from app.models.event import Club, MemberEvent
    from app.models.offer import Offer

    kinds = (("offer", Offer, "loyalty.issue", "loyalty.issue", "loyalty.offer", "offer_id",
              _("Issuing %(what)s: choose the customers with the filters below, then issue it to the customers "
                "listed (those who agreed to be contacted).")),
             ("event", MemberEvent, "loyalty.events", "loyalty.invite", "loyalty.event", "member_event_id",
              _("Inviting to %(what)s: choose the customers with the filters below, then invite the customers "
                "listed (those who agreed to be contacted).")),
             ("club", Club, "loyalty.events", "loyalty.join_club", "loyalty.club", "club_id",
              _("Adding members to %(what)s: choose the customers with the filters below, then add the customers "
                "listed (those who agreed to be contacted).")))
    for arg, model, permission, action, back, key, text in kinds:
        ident = request.args.get(arg, type=int)
        if not ident or not can(current_user, permission):
            continue
        found = db.session.scalar(select(model).where(model.id == ident))
        if found is None:
            return None
        name = found.title(str(get_locale())) if arg == "offer" else str(found)
        return {"arg": arg, "id": found.id, "text": text % {"what": name},
                "go": url_for(action, **{key: found.id}, **f.args_without()), "back": url_for(back, **{key: found.id})}
    return None


@bp.route("/new", methods=["GET", "POST"])
@access("customers.edit")
def new():
    """Open a customer file in one of the user's stores."""
    stores = scoped_stores()
    form = NewCustomerForm(stores=stores, version=1)
    if form.validate_on_submit():
        store = scoped_store(form.store_id)
        if store is None and form.receipt is None:
            form.store_id.errors.append(_("Choose one of your stores."))
        elif done := create_once(form, lambda: customers.create_customer(store, form.data_for_model(), current_user),
                                 lambda customer: url_for("customers.show", customer_id=customer.id),
                                 lambda customer: _("Customer %(code)s created.", code=customer.code)):
            return done
    return render_template("customers/form.html", form=form, customer=None)


TIMELINE_SHORT, TIMELINE_LONG = 20, 500


def _timeline(customer: Customer, limit: int) -> list[dict]:
    purchases = db.session.scalars(
        select(Purchase).where(Purchase.customer_id == customer.id)
        .options(joinedload(Purchase.created_by), joinedload(Purchase.coupon).joinedload(Coupon.offer))
        .order_by(Purchase.purchased_on.desc()).limit(limit)
    ).all()
    contacts = db.session.scalars(
        select(Contact).where(Contact.customer_id == customer.id)
        .options(joinedload(Contact.staff)).order_by(Contact.occurred_at.desc()).limit(limit)
    ).all()
    from app.models.logistics import Shipment

    # Each purchase's delivery (one query for the page's purchases).
    shipped = {s.purchase_id: s for s in db.session.scalars(
        select(Shipment).where(Shipment.customer_id == customer.id, Shipment.purchase_id.in_([p.id for p in purchases]))
        .options(joinedload(Shipment.partner)))} if purchases else {}
    entries = [{"kind": "purchase", "when": p.purchased_on, "sort": (p.purchased_on.isoformat(), 0), "item": p,
                "shipment": shipped.get(p.id), "coupon": p.coupon} for p in purchases]
    entries += [{"kind": "contact", "when": c.occurred_at, "sort": (c.occurred_at.isoformat(), 1), "item": c} for c in contacts]
    from app.services.complaints import customers as complaint_files

    entries += [{"kind": "complaint", "when": c.received_at, "sort": (c.received_at.isoformat(), 2), "item": c}
                for c in complaint_files.for_timeline(customer.id, limit)]
    from app.models.survey import SurveyResponse

    entries += [{"kind": "survey", "when": r.answered_on, "sort": (r.answered_on.isoformat(), 3), "item": r}
                for r in db.session.scalars(select(SurveyResponse).where(SurveyResponse.customer_id == customer.id)
                                            .order_by(SurveyResponse.answered_on.desc()).limit(limit))]
    return sorted(entries, key=lambda e: e["sort"], reverse=True)[:limit]


@bp.route("/<int:customer_id>")
@access("customers.view")
def show(customer_id: int):
    """One customer: master record, figures, churn warnings and history on one page."""
    customer = get_scoped_or_404(Customer, customer_id, joinedload(Customer.store), joinedload(Customer.tier))
    if customer.merged_into_id:
        flash(_("This record was merged into another customer."), "info")
        return redirect(url_for("customers.show", customer_id=customer.merged_into_id))
    today = local_today()
    rules = analytics.read_rules()
    # Rendered first; then the view is logged in a short write of its own (audit.record_read).
    page = render_template(
        "customers/show.html",
        customer=customer,
        today=today,
        rules=rules,
        absence_limit=analytics.absence_limit(customer, rules),
        warnings=analytics.churn_warnings(customer, rules, today),
        next_birthday=next_birthday(customer, today),
        timeline=_timeline(customer, TIMELINE_LONG if request.args.get("history") == "all" else TIMELINE_SHORT + 1),
        timeline_short=TIMELINE_SHORT,
        full_history=request.args.get("history") == "all",
        locale=str(get_locale()),
        show_contacts=can(current_user, "customers.contact_details"),
        analysis=customer_file.latest_by_topic(customer_file.analysis_history(customer.id, limit=50)),
        value=analytics.value_parts(customer, rules, today),
        privileges=catalogue.privileges_of(customer.tier, str(get_locale())),
        loyalty=segments.summary(customer, today),
        segment_names=segments.SEGMENTS,
    )
    audit.record_read("customer.viewed", actor=current_user, target=customer,
                      once_per_seconds=current_app.config["AUDIT_VIEW_WINDOW_SECONDS"])
    return page


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@access("customers.edit")
def edit(customer_id: int):
    """Edit a customer's master record."""
    customer = get_scoped_or_404(Customer, customer_id)
    if customer.is_anonymised or customer.merged_into_id:
        flash(_("This customer has been anonymised and can no longer be edited."), "warning")
        return redirect(url_for("customers.show", customer_id=customer.id))
    form = CustomerForm(customer=customer, stores=[customer.store])
    if form.validate_on_submit() and save_versioned(
        form, customer, lambda: customers.update_customer(customer, form.data_for_model(), current_user)
    ):
        flash(_("Changes saved."), "success")
        return redirect(url_for("customers.show", customer_id=customer.id))
    return render_template("customers/form.html", form=form, customer=customer)


@bp.route("/<int:customer_id>/access-log")
@access("customers.access_log")
def access_log(customer_id: int):
    """Who opened, changed or exported this customer's file, and when (R62)."""
    customer = get_scoped_or_404(Customer, customer_id)
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.target_type == "Customer", AuditEvent.target_id == customer.id)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return render_template("customers/access_log.html", customer=customer, page=page_of(stmt))
