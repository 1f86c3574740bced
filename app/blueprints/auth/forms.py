from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.forms import choices, safe_text


class LoginForm(FlaskForm):
    login = StringField(_l("Username or e-mail"), validators=[DataRequired(), safe_text(254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), safe_text(128)])
    next = HiddenField()


class NewPasswordMixin:
    @staticmethod
    def check_strength(password: str, username: str | None = None) -> None:
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(password) < minimum:
            raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
        if username and username.lower() in password.lower():
            raise ValidationError(_l("The password must not contain the username."))
        if len(set(password)) < 4:
            raise ValidationError(_l("This password is too easy to guess."))


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), safe_text(128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )

    def __init__(self, *args, username=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._username = username

    def validate_new_password(self, field):
        self.check_strength(field.data, self._username)


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=choices([("zh_Hans", "中文"), ("en", "English")]))
    next = HiddenField()
