from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")

from app.blueprints.customers import (  # noqa: E402,F401
    views_care, views_cleaning, views_customers, views_file, views_history, views_rules, views_transfer,
)
