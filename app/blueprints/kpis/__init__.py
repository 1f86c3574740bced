from flask import Blueprint

bp = Blueprint("kpis", __name__, url_prefix="/kpis")

from app.blueprints.kpis import views, views_dashboard, views_evaluation  # noqa: E402,F401
from app.services import kpis as _kpis  # noqa: E402,F401  (registers the warning's wording)
