"""Invitations (R44): headquarters samples respondents from the customer file by segment; the
stores send each customer their personal link (SMS text to copy, or the QR code shown on the
phone) and see who answered."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import keyset_of
from app.blueprints.customers.views_customers import franchisee_choices, store_choices
from app.blueprints.surveys import bp
from app.blueprints.surveys.forms import InviteForm
from app.extensions import db
from app.forms import EmptyForm, choices
from app.models import Customer, Region
from app.models.base import utcnow
from app.models.customer import GRADES
from app.models.survey import SEGMENTS, SurveyInvitation, SurveyProject
from app.models.training import STORE_SIZES
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError
from app.services import audit as audit_trail
from app.services.complaints import public as complaint_pages
from app.services.surveys import public, sampling

NEWEST = Ordering((SurveyInvitation.id,), descending=True)


def invite_form(formdata=None):
    form = InviteForm(formdata=formdata) if formdata is not None else InviteForm(formdata=None, size=100)
    form.segment.choices = choices(SEGMENTS.items())
    form.region_id.choices = choices([(0, _("All regions"))] + [
        (r.id, r.name) for r in db.session.scalars(select(Region).order_by(Region.code))])
    form.franchisee_id.choices = choices([(0, _("All franchisees"))] + list(franchisee_choices()))
    form.store_size.choices = choices([("", _("All sizes"))] + list(STORE_SIZES.items()))
    form.franchisee_size.choices = choices([("", _("All franchisees"))] + [
        ("single", _("Running one store")), ("small", _("Running 2 to 5 stores")), ("large", _("Running 6 stores or more"))])
    form.grade.choices = choices([("", _("All grades"))] + list(GRADES.items()))
    return form


@bp.route("/projects/<int:survey_project_id>/invite", methods=["POST"])
@access("surveys.design")
def invite(survey_project_id: int):
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    form = invite_form(request.form)
    if not form.validate_on_submit():  # the page again with the form as typed, each problem at its field
        return invitations(survey_project_id, form=form, status=422)
    criteria = sampling.Criteria(segment=form.segment.data, size=form.size.data, region_id=form.region_id.data or None,
                                 franchisee_id=form.franchisee_id.data or None, store_size=form.store_size.data or None,
                                 grade=form.grade.data or None, franchisee_size=form.franchisee_size.data or None)
    try:
        made = sampling.invite(found, criteria, current_user)
    except RuleError:
        db.session.rollback()
        flash(_("This survey is closed: no more invitations."), "danger")
        return redirect(url_for("surveys.invitations", survey_project_id=found.id))
    audit_trail.record("survey_project.invited", actor=current_user, target=found,
                       details={"segment": criteria.segment, "asked": criteria.size, "invited": made})
    db.session.commit()
    if not made and criteria.franchisee_size and not db.session.scalar(
            select(sampling.franchisees_of_size(criteria.franchisee_size).limit(1).subquery().c[0])):
        flash(_("No franchisee runs that many open stores: choose another franchisee size."), "danger")
    elif made < criteria.size:
        flash(_("%(made)d of the %(asked)d customers asked for were invited: no more customers of this segment "
                "agreed to be contacted and have not been invited yet.", made=made, asked=criteria.size),
              "warning" if made else "danger")
    else:
        flash(_("%(made)d customers invited. Their stores send each one the personal link.", made=made), "success")
    return redirect(url_for("surveys.invitations", survey_project_id=found.id))


@bp.route("/projects/<int:survey_project_id>/invitations")
@access("surveys.view")
def invitations(survey_project_id: int, form=None, status=200):
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    stmt = select(SurveyInvitation).where(SurveyInvitation.project_id == found.id).options(
        selectinload(SurveyInvitation.store))
    value = request.args.get("store", "")
    store_id = int(value) if value.isdigit() and len(value) < 10 else None
    if store_id:
        stmt = stmt.where(SurveyInvitation.store_id == store_id)
    state = request.args.get("state")
    if state == "unsent":
        stmt = stmt.where(SurveyInvitation.sent_at.is_(None), SurveyInvitation.responded_at.is_(None))
    elif state == "waiting":
        stmt = stmt.where(SurveyInvitation.sent_at.is_not(None), SurveyInvitation.responded_at.is_(None))
    elif state == "answered":
        stmt = stmt.where(SurveyInvitation.responded_at.is_not(None))
    page = keyset_of(stmt, NEWEST)
    customers = {c.id: c for c in db.session.scalars(select(Customer).where(
        Customer.id.in_([i.customer_id for i in page.items if i.customer_id] or [0])))}
    if form is None and can(current_user, "surveys.design") and found.status != "closed":
        form = invite_form()
    return render_template("surveys/invitations.html", project=found, page=page, customers=customers, form=form,
                           stores=store_choices(), store_id=store_id, state=state, open_form=status != 200,
                           mail_enabled=bool(current_app.config.get("MAIL_SERVER"))), status


@bp.route("/invitations/<int:survey_invitation_id>", methods=["GET", "POST"])
@access("surveys.view")
def invitation(survey_invitation_id: int):
    found = get_scoped_or_404(SurveyInvitation, survey_invitation_id, selectinload(SurveyInvitation.store))
    project = db.session.get(SurveyProject, found.project_id)
    if request.method == "POST":
        if not can(current_user, "surveys.send") or not EmptyForm().validate_on_submit():
            abort(403)
        if found.sent_at is None:
            found.sent_at = utcnow()
            audit_trail.record("survey_invitation.sent", actor=current_user, target=found)
            db.session.commit()
        flash(_("Marked as sent."), "success")
        return redirect(url_for("surveys.invitations", survey_project_id=found.project_id))
    customer = db.session.get(Customer, found.customer_id) if found.customer_id else None
    link = None
    if customer is not None:
        link = url_for("survey_public.invitation", _external=True,
                       token=public.token_for(current_app.config["SECRET_KEY"], found.project_id, found.customer_id))
    sms = None
    if link:
        from app.i18n import force_locale

        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # what the customer reads
            sms = _("[%(store)s] Dear %(name)s, please tell us how we are doing in a two-minute survey: %(link)s "
                    "Thank you!", store=found.store.name, name=customer.name or "", link=link)
    from app.models.notification import Delivery

    mail = db.session.scalar(select(Delivery).where(Delivery.survey_invitation_id == found.id)
                             .order_by(Delivery.id.desc()).limit(1))
    return render_template("surveys/invitation.html", i=found, project=project, customer=customer, link=link, sms=sms,
                           mail=mail,
                           qr=complaint_pages.qr_inline_svg(link) if link else None, empty=EmptyForm())
