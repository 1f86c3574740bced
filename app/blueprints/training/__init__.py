from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training")

from app.blueprints.training import views_appraisals, views_courses, views_plans, views_sessions, views_staff  # noqa: E402,F401
from app.services.training import alerts  # noqa: E402,F401  (its notification wording)
