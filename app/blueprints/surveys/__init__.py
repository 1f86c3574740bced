from flask import Blueprint

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
public_bp = Blueprint("survey_public", __name__, url_prefix="/survey")

from app.blueprints.surveys import (  # noqa: E402,F401
    views, views_invitations, views_public, views_questionnaires, views_responses,
)
