"""Survey invitations by e-mail (R44; R46, the Amazon case's post-purchase e-mail), when the
portal has a mail server (MAIL_SERVER). Without one the stores send the links themselves (SMS
text to copy, the QR code) as before.

An invitation to a customer with an e-mail address becomes a delivery of the notification queue
(``services/notifications.deliver_due`` sends it off the request path, retrying failures). Its
text holds a placeholder for the personal link, filled in only when the mail goes out: the link
answers the survey in the customer's name, so it is neither stored nor shown on the outbox page.
Sending marks the invitation sent."""
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import exists, select

from app.extensions import db
from app.i18n import force_locale
from app.models import Customer, Store
from app.models.base import utcnow
from app.models.notification import LINK_PLACEHOLDER, Delivery
from app.models.survey import SurveyInvitation
from app.services.surveys.public import token_for


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def queue(project_id: int, customer_ids) -> int:
    """Queue the e-mail of this project's unsent invitations to these customers (those with an
    address); returns how many. Nothing without a mail server."""
    if not enabled() or not customer_ids:
        return 0
    ids = list(customer_ids)
    made = 0
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # what the customer reads
        for start in range(0, len(ids), 1000):
            rows = db.session.execute(
                select(SurveyInvitation.id, Customer.email, Customer.name, Store.name.label("store"))
                .join(Customer, Customer.id == SurveyInvitation.customer_id)
                .join(Store, Store.id == SurveyInvitation.store_id)
                .where(SurveyInvitation.project_id == project_id, SurveyInvitation.customer_id.in_(ids[start:start + 1000]),
                       SurveyInvitation.sent_at.is_(None), SurveyInvitation.responded_at.is_(None),
                       Customer.email.is_not(None), Customer.consent.is_(True),
                       ~exists().where(Delivery.survey_invitation_id == SurveyInvitation.id))
                .execution_options(owner_hint=False)).all()
            for row in rows:
                db.session.add(Delivery(
                    channel="email", target=row.email, survey_invitation_id=row.id,
                    subject=_("%(store)s: how are we doing? A two-minute survey", store=row.store)[:200],
                    text=_("Dear %(name)s,\n\nThank you for shopping at %(store)s. Please tell us how we are doing in "
                           "a two-minute survey (the link works once):\n%(link)s\n\nThank you!\n%(store)s",
                           name=row.name or "", store=row.store, link=LINK_PLACEHOLDER)))
                made += 1
    return made


def text_with_link(delivery: Delivery) -> str:
    """The mail's text with the personal link in place of the placeholder (at sending time)."""
    invitation = db.session.get(SurveyInvitation, delivery.survey_invitation_id)
    if invitation is None or invitation.customer_id is None:
        raise RuntimeError("the invitation no longer exists")
    token = token_for(current_app.config["SECRET_KEY"], invitation.project_id, invitation.customer_id)
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    with current_app.test_request_context(base_url=base or None):
        link = url_for("survey_public.invitation", token=token, _external=True)
    return delivery.text.replace(LINK_PLACEHOLDER, link)


def mark_sent(delivery: Delivery) -> None:
    invitation = db.session.get(SurveyInvitation, delivery.survey_invitation_id)
    if invitation is not None and invitation.sent_at is None:
        invitation.sent_at = utcnow()
