"""Headquarters' redemption catalogue and what each membership tier gives its members."""
from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.common import commit_or_explain, create_once, save_versioned
from app.blueprints.loyalty import bp
from app.blueprints.loyalty import forms
from app.models import MembershipTier, Reward
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import customer_analytics as analytics
from app.services.loyalty import catalogue, redemption


def _locale() -> str:
    return str(get_locale())


@bp.route("/rewards")
@access("loyalty.view")
def rewards():
    """The catalogue: each reward's price, stock and how often it was redeemed in the user's stores."""
    return render_template("loyalty/rewards.html", rewards=redemption.catalogue(include_inactive=True),
                           results=catalogue.results(), tiers={t.rank: t for t in analytics.tiers()},
                           locale=_locale())


def _reward_form_page(form, reward, restock=None, status=200):
    return render_template("loyalty/reward_form.html", form=form, reward=reward,
                           restock=restock or (forms.RestockForm(formdata=None) if reward else None)), status


@bp.route("/rewards/new", methods=["GET", "POST"])
@access("loyalty.catalogue")
def new_reward():
    """Add a gift, coupon or service to the catalogue."""
    form = forms.NewRewardForm(version=1, tiers=analytics.tiers(), locale=_locale())
    if form.validate_on_submit() and (done := create_once(
            form, lambda: catalogue.create_reward(form.data, form.stock.data, current_user),
            lambda r: url_for("loyalty.rewards"), _("Reward added to the catalogue."))):
        return done
    return _reward_form_page(form, None, status=422 if form.is_submitted() else 200)


@bp.route("/rewards/<int:reward_id>", methods=["GET", "POST"])
@access("loyalty.catalogue")
def edit_reward(reward_id: int):
    """Change a reward's name, price or who may redeem it, or take it out of the catalogue."""
    reward = get_scoped_or_404(Reward, reward_id)
    form = forms.RewardForm(obj=reward, tiers=analytics.tiers(), locale=_locale())
    if not form.is_submitted():
        form.min_tier_rank.data = reward.min_tier_rank or 0
    if form.validate_on_submit() and save_versioned(form, reward, lambda: catalogue.update_reward(
            reward, form.data, current_user)):
        flash(_("Changes saved."), "success")
        return redirect(url_for("loyalty.rewards"))
    return _reward_form_page(form, reward, status=422 if form.is_submitted() else 200)


@bp.route("/rewards/<int:reward_id>/stock", methods=["POST"])
@access("loyalty.catalogue")
def restock(reward_id: int):
    """Add to a reward's stock or write some off (never set it: counters take from it meanwhile)."""
    reward = get_scoped_or_404(Reward, reward_id)
    form = forms.RestockForm()
    if form.validate_on_submit() and commit_or_explain(
            lambda: catalogue.restock(reward, form.change.data or 0, form.uncounted.data, current_user),
            _("Stock updated.")):
        return redirect(url_for("loyalty.edit_reward", reward_id=reward.id))
    edit = forms.RewardForm(obj=reward, tiers=analytics.tiers(), locale=_locale())
    edit.min_tier_rank.data = reward.min_tier_rank or 0
    return _reward_form_page(edit, reward, restock=form, status=422)


@bp.route("/tiers")
@access("loyalty.view")
def tiers():
    """The membership tiers side by side: how each is reached and what its members get."""
    tier_list = analytics.tiers()
    return render_template("loyalty/tiers.html", tiers=tier_list, locale=_locale(),
                           privileges={t.id: catalogue.privileges_of(t, _locale()) for t in tier_list})


@bp.route("/tiers/<int:membership_tier_id>", methods=["GET", "POST"])
@access("loyalty.catalogue")
def edit_privileges(membership_tier_id: int):
    """Set what members of a tier get: discount, points, delivery, service, birthday gift."""
    tier = get_scoped_or_404(MembershipTier, membership_tier_id)
    form = forms.PrivilegesForm(obj=tier)
    if form.validate_on_submit() and save_versioned(form, tier, lambda: catalogue.save_privileges(
            tier, form.data, current_user)):
        flash(_("Privileges saved."), "success")
        return redirect(url_for("loyalty.tiers"))
    return render_template("loyalty/privileges_form.html", form=form, tier=tier, locale=_locale()), \
        422 if form.is_submitted() else 200
