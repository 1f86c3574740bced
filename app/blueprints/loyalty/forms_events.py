"""Forms of member events and clubs."""
from datetime import timezone

from flask_babel import to_user_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional
from wtforms.widgets import HiddenInput

from app.forms import InRange, MultiCheckboxField, OnceForm, VersionedForm, choices, safe_text
from app.models.event import EVENT_ACTIVITIES, EVENT_KINDS


class EventForm(VersionedForm):
    title = StringField(_l("Title"), validators=[DataRequired(), safe_text(100)])
    kind = SelectField(_l("Kind"), choices=choices(EVENT_KINDS.items()))
    theme = StringField(_l("Theme (holiday, new range ...)"), validators=[Optional(), safe_text(100)])
    activities = MultiCheckboxField(_l("Activities"), choices=choices(EVENT_ACTIVITIES.items()))
    starts_at = DateTimeLocalField(_l("Starts"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                   validators=[InputRequired(message=_l("Enter a valid date and time."))])
    store_id = SelectField(_l("Store"), coerce=int)
    place = StringField(_l("Place (if not in the store)"), validators=[Optional(), safe_text(100)])
    club_id = SelectField(_l("For the club"), coerce=int)
    description = TextAreaField(_l("Programme"), validators=[Optional(), safe_text(2000)])

    def __init__(self, *args, stores=(), clubs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices([(0, _l("No store (elsewhere)"))] + [(s.id, f"{s.code} {s.name}") for s in stores])
        self.club_id.choices = choices([(0, _l("No club"))] + [(c.id, c.name) for c in clubs])

    def show_record(self, obj) -> None:
        self.activities.data = (obj.activities or "").split(",") if obj.activities else []
        self.store_id.data, self.club_id.data = obj.store_id or 0, obj.club_id or 0
        self.starts_at.data = to_user_timezone(obj.starts_at.replace(tzinfo=timezone.utc)).replace(tzinfo=None)


class NewEventForm(OnceForm, EventForm):
    pass


class InviteForm(FlaskForm):
    confirm = BooleanField(_l("I have checked the customers chosen"), validators=[
        DataRequired(message=_l("Tick the box to confirm."))])


class WalkInForm(FlaskForm):
    code = StringField(_l("Customer code"), validators=[DataRequired(), safe_text(30)])


class FeedbackForm(FlaskForm):
    rating = IntegerField(_l("Rating (1-5)"), validators=[
        Optional(), InRange(min=1, max=5, message=_l("Enter a number from %(min)s to %(max)s.", min=1, max=5))])
    feedback = StringField(_l("What they said"), validators=[Optional(), safe_text(500)])


class EventReviewForm(FlaskForm):
    review = TextAreaField(_l("How it went: what worked, what to improve"), validators=[DataRequired(), safe_text(4000)])
    # The event's version when the page was opened: a colleague's review saved since is not overwritten.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ClubForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(), safe_text(60)])
    description = TextAreaField(_l("Description"), validators=[Optional(), safe_text(300)])
    store_id = SelectField(_l("Store"), coerce=int)
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices([(0, _l("All stores"))] + [(s.id, f"{s.code} {s.name}") for s in stores])


class NewClubForm(OnceForm, ClubForm):
    pass
