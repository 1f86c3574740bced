from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

from app.blueprints.audit import views  # noqa: E402,F401
