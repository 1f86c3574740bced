from flask import Blueprint

bp = Blueprint("logistics", __name__, url_prefix="/logistics")

from app.blueprints.logistics import views  # noqa: E402,F401
