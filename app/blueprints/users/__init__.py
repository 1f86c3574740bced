from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/admin/users")

from app.blueprints.users import views  # noqa: E402,F401
