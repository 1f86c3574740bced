from flask import Blueprint

bp = Blueprint("complaints", __name__, url_prefix="/complaints")

from app.blueprints.complaints import views, views_attachments, views_public, views_settings, views_stats, views_tasks  # noqa: E402,F401
