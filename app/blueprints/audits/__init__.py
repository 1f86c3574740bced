from flask import Blueprint

bp = Blueprint("audits", __name__, url_prefix="/audits")

from app.blueprints.audits import views, views_actions, views_conduct, views_standards, views_stats  # noqa: E402,F401
