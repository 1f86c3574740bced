"""The privacy policy (R61): its public page, and headquarters' versions."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.common import commit_or_explain, save_versioned
from app.blueprints.governance import bp, public_bp
from app.blueprints.governance.forms import PolicyForm
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models.governance import PrivacyPolicy
from app.security.access import PUBLIC, access
from app.services import RuleError
from app.services.governance import documents, privacy


@public_bp.route("/privacy")
@access(PUBLIC)
def policy():
    """The policy in force (``?v=N``: an earlier published version, which a consent may name)."""
    number = request.args.get("v", type=int)
    stmt = select(PrivacyPolicy).where(PrivacyPolicy.status.in_(("published", "superseded")))
    shown = db.session.scalar(stmt.where(PrivacyPolicy.number == number)) if number else privacy.in_force()
    if number and shown is None:
        abort(404)
    versions = db.session.scalars(stmt.order_by(PrivacyPolicy.number.desc())).all()
    return render_template("governance/privacy_public.html", policy=shown, versions=versions,
                           blocks=documents.blocks(shown.body(current_locale())) if shown else [])


@bp.route("/privacy")
@access("governance.privacy_view")
def privacy_versions():
    versions = db.session.scalars(select(PrivacyPolicy).order_by(PrivacyPolicy.number.desc())).all()
    return render_template("governance/privacy_versions.html", versions=versions, draft=privacy.draft())


@bp.route("/privacy/draft", methods=["POST"])
@access("governance.privacy")
def privacy_new_draft():
    if EmptyForm().validate_on_submit():
        try:
            policy = privacy.new_draft(current_user)
        except RuleError as error:
            db.session.rollback()
            flash(str(error), "warning")
            draft = privacy.draft()
            return redirect(url_for("governance.privacy_edit", privacy_policy_id=draft.id) if draft
                            else url_for("governance.privacy_versions"))
        db.session.commit()
        flash(_("New draft started from the version in force."), "success")
        return redirect(url_for("governance.privacy_edit", privacy_policy_id=policy.id))
    return redirect(url_for("governance.privacy_versions"))


@bp.route("/privacy/<int:privacy_policy_id>", methods=["GET", "POST"])
@access("governance.privacy_view")
def privacy_edit(privacy_policy_id: int):
    """A version: read it; a draft is edited here by headquarters' administrator."""
    policy = db.get_or_404(PrivacyPolicy, privacy_policy_id)
    form = None
    if policy.status == "draft" and current_user.role == "hq_admin":
        form = PolicyForm(obj=policy)
        if form.validate_on_submit() and save_versioned(form, policy, lambda: privacy.edit(policy, form.data)):
            flash(_("Draft saved."), "success")
            return redirect(url_for("governance.privacy_edit", privacy_policy_id=policy.id))
    elif request.method == "POST":
        if current_user.role != "hq_admin":
            abort(403)
        flash(_("A version in force (or retired) is never changed: start a new version instead."), "danger")
        return redirect(url_for("governance.privacy_edit", privacy_policy_id=policy.id))
    return render_template("governance/privacy_version.html", policy=policy, form=form,
                           blocks_zh=documents.blocks(policy.body_zh), blocks_en=documents.blocks(policy.body_en)), \
        422 if form and form.errors else 200


@bp.route("/privacy/<int:privacy_policy_id>/publish", methods=["POST"])
@access("governance.privacy")
def privacy_publish(privacy_policy_id: int):
    policy = db.get_or_404(PrivacyPolicy, privacy_policy_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: privacy.publish(policy, current_user), _(
            "Version %(number)d of the privacy policy is in force; consents recorded from now on name it.",
            number=policy.number))
    return redirect(url_for("governance.privacy_versions"))
