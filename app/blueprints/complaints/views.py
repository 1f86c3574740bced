"""The complaint queue, intake and the complaint page."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.blueprints.common import capped_count, create_once, keyset_of, save_versioned
from app.blueprints.complaints import bp, forms
from app.blueprints.complaints.listing import TABS, Filters, complaint_query
from app.blueprints.customers.views_customers import store_choices
from app.extensions import db
from app.i18n import current_locale
from app.models import Complaint, ComplaintEvent, ComplaintTask, Customer, Store
from app.models.base import local_today, utcnow
from app.models.complaint import CHECKLIST, KINDS, SEVERITIES
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import customers as customer_files
from app.services import logistics
from app.services.complaints import deadlines, settings, workflow
from app.services.complaints import stats as complaint_stats
from app.services.customer_fields import normalise_mobile, FieldError

STORE_LIST_MAX = 60
# Channel -> how a customer's consent was given when the file is opened at intake.
CONSENT_BY_CHANNEL = {"phone": "phone", "in_store": "paper", "online": "online", "web_form": "online",
                      "email": "online", "social": "online"}


@bp.route("/")
@access("complaints.view")
def index():
    """The complaint queue: what is open, late or about to be, for the stores in scope."""
    f = Filters.from_args(request.args)
    now = utcnow()
    horizon = deadlines.warning_horizon(now)
    stmt = complaint_query(f, now, horizon).options(
        joinedload(Complaint.store).load_only(Store.id, Store.code, Store.name))
    page = keyset_of(stmt, f.ordering)
    counts = {tab: capped_count(complaint_query(Filters(tab=tab), now, horizon).with_only_columns(Complaint.id))
              for tab in ("overdue", "due_soon", "waiting")}
    locale = current_locale()
    return render_template(
        "complaints/index.html", page=page, f=f, tabs=TABS, counts=counts, now=now, horizon=horizon,
        warnings=_threshold_warnings() if can(current_user, "complaints.statistics") else [],
        stores=store_choices(), categories=settings.categories(active_only=False), severities=SEVERITIES,
        kinds=KINDS, locale=locale, category_names={c.id: c.label(locale) for c in settings.categories(False)},
    )


def _threshold_warnings() -> list[dict]:
    """Franchisees over a complaint threshold, for the queue's banner: counted over all their
    stores (the threshold is the franchisee's), shown to those whose scope is whole franchisees or
    more (headquarters, supervisors, owners), a minute old (the roll-up of months added up)."""
    from flask import current_app

    from app import refcache
    from app.security.scope import current_scope
    from app.security.tenancy import unscoped

    scope = current_scope._get_current_object()
    if scope.level not in ("network", "regions", "franchisee"):
        return []  # a store manager sees part of the franchisee: a partial count would mislead
    today = local_today()

    def all_warnings():
        with unscoped():
            return complaint_stats.over_thresholds(today)

    warnings = refcache.cached_for(current_app.config["DASHBOARD_CACHE_SECONDS"], ("complaint-thresholds", today),
                                   all_warnings)
    # One banner per franchisee: of the thresholds it is over, the one it is furthest over
    # (trial 5: two thresholds gave two banners for each franchisee).
    worst: dict[int, dict] = {}
    for w in warnings:
        if scope.covers_franchisee(w["franchisee_id"]):
            known = worst.get(w["franchisee_id"])
            if known is None or w["count"] / w["limit"] > known["count"] / known["limit"]:
                worst[w["franchisee_id"]] = w
    return sorted(worst.values(), key=lambda w: w["name"])


def _intake_stores() -> list[Store] | None:
    stores = db.session.scalars(
        select(Store).where(Store.status == "open").order_by(Store.code).limit(STORE_LIST_MAX + 1)).all()
    return None if len(stores) > STORE_LIST_MAX else stores


def _find_customer(store: Store, lookup: str) -> Customer | None:
    """The customer file a mobile number or code names, in scope; the complaint's store first."""
    value = lookup.strip()
    try:
        mobile = normalise_mobile(value)
    except FieldError:
        mobile = None
    condition = or_(Customer.code == value.upper(), *([Customer.mobile == mobile] if mobile else []))
    rows = db.session.scalars(
        select(Customer).where(condition, Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None))
        .execution_options(owner_hint=False).limit(20)).all()
    rows.sort(key=lambda c: c.store_id != store.id)
    return rows[0] if rows else None


@bp.route("/new", methods=["GET", "POST"])
@access("complaints.intake")
def new():
    """Record a complaint, suggestion or praise received by phone, in store, by e-mail, ..."""
    settings.install_defaults()
    stores = _intake_stores()
    locale = current_locale()
    form = forms.ComplaintForm(stores=stores, categories=settings.categories(), channels=settings.channels(),
                               locale=locale)
    # A complaint about a delivery (from the delivery's page): its customer, store and category
    # filled in, and the partner's complaint rate counts it.
    shipment = logistics.find_shipment(request.args.get("shipment"))
    if shipment is not None and not form.is_submitted():
        _fill_from_shipment(form, shipment, stores)
    if form.validate_on_submit():
        store = _chosen_store(form, stores)
        if store is None and form.receipt is None:
            field = form.store_id if stores is not None else form.store_code
            field.errors.append(_("Choose one of your stores."))
        else:
            def create():
                customer = None
                if form.lookup.data:
                    customer = _find_customer(store, form.lookup.data)
                    if customer is None and not form.create_customer.data:
                        raise workflow.ComplaintError(_(
                            "No customer file has the mobile or code %(value)s. Correct it, leave it empty, "
                            "or tick \"open a customer file\".", value=form.lookup.data))
                if customer is None and form.create_customer.data:
                    customer = _open_file(store, form)
                complaint = workflow.open_complaint(store, form.data_for_model(), current_user, customer=customer)
                if shipment is not None and complaint.is_complaint:
                    logistics.link_complaint(complaint, shipment)
                return complaint

            if done := create_once(form, create, lambda c: url_for("complaints.show", complaint_id=c.id),
                                   lambda c: _promise_message(c)):
                return done
    earlier = db.session.scalars(select(Complaint).where(Complaint.shipment_id == shipment.id).order_by(
        Complaint.received_at)).all() if shipment is not None else []
    return render_template("complaints/form.html", form=form, stores=stores, shipment=shipment, earlier=earlier)


def _fill_from_shipment(form, shipment, stores) -> None:
    customer = shipment.customer
    form.kind.data = "complaint"
    if getattr(form, "store_id", None) is not None:
        form.store_id.data = shipment.store_id
    elif getattr(form, "store_code", None) is not None:
        form.store_code.data = shipment.store.code
    form.lookup.data = customer.code
    form.contact_name.data = customer.display_name
    category = next((c for c in settings.categories() if c.code == "logistics"), None)
    if category is not None:
        form.category_id.data = category.id
    form.title.data = str(_("Delivery by %(partner)s", partner=shipment.partner.name))[:100]


def _chosen_store(form, stores) -> Store | None:
    if stores is not None:
        return next((s for s in stores if s.id == form.store_id.data), None)
    code = (form.store_code.data or "").strip().upper()
    return db.session.scalar(select(Store).where(Store.code == code, Store.status == "open")) if code else None


def _open_file(store: Store, form) -> Customer:
    """A customer file opened at intake, with the customer-file rules (R61: consent asked)."""
    existing = db.session.scalar(select(Customer.id).where(
        Customer.store_id == store.id, Customer.mobile == form.contact_phone.data, Customer.merged_into_id.is_(None)))
    if existing:
        return db.session.get(Customer, existing)
    channel = settings.channel(form.channel_id.data)
    return customer_files.create_customer(store, {
        "name": form.contact_name.data, "mobile": form.contact_phone.data, "email": form.contact_email.data,
        "source": "other", "consent": True, "consent_at": utcnow(),
        "consent_method": CONSENT_BY_CHANNEL.get(channel.code if channel else "", "phone"),
        # Stored text: in the portal's language, whoever opens the file.
        "consent_purpose": _stored_text(lambda: _("Complaint handling and follow-up")),
    }, current_user)


def _stored_text(make) -> str:
    from flask import current_app
    from flask_babel import force_locale

    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(make())


def _promise_message(complaint: Complaint) -> str:
    from app.templating import datetime_text

    if not complaint.is_complaint:
        return _("%(kind)s %(ref)s recorded.", kind=complaint.kind_label, ref=complaint.reference)
    return _("Complaint %(ref)s recorded. Tell the customer: we will answer by %(due)s (reference %(ref)s).",
             ref=complaint.reference, due=datetime_text(complaint.resolve_due_at, "short"))


def load_complaint(complaint_id: int) -> Complaint:
    return get_scoped_or_404(
        Complaint, complaint_id, joinedload(Complaint.store), joinedload(Complaint.customer),
        joinedload(Complaint.handler), joinedload(Complaint.received_by),
        selectinload(Complaint.events).joinedload(ComplaintEvent.actor),
        selectinload(Complaint.tasks).joinedload(ComplaintTask.done_by), selectinload(Complaint.attachments))


def action_forms(complaint: Complaint, posted: dict | None = None) -> dict:
    """The forms of the actions this user may take now, keyed by action (``posted`` replaces one
    by the form the user just sent, with what they typed and its errors)."""
    made = {}
    version = {"version": complaint.version}
    for action, (form_class, permission, _run) in ACTIONS.items():
        if not can(current_user, permission) or not workflow.allowed(complaint, action):
            continue
        if posted and action in posted:
            made[action] = posted[action]
            continue
        kwargs = dict(version)
        if action == "resolve":
            kwargs["offered"] = workflow.remedies_for(complaint)
            kwargs["carrier"] = complaint.carrier
        if action == "checklist":
            kwargs["items"] = [k for k in CHECKLIST if complaint.checked(k)]
        if action == "capa":
            for key in ("root_cause", "corrective_action", "preventive_action", "capa_owner", "capa_due_on"):
                kwargs[key] = getattr(complaint, key)
        if action == "plan":
            kwargs["plan"] = complaint.hq_plan
        made[action] = form_class(formdata=None, **kwargs)
    return made


def render_show(complaint: Complaint, posted: dict | None = None, status: int = 200):
    now = utcnow()
    posted_action = next(iter(posted), None) if posted else None
    forms_now = action_forms(complaint, posted)
    orphan = None
    if posted_action and posted_action not in forms_now:
        # The step is no longer possible (a colleague paused or resolved it meanwhile): the text
        # the user typed is shown to copy, not dropped.
        typed = [str(f.data) for name, f in posted[posted_action]._fields.items()
                 if name not in ("csrf_token", "version") and f.type in ("StringField", "TextAreaField")
                 and isinstance(f.data, str) and f.data.strip()]
        orphan = "\n".join(typed) or None
    left = deadlines.business_left(complaint, now) if complaint.is_open else None
    return render_template(
        "complaints/show.html", c=complaint, now=now, left=left, forms=forms_now, posted_action=posted_action,
        orphan=orphan,
        checklist=CHECKLIST, missing=workflow.missing_to_close(complaint) if complaint.is_complaint else [],
        category=settings.category(complaint.category_id), channel=settings.channel(complaint.channel_id),
        locale=current_locale(), joint=workflow.joint_departments(complaint), assignees=workflow.TASK_ASSIGNEES,
        task_form=forms.TaskDoneForm(formdata=None), joint_min=workflow.JOINT_MIN_DEPARTMENTS,
        field_labels={name: field.label.text for name, field in forms.EditComplaintForm(formdata=None)._fields.items()},
    ), status


@bp.route("/<int:complaint_id>/edit", methods=["GET", "POST"])
@access("complaints.handle")
def edit(complaint_id: int):
    """Correct the details recorded at intake (category, severity, contact, the customer's words)."""
    complaint = load_complaint(complaint_id)
    locale = current_locale()
    form = forms.EditComplaintForm(complaint=complaint, categories=settings.categories(),
                                   channels=settings.channels(), locale=locale)
    if not complaint.is_open:
        if request.method == "POST":
            # Resolved by a colleague while this user corrected it: what they typed stays on the
            # page to copy into a note (trial 5: it was thrown away with the redirect).
            form.validate()
            flash(_("The complaint was resolved or closed meanwhile, so the details can no longer be corrected. "
                    "What you typed is below: copy what is still needed into a note on the complaint."), "warning")
            return render_template("complaints/edit.html", form=form, c=complaint, closed=True), 409
        flash(_("A resolved or closed complaint can no longer be edited."), "warning")
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
    was_escalated = complaint.escalated
    if form.validate_on_submit() and save_versioned(
            form, complaint, lambda: workflow.edit(complaint, current_user, form.changes(complaint))):
        flash(_("Changes saved."), "success")
        if complaint.escalated and not was_escalated:
            from app.templating import datetime_text

            flash(_("It went to headquarters' customer-experience department. The answer is now promised by "
                    "%(when)s: tell the customer.", when=datetime_text(complaint.resolve_due_at, "short")), "warning")
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
    return render_template("complaints/edit.html", form=form, c=complaint)


@bp.route("/<int:complaint_id>")
@access("complaints.view")
def show(complaint_id: int):
    """One complaint: its clocks, the customer, the timeline and what can be done next."""
    return render_show(load_complaint(complaint_id))


# action -> (form, permission, run(complaint, form)); the service refuses what the state does not allow.
ACTIONS = {
    "acknowledge": (forms.NoteForm, "complaints.handle", lambda c, f: workflow.acknowledge(c, current_user, f.note.data)),
    "start": (forms.NoteForm, "complaints.handle", lambda c, f: workflow.start(c, current_user, f.note.data)),
    "communicate": (forms.CommunicationForm, "complaints.handle",
                    lambda c, f: workflow.communicate(c, current_user, f.method.data, f.note.data)),
    "wait": (forms.WaitForm, "complaints.handle", lambda c, f: workflow.wait_on_customer(c, current_user, f.reason.data)),
    "resume": (forms.NoteForm, "complaints.handle", lambda c, f: workflow.resume(c, current_user, f.note.data)),
    "checklist": (forms.ChecklistForm, "complaints.handle",
                  lambda c, f: workflow.set_checklist(c, current_user, f.items.data or [])),
    "escalate": (forms.EscalateForm, "complaints.handle", lambda c, f: workflow.escalate(c, current_user, f.reason.data)),
    "resolve": (forms.ResolveForm, "complaints.handle", lambda c, f: workflow.resolve(c, current_user, {
        "resolution": f.resolution.data, "remedies": f.remedies.data, "compensation": f.compensation.data,
        "carrier": f.carrier.data or None, "carrier_part": f.carrier_part.data or None})),
    "follow_up": (forms.FollowUpForm, "complaints.handle",
                  lambda c, f: workflow.record_follow_up(c, current_user, f.score.data, f.note.data, f.method.data)),
    "capa": (forms.CapaForm, "complaints.handle", lambda c, f: workflow.save_capa(c, current_user, {
        k: getattr(f, k).data for k in ("root_cause", "corrective_action", "preventive_action", "capa_owner",
                                        "capa_due_on")})),
    "close": (forms.NoteForm, "complaints.handle", lambda c, f: workflow.close(c, current_user, f.note.data)),
    "close_feedback": (forms.RequiredNoteForm, "complaints.handle",
                       lambda c, f: workflow.close_feedback(c, current_user, f.note.data)),
    "verify_capa": (forms.RequiredNoteForm, "complaints.joint",
                    lambda c, f: workflow.verify_capa(c, current_user, f.note.data)),
    "plan": (forms.PlanForm, "complaints.joint", lambda c, f: workflow.save_plan(c, current_user, f.plan.data)),
    "task": (forms.TaskForm, "complaints.joint",
             lambda c, f: workflow.add_task(c, current_user, f.department.data, f.title.data, f.due_on.data)),
    "hq_done": (forms.NoteForm, "complaints.joint", lambda c, f: workflow.finish_hq_part(c, current_user, f.note.data)),
}


def _carry_version(form, complaint: Complaint) -> None:
    """The form shown again carries the version now on screen, so sending it once more saves
    (the hidden field renders what was posted, so the posted value is replaced too)."""
    form.version.data = complaint.version
    form.version.raw_data = [str(complaint.version)]


@bp.route("/<int:complaint_id>/<action>", methods=["GET", "POST"])
@access("complaints.view")
def act(complaint_id: int, action: str):
    """Take one step of the workflow; a step the state or the user's role does not allow is refused."""
    complaint = load_complaint(complaint_id)
    if request.method == "GET" or action not in ACTIONS:
        # A refused step is answered at this address: reloading it or switching the language
        # there comes back to the complaint (it answered 405).
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
        return redirect(url_for("complaints.show", complaint_id=complaint.id))
    form_class, permission, run = ACTIONS[action]
    if not can(current_user, permission):
        abort(403)
    kwargs = {"offered": workflow.remedies_for(complaint)} if action == "resolve" else {}
    form = form_class(**kwargs)
    if not form.validate_on_submit():
        flash(_("Not saved: check the highlighted fields."), "danger")
        if form.version.data == complaint.version:
            _carry_version(form, complaint)
        return render_show(complaint, {action: form}, 422)
    if form.version.data != complaint.version:
        flash(_("Someone else changed this complaint while you were working on it; its current state is "
                "shown below. What you typed is kept: check it and send it again."), "warning")
        _carry_version(form, complaint)
        return render_show(complaint, {action: form}, 409)
    try:
        run(complaint, form)
        db.session.commit()
    except workflow.ComplaintError as error:
        db.session.rollback()
        flash(str(error), "danger")
        complaint = load_complaint(complaint_id)
        _carry_version(form, complaint)
        return render_show(complaint, {action: form}, 422)
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this complaint at the same moment; its current state is shown below. "
                "What you typed is kept: check it and send it again."), "warning")
        complaint = load_complaint(complaint_id)
        _carry_version(form, complaint)
        return render_show(complaint, {action: form}, 409)
    if action == "follow_up" and complaint.status == "reopened":
        flash(_("Follow-up recorded. The customer is not satisfied: the complaint is open again, with a new "
                "promised time."), "warning")
    else:
        flash(str(DONE_MESSAGES[action]), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint.id) + "#timeline")

DONE_MESSAGES = {
    "acknowledge": _l("Acknowledged: the customer has had a first answer."),
    "start": _l("Handling started."),
    "communicate": _l("Message logged."),
    "wait": _l("Waiting on the customer: the clock is paused."),
    "resume": _l("The clock runs again."),
    "checklist": _l("Checklist saved."),
    "escalate": _l("Escalated to headquarters' customer-experience department."),
    "resolve": _l("Resolved. Follow up with the customer to ask whether they are satisfied."),
    "follow_up": _l("Follow-up recorded."),
    "capa": _l("Root cause and actions saved."),
    "close": _l("Complaint closed."),
    "close_feedback": _l("Closed."),
    "verify_capa": _l("Actions verified."),
    "plan": _l("Handling plan saved."),
    "task": _l("Task assigned."),
    "hq_done": _l("Headquarters' part marked done."),
}
