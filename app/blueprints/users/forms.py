from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Optional, Regexp

from app.blueprints.auth.forms import NewPasswordMixin
from app.extensions import db
from app.forms import EmailAddress, OnceForm, Unique, VersionedForm, choices, safe_text
from app.models import Franchisee, Region, Store, User
from app.models.user import DEPARTMENTS, FRANCHISE_ROLES, ROLES, STORE_ROLES

USERNAME = Regexp(r"^[A-Za-z0-9._-]{3,40}$", message=_l("3-40 letters, digits, '.', '-' or '_'."))


def _user_by(column):
    return lambda value: db.session.scalar(select(User).where(func.lower(column) == (value or "").strip().lower()))


class UserForm(VersionedForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), USERNAME, Unique(_user_by(User.username), _l("This username is taken."))],
    )
    display_name = StringField(_l("Full name"), validators=[DataRequired(), safe_text(60)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            Optional(),
            EmailAddress(),
            safe_text(254),
            Unique(_user_by(User.email), _l("Another user has this e-mail address.")),
        ],
    )
    role = SelectField(_l("Role"), choices=choices(ROLES.items()))
    franchisee_id = SelectField(_l("Franchisee"), coerce=int, validate_choice=False)
    store_ids = SelectMultipleField(_l("Stores"), coerce=int, validate_choice=False)
    region_ids = SelectMultipleField(_l("Regions"), coerce=int, validate_choice=False)
    department = SelectField(_l("Department"), choices=choices([("", "—"), *DEPARTMENTS.items()]))
    locale = SelectField(_l("Language"), choices=choices([("zh_Hans", "中文"), ("en", "English")]))

    def __init__(self, *args, obj=None, **kwargs):
        if obj is not None:  # posted values, where there are any, take precedence
            kwargs.setdefault("franchisee_id", obj.franchisee_id or 0)
            kwargs.setdefault("store_ids", [s.id for s in obj.stores])
            kwargs.setdefault("region_ids", [r.id for r in obj.regions])
        super().__init__(*args, obj=obj, **kwargs)
        self._franchisees = {f.id: f for f in db.session.scalars(select(Franchisee).order_by(Franchisee.name))}
        self._stores = {s.id: s for s in db.session.scalars(select(Store).order_by(Store.code))}
        self._regions = {r.id: r for r in db.session.scalars(select(Region).order_by(Region.code))}
        self.franchisee_id.choices = choices([(0, "—")] + [(f.id, f.name) for f in self._franchisees.values()])
        self.store_ids.choices = choices((s.id, f"{s.code} {s.name}") for s in self._stores.values())
        self.region_ids.choices = choices((r.id, r.name) for r in self._regions.values())

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        role = self.role.data
        ok = True
        # Posted ids are checked against what this form offered (already scoped).
        if self.franchisee_id.data and self.franchisee_id.data not in self._franchisees:
            self.franchisee_id.errors.append(_l("Not a valid choice."))
            ok = False
        for field, offered in ((self.store_ids, self._stores), (self.region_ids, self._regions)):
            if any(i not in offered for i in field.data):
                field.errors.append(_l("Not a valid choice."))
                ok = False
        if role in FRANCHISE_ROLES and not self.franchisee_id.data:
            self.franchisee_id.errors.append(_l("Choose the franchisee this user works for."))
            ok = False
        if role in STORE_ROLES:
            if not self.store_ids.data:
                self.store_ids.errors.append(_l("Choose at least one store."))
                ok = False
            elif any(self._stores[i].franchisee_id != self.franchisee_id.data for i in self.store_ids.data if i in self._stores):
                self.store_ids.errors.append(_l("Every store must belong to the chosen franchisee."))
                ok = False
        if role == "hq_supervisor" and not self.region_ids.data:
            self.region_ids.errors.append(_l("Choose at least one region."))
            ok = False
        if role == "hq_department" and not self.department.data:
            self.department.errors.append(_l("Choose the department."))
            ok = False
        return ok

    def profile_data(self) -> dict:
        return {
            "username": self.username.data,
            "display_name": self.display_name.data.strip(),
            "email": self.email.data,
            "role": self.role.data,
            "franchisee": self._franchisees.get(self.franchisee_id.data),
            "stores": [self._stores[i] for i in self.store_ids.data],
            "regions": [self._regions[i] for i in self.region_ids.data],
            "department": self.department.data or None,
            "locale": self.locale.data,
        }


class NewUserForm(OnceForm, NewPasswordMixin, UserForm):
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), safe_text(128)])

    def validate_password(self, field):
        self.check_strength(field.data, self.username.data)


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    password = PasswordField(_l("Temporary password"), validators=[DataRequired(), safe_text(128)])

    def __init__(self, *args, username=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._username = username

    def validate_password(self, field):
        self.check_strength(field.data, self._username)


def role_filter_choices():
    return [("", _l("All roles")), *ROLES.items()]

