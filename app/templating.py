"""Jinja globals, filters and tests shared by every template."""
from flask import request
from flask_babel import format_date, format_datetime, format_number, get_locale
from flask_login import current_user

from app.security import policy


def register(app) -> None:
    def can(permission, obj=None):
        return policy.can(current_user, permission, obj)

    from app.models import customer as customer_model
    from app.services.customer_fields import mask_email, mask_mobile

    labels = {
        name.lower(): getattr(customer_model, name)
        for name in ("GENDERS", "CUSTOMER_TYPES", "SOURCES", "CATEGORIES", "RELATIONSHIPS", "CONSENT_METHODS",
                     "ANONYMISE_REASONS", "CONTACT_METHODS", "CONTACT_PURPOSES", "PURCHASE_CHANNELS")
    }
    app.jinja_env.globals.update(can=can, current_locale=lambda: str(get_locale()), labels=labels)
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.filters["mask_email"] = mask_email
    app.jinja_env.filters["money"] = lambda v: "" if v is None else f"¥{v:,.2f}"
    app.jinja_env.filters["number"] = lambda v: "" if v is None else format_number(v)
    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="medium": format_datetime(d, fmt) if d else ""

    @app.context_processor
    def language_switch():
        from app.blueprints.auth.forms import LanguageForm

        # formdata=None: the page may be answering a request whose body could not be read (413).
        form = LanguageForm(formdata=None, lang=str(get_locale()), next=request.full_path.rstrip("?"))
        return {"language_form": form}
