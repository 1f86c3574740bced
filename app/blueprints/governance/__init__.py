from flask import Blueprint

bp = Blueprint("governance", __name__, url_prefix="/governance")
# The privacy policy's public page (no sign-in): /privacy.
public_bp = Blueprint("privacy", __name__)

from app.blueprints.governance import views_announcements, views_manuals, views_privacy  # noqa: E402,F401
