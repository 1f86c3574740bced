"""The audit plan (list and month calendar), planning, an audit's page and its steps."""
import calendar
from dataclasses import dataclass
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.blueprints.audits import bp, forms
from app.blueprints.common import capped_count, create_once, keyset_of
from app.blueprints.customers.views_customers import franchisee_choices, store_choices
from app.extensions import db
from app.i18n import current_locale, translated
from app.models.user import ROLES
from app.models import AuditScoreChange, AuditTemplate, CorrectiveAction, Region, Store, StoreAudit, TemplateSection, User
from app.models.base import local_today
from app.models.mystery import ACTION_STATUSES, APPEAL_STATUSES, AUDIT_STATUSES
from app.pagination import Ordering
from app.security.access import access
from app.templating import date_text
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import RuleError
from app.services.audits import stats as audit_stats
from app.services.audits import templates, workflow

TABS = {
    "mine": _l("My visits"),
    "planned": _l("Planned"),
    "overdue": _l("Overdue"),
    "submitted": _l("To publish"),
    "published": _l("Published"),
    "all": _l("All"),
}
# What each role starts on: an auditor their own visits, a franchisee the published results.
DEFAULT_TAB = {"mystery_shopper": "mine", "hq_auditor": "mine", "hq_supervisor": "mine"}
BY_DUE = Ordering((StoreAudit.due_on, StoreAudit.id))
BY_PUBLISHED = Ordering((StoreAudit.published_at, StoreAudit.id), descending=True)
BY_CREATED = Ordering((StoreAudit.id,), descending=True)


@dataclass
class Filters:
    tab: str
    store: int | None = None
    store_code: str = ""
    q: str = ""
    year: int | None = None
    quarter: int | None = None

    @classmethod
    def from_args(cls, args, tabs) -> "Filters":
        default = next((t for t in (DEFAULT_TAB.get(current_user.role), "published") if t in tabs), "all")
        tab = args.get("tab", default)
        quarter = args.get("quarter", type=int)
        year = args.get("year", type=int)
        return cls(tab=tab if tab in tabs else default, store=args.get("store", type=int),
                   store_code=args.get("store_code", "").strip().upper()[:20], q=args.get("q", "").strip()[:20],
                   year=year if year and 2000 <= year <= 2100 else None,
                   quarter=quarter if quarter in (1, 2, 3, 4) else None)

    def args(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}

    @property
    def narrowed(self) -> bool:
        return any(k != "tab" for k in self.args())


def visible_tabs() -> dict:
    """A franchisee's people see published audits only (the scope hides the rest anyway)."""
    if current_user.role in ("franchise_owner", "store_manager", "store_staff"):
        return {k: TABS[k] for k in ("published", "all")}
    if current_user.role == "mystery_shopper":
        return {k: TABS[k] for k in ("mine", "all")}
    if current_user.role in ("hq_viewer",):
        return {k: v for k, v in TABS.items() if k != "mine"}
    return dict(TABS)


def audit_query(f: Filters, today: date):
    stmt = select(StoreAudit)
    if f.tab == "mine":
        stmt = stmt.where(StoreAudit.auditor_id == current_user.id, StoreAudit.status.in_(("planned", "in_progress")))
    elif f.tab == "planned":
        stmt = stmt.where(StoreAudit.status.in_(("planned", "in_progress")))
    elif f.tab == "overdue":
        stmt = stmt.where(StoreAudit.status.in_(("planned", "in_progress")), StoreAudit.due_on < today)
    elif f.tab == "submitted":
        stmt = stmt.where(StoreAudit.status == "submitted")
    elif f.tab == "published":
        stmt = stmt.where(StoreAudit.published_at.is_not(None))
    if f.store:
        stmt = stmt.where(StoreAudit.store_id == f.store)
    if f.store_code:
        stmt = stmt.where(StoreAudit.store_id.in_(select(Store.id).where(Store.code == f.store_code)))
    if f.q:
        stmt = stmt.where(StoreAudit.reference == f.q.upper())
    if f.year:
        stmt = stmt.where(StoreAudit.year == f.year)
    if f.quarter:
        stmt = stmt.where(StoreAudit.quarter == f.quarter)
    return stmt


def _ordering(tab: str) -> Ordering:
    return {"published": BY_PUBLISHED, "all": BY_CREATED}.get(tab, BY_DUE)


@bp.route("/")
@access("audits.view")
def index():
    """The audits in scope: my visits, the plan, overdue visits (R31), those to publish."""
    tabs = visible_tabs()
    f = Filters.from_args(request.args, tabs)
    today = local_today()
    stmt = audit_query(f, today).options(joinedload(StoreAudit.store).load_only(Store.id, Store.code, Store.name),
                                         joinedload(StoreAudit.auditor).load_only(User.id, User.display_name))
    page = keyset_of(stmt, _ordering(f.tab))
    counts = {tab: capped_count(audit_query(Filters(tab=tab), today).with_only_columns(StoreAudit.id))
              for tab in ("mine", "overdue", "submitted") if tab in tabs}
    return render_template("audits/index.html", page=page, f=f, tabs=tabs, counts=counts, today=today,
                           statuses=AUDIT_STATUSES, stores=store_choices())


@bp.route("/calendar")
@access("audits.view")
def month():
    """The plan as a month calendar: each day's due visits, overdue ones marked."""
    today = local_today()
    try:
        year, number = (int(part) for part in request.args.get("month", "").split("-"))
        first = date(year, number, 1)
        if not 2000 <= year <= 2100:
            raise ValueError(year)  # the previous and next months must exist too
    except ValueError:
        first = today.replace(day=1)
    last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    audits = db.session.scalars(
        select(StoreAudit).where(StoreAudit.due_on >= first, StoreAudit.due_on <= last, StoreAudit.status != "cancelled")
        .options(joinedload(StoreAudit.store).load_only(Store.id, Store.code, Store.name))
        .order_by(StoreAudit.due_on, StoreAudit.id).limit(500)).all()
    by_day: dict[date, list] = {}
    for audit in audits:
        by_day.setdefault(audit.due_on, []).append(audit)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    previous = (first.replace(day=1) - date.resolution).replace(day=1)
    following = last + date.resolution
    return render_template("audits/calendar.html", weeks=weeks, by_day=by_day, first=first, today=today,
                           previous=previous, following=following, shown=len(audits))


def _auditors() -> list[tuple[int, str]]:
    with unscoped():
        people = db.session.execute(select(User.id, User.display_name, User.role).where(
            User.active.is_(True), User.role.in_(workflow.CONDUCTORS)).order_by(User.role, User.display_name)).all()
    roles = translated(ROLES)
    return [(u.id, f"{u.display_name} · {roles[u.role]}") for u in people]


@bp.route("/plan", methods=["GET", "POST"])
@access("audits.plan")
def plan():
    """Plan a quarter: one visit for every open store in scope without one (R31)."""
    regions = db.session.execute(select(Region.id, Region.name).order_by(Region.code)).all()
    form = forms.PlanQuarterForm(templates=templates.active_templates(), regions=regions,
                                 franchisees=franchisee_choices(), auditors=_auditors())
    if form.validate_on_submit():
        stmt = select(Store).where(Store.status == "open").order_by(Store.code)
        if form.region_id.data:
            stmt = stmt.where(Store.region_id == form.region_id.data)
        if form.franchisee_id.data:
            stmt = stmt.where(Store.franchisee_id == form.franchisee_id.data)
        stores = db.session.scalars(stmt).all()
        template = get_scoped_or_404(AuditTemplate, form.template_id.data)
        with unscoped():
            auditors = db.session.scalars(select(User).where(User.id.in_(form.auditor_ids.data or []))
                                          .order_by(User.display_name)).all()
        made = []

        def create():
            made.extend(workflow.plan_quarter(stores, template, form.year.data, form.quarter.data, current_user,
                                              auditors, form.due_on.data))
            return made

        done = create_once(form, create, lambda _: url_for("audits.index", tab="planned", year=form.year.data,
                                                           quarter=form.quarter.data),
                           lambda _: ngettext("%(num)d visit planned; stores that already had one this quarter were skipped.",
                                              "%(num)d visits planned; stores that already had one this quarter were skipped.",
                                              len(made)))
        if done:
            return done
    return render_template("audits/plan.html", form=form)


@bp.route("/new", methods=["GET", "POST"])
@access("audits.plan")
def new():
    """Plan one visit of one store."""
    stores = db.session.execute(select(Store.id, Store.code, Store.name).where(Store.status == "open")
                                .order_by(Store.code).limit(2000)).all()
    form = forms.PlanOneForm(stores=[(s.id, f"{s.code} {s.name}") for s in stores],
                             templates=templates.active_templates(), auditors=_auditors())
    if form.validate_on_submit():
        store = get_scoped_or_404(Store, form.store_id.data)
        template = get_scoped_or_404(AuditTemplate, form.template_id.data)
        with unscoped():
            auditor = db.session.get(User, form.auditor_id.data) if form.auditor_id.data else None
        year, quarter = workflow.quarter_of(form.due_on.data)
        done = create_once(form, lambda: workflow.plan(store, template, year, quarter, current_user, auditor=auditor,
                                                       due_on=form.due_on.data),
                           lambda audit: url_for("audits.show", store_audit_id=audit.id),
                           lambda audit: _("Visit %(ref)s planned.", ref=audit.reference))
        if done:
            return done
    return render_template("audits/new.html", form=form)


def load_audit(audit_id: int) -> StoreAudit:
    return get_scoped_or_404(StoreAudit, audit_id, joinedload(StoreAudit.store), joinedload(StoreAudit.template),
                             joinedload(StoreAudit.auditor), selectinload(StoreAudit.answers),
                             selectinload(StoreAudit.photos),
                             selectinload(StoreAudit.score_changes).joinedload(AuditScoreChange.by))


@bp.route("/<int:store_audit_id>")
@access("audits.view")
def show(store_audit_id: int):
    """One audit: its score by touchpoint, every item's result and note, the findings and
    what the franchisee did about them, and the score's history."""
    audit = load_audit(store_audit_id)
    return _render_show(audit)


def _render_show(audit, status=200, **forms_given):
    locale = current_locale()
    template = db.session.scalar(select(AuditTemplate).where(AuditTemplate.id == audit.template_id).options(
        selectinload(AuditTemplate.sections).selectinload(TemplateSection.items),
        selectinload(AuditTemplate.sections).joinedload(TemplateSection.touchpoint)))
    actions = db.session.scalars(select(CorrectiveAction).where(CorrectiveAction.audit_id == audit.id)
                                 .order_by(CorrectiveAction.id)).all()
    step = forms.StepForm(formdata=None, version=audit.version)
    reassign = forms_given.get("reassign") or forms.ReassignForm(
        formdata=None, version=audit.version, auditors=_auditors(), auditor_id=audit.auditor_id or 0, due_on=audit.due_on)
    return render_template(
        "audits/show.html", a=audit, template=template, answers=workflow.answers_of(audit), actions=actions,
        action_statuses=ACTION_STATUSES, appeal_statuses=APPEAL_STATUSES, statuses=AUDIT_STATUSES, locale=locale,
        step=step, reassign=reassign, photos_by_item=photos_by_item(audit),
        item_names={item.id: item.text(locale) for item in template.items},
        missing=workflow.missing_to_submit(audit) if audit.status == "in_progress" else [],
        is_conductor=audit.auditor_id == current_user.id, today=local_today(),
        quarters=audit_stats.store_quarters(audit.store_id),
        rescored={x.item_id for x in actions if x.appeal_status == "granted"},
    ), status


def photos_by_item(audit) -> dict[int, list]:
    """The auditor's photos of each item (a correction's photos are the action's)."""
    found: dict[int, list] = {}
    for photo in audit.photos:
        if photo.item_id and not photo.action_id:
            found.setdefault(photo.item_id, []).append(photo)
    return found


STEPS = {
    "start": ("audits.conduct", lambda a: workflow.start(a, current_user), _l("The visit has started: answer each item.")),
    "submit": ("audits.conduct", lambda a: workflow.submit(a, current_user),
               _l("Submitted. Headquarters publishes it to the franchisee.")),
    "publish": ("audits.publish", None, None),
    "cancel": ("audits.plan", lambda a: workflow.cancel(a, current_user), _l("The visit is cancelled.")),
}


# The states an audit is in once a step was taken.
DONE_STATES = {"start": ("in_progress", "submitted", "published", "closed"), "submit": ("submitted", "published", "closed"),
               "publish": ("published", "closed"), "cancel": ("cancelled",)}


@bp.route("/<int:store_audit_id>/<any(start, submit, publish, cancel):step>", methods=["POST"])
@access("audits.view")
def step(store_audit_id: int, step: str):
    """A step of the audit's life; the service refuses what its state does not allow."""
    permission, run, done = STEPS[step]
    if not can(current_user, permission):
        abort(403)
    audit = load_audit(store_audit_id)
    form = forms.StepForm()
    if not form.validate_on_submit():
        flash(_("The form had expired; please try again."), "warning")
        return redirect(url_for("audits.show", store_audit_id=audit.id))
    if form.version.data != audit.version:
        if audit.status in DONE_STATES[step]:  # the same step posted twice (a double tap, Back then again)
            flash(_("This was already done; nothing was changed."), "info")
        else:
            flash(_("Someone else changed this audit meanwhile; here is what it is now."), "warning")
        return redirect(url_for("audits.show", store_audit_id=audit.id))
    try:
        if step == "publish":
            recheck = workflow.publish(audit, current_user)
            done = _("Published: the franchisee can see the audit and answer its findings.")
            if recheck is not None:
                done += " " + _("The score is below the re-check mark: a re-check visit (%(ref)s) is planned by %(due)s.",
                                ref=recheck.reference, due=date_text(recheck.due_on))
        else:
            run(audit)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("audits.show", store_audit_id=audit.id))
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this audit meanwhile; here is what it is now."), "warning")
        return redirect(url_for("audits.show", store_audit_id=store_audit_id))
    flash(str(done), "success")
    if step == "start":
        return redirect(url_for("audits.conduct", store_audit_id=audit.id))
    return redirect(url_for("audits.show", store_audit_id=audit.id))


@bp.route("/<int:store_audit_id>/reassign", methods=["POST"])
@access("audits.plan")
def reassign(store_audit_id: int):
    audit = load_audit(store_audit_id)
    form = forms.ReassignForm(auditors=_auditors())
    if form.validate_on_submit():
        # A refusal keeps the panel open with what was typed, the reason under the field
        # (trial 11: the page reloaded with the stored date and auditor).
        if form.version.data != audit.version:
            form.due_on.errors.append(_("Someone else changed this audit meanwhile: it is now due %(due)s, "
                                        "auditor %(auditor)s. Save again to set yours.",
                                        due=date_text(audit.due_on),
                                        auditor=audit.auditor.display_name if audit.auditor else "—"))
            form.version.data, form.version.raw_data = audit.version, [str(audit.version)]  # Save again saves (trial 12)
            return _render_show(audit, 409, reassign=form)
        with unscoped():
            auditor = db.session.get(User, form.auditor_id.data) if form.auditor_id.data else None
        try:
            workflow.reassign(audit, auditor, form.due_on.data)
        except RuleError as error:
            db.session.rollback()
            form.due_on.errors.append(str(error))
            return _render_show(load_audit(store_audit_id), 422, reassign=form)
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect(url_for("audits.show", store_audit_id=audit.id))
    return _render_show(audit, 422, reassign=form)
