from flask import Blueprint

bp = Blueprint("org", __name__)

from app.blueprints.org import views_franchisees, views_regions, views_stores  # noqa: E402,F401
