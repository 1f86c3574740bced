from flask import Blueprint

# The store's public complaint page and the customer's progress page: no sign-in.
bp = Blueprint("feedback", __name__, url_prefix="/feedback")

from app.blueprints.feedback import views  # noqa: E402,F401
