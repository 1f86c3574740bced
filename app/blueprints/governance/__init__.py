from flask import Blueprint

bp = Blueprint("governance", __name__, url_prefix="/governance")
# The privacy policy's public page (no sign-in): /privacy.
public_bp = Blueprint("privacy", __name__)

from app.blueprints.governance import (  # noqa: E402,F401
    views_announcements, views_approvals, views_channels, views_feedback, views_manuals, views_privacy,
    views_projects,
)
