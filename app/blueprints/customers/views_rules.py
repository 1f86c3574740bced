"""Headquarters' customer rules: grading, tiers, churn thresholds, care and retention."""
from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select, update

from app.blueprints.common import commit_or_explain, create_once, save_versioned
from app.blueprints.customers import bp
from app.blueprints.customers.forms_rules import HolidayForm, NewTierForm, RulesForm, TierForm
from app.extensions import db
from app.forms import EmptyForm
from app.models import CareHoliday, Customer, MembershipTier
from app.models.base import local_today
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError, audit, customers, network_jobs
from app.services import customer_analytics as analytics

MIN_TIERS, MAX_TIERS = 3, 5


def _rules_page(form, tier_form=None, holiday_form=None, status=200):
    return render_template(
        "customers/rules.html",
        form=form,
        tiers=analytics.tiers(),
        tier_form=tier_form or NewTierForm(formdata=None, version=1, others=analytics.tiers()),
        holiday_form=holiday_form or HolidayForm(formdata=None),
        holidays=db.session.scalars(select(CareHoliday).where(CareHoliday.on >= local_today()).order_by(CareHoliday.on)).all(),
        post_form=EmptyForm(),
        rules=analytics.get_rules(),
        locale=str(get_locale()),
        min_tiers=MIN_TIERS,
        max_tiers=MAX_TIERS,
    ), status


# Rules that decide no customer's figures: changing only these re-grades nobody.
NOT_GRADING = {"retention_years", "import_retention_days", "points_per_yuan", "points_valid_months", "points_notice_days"}


def _save_and_regrade(form, obj, action: str):
    """The change for save_versioned: apply the form, audit the diff, ask for every customer to
    be re-graded (by a background job, ``_regrade_started`` after the commit)."""
    def change():
        form.populate_obj(obj)
        changed = audit.changes(obj)
        if changed:
            audit.record(action, actor=current_user, target=obj, details=changed)
            if set(changed) - NOT_GRADING:
                network_jobs.request_regrade()
    return change


def _regrade_started(message: str):
    flash(message, "success")
    _start_pending_regrade()


def _start_pending_regrade():
    if analytics.get_rules().regrade_pending:
        network_jobs.start_regrade()


@bp.route("/rules", methods=["GET", "POST"])
@access("customers.rules")
def rules():
    """The thresholds every store's customer figures are computed with."""
    current = analytics.get_rules()
    form = RulesForm(obj=current)
    if form.validate_on_submit() and save_versioned(form, current, _save_and_regrade(form, current, "customer_rules.updated")):
        _regrade_started(_("Rules saved. Every customer's category, grade, tier and churn warnings are being "
                           "recomputed in the background; this page says when it is done."))
        return redirect(url_for("customers.rules"))
    return _rules_page(form)


@bp.route("/rules/tiers", methods=["POST"])
@access("customers.rules")
def new_tier():
    """Add a membership tier (at most five)."""
    form = NewTierForm(others=analytics.tiers())
    if form.validate_on_submit():
        if form.receipt is None and len(analytics.tiers()) >= MAX_TIERS:
            flash(_("There can be at most %(n)d tiers.", n=MAX_TIERS), "danger")
        else:
            def create():
                tier = MembershipTier(**{k: getattr(form, k).data for k in
                                         ("rank", "name_zh", "name_en", "min_spend", "min_orders", "min_points",
                                          "active_within_days")})
                db.session.add(tier)
                db.session.flush()
                audit.record("membership_tier.created", actor=current_user, target=tier)
                network_jobs.request_regrade()
                return tier

            if done := create_once(form, create, lambda tier: url_for("customers.rules"),
                                   _("Tier added. Every customer's tier is being recomputed in the background.")):
                if form.receipt is None:
                    _start_pending_regrade()
                return done
    return _rules_page(RulesForm(obj=analytics.get_rules()), tier_form=form, status=400)


@bp.route("/rules/tiers/<int:membership_tier_id>", methods=["GET", "POST"])
@access("customers.rules")
def edit_tier(membership_tier_id: int):
    """Change a tier's name or how it is reached."""
    tier = get_scoped_or_404(MembershipTier, membership_tier_id)
    form = TierForm(obj=tier, others=analytics.tiers())
    if form.validate_on_submit() and save_versioned(form, tier, _save_and_regrade(form, tier, "membership_tier.updated")):
        _regrade_started(_("Tier saved. Every customer's tier is being recomputed in the background."))
        return redirect(url_for("customers.rules"))
    return render_template("customers/tier_form.html", form=form, tier=tier)


@bp.route("/rules/tiers/<int:membership_tier_id>/delete", methods=["POST"])
@access("customers.rules")
def delete_tier(membership_tier_id: int):
    """Remove a tier (at least three stay); its members move to the tier they now reach."""
    tier = get_scoped_or_404(MembershipTier, membership_tier_id)
    if EmptyForm().validate_on_submit():
        def remove():
            if db.session.scalar(select(func.count(MembershipTier.id))) <= MIN_TIERS:
                raise RuleError(_("There must be at least %(n)d tiers.", n=MIN_TIERS))
            db.session.execute(update(Customer).where(Customer.tier_id == tier.id).values(tier_id=None)
                               .execution_options(synchronize_session=False))
            audit.record("membership_tier.deleted", actor=current_user, target=tier)
            db.session.delete(tier)
            network_jobs.request_regrade()

        if commit_or_explain(remove, _("Tier removed. Its members' tiers are being recomputed in the background.")):
            network_jobs.start_regrade()
    return redirect(url_for("customers.rules"))


@bp.route("/rules/holidays", methods=["POST"])
@access("customers.rules")
def new_holiday():
    """Add a holiday on which stores greet their important customers."""
    form = HolidayForm()
    if form.validate_on_submit():
        def create():
            holiday = CareHoliday(on=form.on.data, name_zh=form.name_zh.data.strip(), name_en=form.name_en.data.strip())
            db.session.add(holiday)
            db.session.flush()
            audit.record("care_holiday.created", actor=current_user, target=holiday)
            return holiday

        if done := create_once(form, create, lambda holiday: url_for("customers.rules"), _("Holiday added.")):
            return done
    return _rules_page(RulesForm(obj=analytics.get_rules()), holiday_form=form, status=400)


@bp.route("/rules/holidays/<int:care_holiday_id>/delete", methods=["POST"])
@access("customers.rules")
def delete_holiday(care_holiday_id: int):
    """Remove a holiday nobody has been greeted for yet."""
    holiday = get_scoped_or_404(CareHoliday, care_holiday_id)
    if EmptyForm().validate_on_submit():
        def remove():
            from app.models import Contact

            if db.session.scalar(select(Contact.id).where(Contact.holiday_id == holiday.id).limit(1)):
                raise RuleError(_("Greetings were already logged for this holiday, so it stays."))
            audit.record("care_holiday.deleted", actor=current_user, target=holiday)
            db.session.delete(holiday)

        commit_or_explain(remove, _("Holiday removed."))
    return redirect(url_for("customers.rules"))


@bp.route("/rules/retention", methods=["POST"])
@access("customers.rules")
def run_retention():
    """Anonymise now every customer with no activity for the retention period."""
    if EmptyForm().validate_on_submit():
        holder = {}
        commit_or_explain(lambda: holder.update(n=customers.anonymise_inactive(local_today(), current_user)),
                          _("Retention check done."))
        flash(_("%(n)d inactive customers were anonymised.", n=holder.get("n", 0)), "info")
    return redirect(url_for("customers.rules"))
