from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from app.blueprints.reports import views, views_batches, views_distribution  # noqa: E402,F401
