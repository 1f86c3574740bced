from flask import Blueprint

bp = Blueprint("loyalty", __name__, url_prefix="/loyalty")

from app.blueprints.loyalty import views, views_catalogue, views_events, views_offers, views_relations  # noqa: E402,F401
