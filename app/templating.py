"""Jinja globals, filters and tests shared by every template."""
from flask import request
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from app.security import policy


def register(app) -> None:
    def can(permission, obj=None):
        return policy.can(current_user, permission, obj)

    app.jinja_env.globals.update(can=can, current_locale=lambda: str(get_locale()))
    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="medium": format_datetime(d, fmt) if d else ""

    @app.context_processor
    def language_switch():
        from app.blueprints.auth.forms import LanguageForm

        form = LanguageForm(lang=str(get_locale()), next=request.full_path.rstrip("?"))
        return {"language_form": form}
