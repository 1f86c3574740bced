"""The public survey pages (no sign-in): a store's page (its QR code) and personal invitation
links. Only hashes of the links' tokens are stored; an unknown link, a used one and a store key
that does not exist say nothing about any other survey or customer."""
import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select

from app.extensions import db
from app.models.base import local_today
from app.models.survey import Questionnaire, SurveyInvitation, SurveyProject
from app.security.tenancy import unscoped
from app.services.complaints import public as complaint_pages
from app.services.complaints.public import token_hash  # noqa: F401  (the same hash for every public link)

TOKEN_MAX = 100


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_for(secret_key: str, project_id: int, customer_id: int) -> str:
    """An invitation's link token: derived from the survey and the customer (invited at most once
    per survey) with the portal's secret key, so the link can be shown to staff again to send it
    without being stored; 32 characters, not guessable without the key."""
    digest = hmac.new(secret_key.encode(), f"survey-invitation:{project_id}:{customer_id}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def invitation_for(token: str) -> SurveyInvitation | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    with unscoped():
        return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.token_hash == token_hash(token)))


def open_project(day=None) -> SurveyProject | None:
    """The survey a store's page collects for: the latest one with an index questionnaire
    collecting responses today."""
    day = day or local_today()
    with unscoped():
        return db.session.scalar(
            select(SurveyProject).join(Questionnaire, Questionnaire.id == SurveyProject.questionnaire_id)
            .where(SurveyProject.status == "fieldwork", SurveyProject.starts_on <= day, SurveyProject.ends_on >= day,
                   Questionnaire.kind == "index", Questionnaire.status.in_(("approved", "retired")))
            .order_by(SurveyProject.starts_on.desc(), SurveyProject.id.desc()).limit(1))


SURVEY_FORM = "public-survey-form"


def form_stamp(secret_key: str, page: str) -> str:
    """A signed stamp of when the form was shown, for which page (store key or invitation)."""
    return complaint_pages.form_stamp(secret_key, page, salt=SURVEY_FORM)


def stamp_problem(secret_key: str, stamp: str, page: str, min_seconds: int, max_seconds: int) -> str | None:
    """None when the stamp is ours, for this page, and the form took a person's time; else
    "forged", "fast" or "stale" (the complaint page's rules, with the survey's own salt)."""
    return complaint_pages.stamp_problem(secret_key, stamp, page, min_seconds, max_seconds, salt=SURVEY_FORM)
