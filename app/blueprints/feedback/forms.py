"""The public complaint form: what a customer can fill in on a phone in a minute."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from app.blueprints.customers.forms import _normalised
from app.forms import choices, safe_text
from app.models.complaint import KINDS
from app.services import customer_fields as fields


class PublicComplaintForm(FlaskForm):
    kind = SelectField(_l("I would like to"), default="complaint",
                       choices=choices((("complaint", _l("Make a complaint")), ("suggestion", _l("Make a suggestion")),
                                        ("praise", _l("Praise the store")))))
    category_id = SelectField(_l("What is it about?"), coerce=int, validators=[Optional()])
    description = TextAreaField(_l("What happened"), validators=[DataRequired(), safe_text(2000)],
                                description=_l("When and where, what you bought, what went wrong, what you would like us to do."))
    contact_name = StringField(_l("Your name"), validators=[DataRequired(), _normalised(fields.clean_name)])
    contact_phone = StringField(_l("Mobile or phone"), validators=[_normalised(fields.normalise_phone)])
    contact_email = StringField(_l("E-mail"), validators=[_normalised(fields.normalise_email)],
                                description=_l("A phone number or an e-mail address, so that we can answer you."))
    consent = BooleanField(_l("I agree that the store and its headquarters use these details to handle my feedback and contact me about it."),
                           validators=[DataRequired(message=_l("Please agree to the privacy notice, or call the store instead."))])
    # Left empty by people (it is hidden); robots fill every field.
    website = StringField(_l("Leave this field empty"), validators=[Optional()])

    def __init__(self, *args, categories=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = choices([(0, _l("Not sure"))] + [(c.id, c.label(locale)) for c in categories])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        if valid and not (self.contact_phone.data or self.contact_email.data):
            self.contact_phone.errors.append(_l("Give a phone number or an e-mail address so that we can answer you."))
            return False
        return valid

    def data_for_model(self) -> dict:
        kind = self.kind.data if self.kind.data in KINDS else "complaint"
        text = self.description.data.strip()
        first_line = text.splitlines()[0] if text else ""
        return {
            "kind": kind,
            "category_id": (self.category_id.data or None) if kind == "complaint" else None,
            "severity": "general",
            "contact_name": self.contact_name.data,
            "contact_phone": self.contact_phone.data,
            "contact_email": self.contact_email.data,
            "title": first_line[:40] + ("…" if len(first_line) > 40 else ""),
            "description": text,
        }
