"""Headquarters' complaint settings: categories, channels, deadline rules, holiday calendar."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.blueprints.complaints import bp, forms
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models import (
    CalendarDay, ComplaintCategory, ComplaintChannel, ComplaintThreshold, DeadlineRule, EscalationLevel,
)
from app.models.base import local_today
from app.security.access import access
from app.services import audit
from app.services.complaints import settings


def _page(**posted):
    locale = current_locale()
    categories = db.session.scalars(select(ComplaintCategory).order_by(ComplaintCategory.position,
                                                                       ComplaintCategory.id)).all()
    active = [c for c in categories if c.active]
    return render_template(
        "complaints/settings.html",
        categories=categories,
        channels=db.session.scalars(select(ComplaintChannel).order_by(ComplaintChannel.position,
                                                                      ComplaintChannel.id)).all(),
        rules=db.session.scalars(select(DeadlineRule).order_by(DeadlineRule.severity, DeadlineRule.category_id)).all(),
        # From last year on: the days the form accepts, so every one listed can be removed.
        days=db.session.scalars(select(CalendarDay).where(CalendarDay.on >= local_today().replace(
            year=local_today().year - 1, month=1, day=1)).order_by(CalendarDay.on)).all(),
        category_form=posted.get("category_form") or forms.CategoryForm(formdata=None),
        channel_form=posted.get("channel_form") or forms.ChannelForm(formdata=None),
        rule_form=posted.get("rule_form") or forms.DeadlineRuleForm(formdata=None, categories=active, locale=locale),
        day_form=posted.get("day_form") or forms.CalendarDayForm(formdata=None),
        levels=db.session.scalars(select(EscalationLevel).order_by(EscalationLevel.stage.desc(),
                                                                   EscalationLevel.level)).all(),
        level_error=posted.get("level_error"),
        thresholds=db.session.scalars(select(ComplaintThreshold).order_by(ComplaintThreshold.months,
                                                                          ComplaintThreshold.count)).all(),
        threshold_form=posted.get("threshold_form") or forms.ThresholdForm(formdata=None),
        locale=locale,
    ), 422 if posted else 200


def _saved(message: str, what: str):
    try:
        audit.record("complaint_settings.updated", actor=current_user, details={"changed": what})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        flash(_("Not saved: that code or date is already in use."), "danger")
        return redirect(url_for("complaints.settings_page"))
    flash(message, "success")
    return redirect(url_for("complaints.settings_page"))


@bp.route("/settings")
@access("complaints.settings")
def settings_page():
    """Categories, channels, deadlines and the holiday calendar of complaint handling."""
    if settings.install_defaults():
        db.session.commit()
    return _page()


# Categories and channels are both HQ's option lists: the same add and edit, their own fields.
OPTIONS = {
    "category": (ComplaintCategory, forms.CategoryForm, "category_form", ("remedy_kind",)),
    "channel": (ComplaintChannel, forms.ChannelForm, "channel_form", ("asks_link",)),
}
OPTION_FIELDS = ("name_zh", "name_en", "active")


def _option_values(form, extra) -> dict:
    values = {key: getattr(form, key).data for key in OPTION_FIELDS + extra}
    values["name_zh"], values["name_en"] = values["name_zh"].strip(), values["name_en"].strip()
    values["position"] = form.position.data or 0
    return values


def _add_option(kind: str, message: str):
    model, form_class, slot, extra = OPTIONS[kind]
    form = form_class()
    if not form.validate_on_submit():
        return _page(**{slot: form})
    db.session.add(model(code=form.code.data, **_option_values(form, extra)))
    return _saved(message, kind)


def _edit_option(kind: str, ident: int, message: str, title: str):
    model, form_class, _slot, extra = OPTIONS[kind]
    option = db.session.scalar(select(model).where(model.id == ident))
    if option is None:
        return redirect(url_for("complaints.settings_page"))
    form = form_class(option=option)
    form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        for key, value in _option_values(form, extra).items():
            setattr(option, key, value)
        return _saved(message, kind)
    return render_template("complaints/option_form.html", form=form, title=title)


@bp.route("/settings/categories", methods=["POST"])
@access("complaints.settings")
def add_category():
    """Add a complaint category."""
    return _add_option("category", _("Category added."))


@bp.route("/settings/categories/<int:complaint_category_id>", methods=["GET", "POST"])
@access("complaints.settings")
def edit_category(complaint_category_id: int):
    """Rename a category, change its remedies, or retire it (its complaints keep it)."""
    return _edit_option("category", complaint_category_id, _("Category saved."), _("Complaint category"))


@bp.route("/settings/channels", methods=["POST"])
@access("complaints.settings")
def add_channel():
    """Add a channel complaints arrive through."""
    return _add_option("channel", _("Channel added."))


@bp.route("/settings/channels/<int:complaint_channel_id>", methods=["GET", "POST"])
@access("complaints.settings")
def edit_channel(complaint_channel_id: int):
    """Rename a channel or retire it."""
    return _edit_option("channel", complaint_channel_id, _("Channel saved."), _("Complaint channel"))


@bp.route("/settings/rules", methods=["POST"])
@access("complaints.settings")
def save_rule():
    """Set the deadlines for a severity (and a category): a rule for the same pair is replaced."""
    active = [c for c in settings.categories()]
    form = forms.DeadlineRuleForm(categories=active, locale=current_locale())
    if not form.validate_on_submit():
        return _page(rule_form=form)
    category_id = form.category_id.data or None
    rule = db.session.scalar(select(DeadlineRule).where(
        DeadlineRule.severity == form.severity.data,
        DeadlineRule.category_id.is_(None) if category_id is None else DeadlineRule.category_id == category_id))
    if rule is None:
        rule = DeadlineRule(severity=form.severity.data, category_id=category_id)
        db.session.add(rule)
    rule.acknowledge_hours = form.acknowledge_hours.data
    rule.resolve_hours = form.resolve_hours.data
    rule.hq_hours = form.hq_hours.data
    if rule.acknowledge_hours > rule.resolve_hours:
        form.acknowledge_hours.errors.append(_("Acknowledging cannot take longer than resolving."))
        db.session.rollback()
        return _page(rule_form=form)
    return _saved(_("Deadline rule saved. It applies to complaints received from now on."), "deadline rule")


@bp.route("/settings/rules/<int:complaint_deadline_rule_id>/delete", methods=["POST"])
@access("complaints.settings")
def delete_rule(complaint_deadline_rule_id: int):
    """Remove a category's own rule (the severity's general rule stays)."""
    rule = db.session.scalar(select(DeadlineRule).where(DeadlineRule.id == complaint_deadline_rule_id))
    form = EmptyForm()
    if rule is None or not form.validate_on_submit():
        return redirect(url_for("complaints.settings_page"))
    if rule.category_id is None:
        flash(_("The general rule of a severity stays; change its hours instead."), "warning")
        return redirect(url_for("complaints.settings_page"))
    db.session.delete(rule)
    return _saved(_("Rule removed."), "deadline rule")


@bp.route("/settings/calendar", methods=["POST"])
@access("complaints.settings")
def add_day():
    """Add a public holiday or a 调休 working day to the calendar."""
    form = forms.CalendarDayForm()
    if not form.validate_on_submit():
        return _page(day_form=form)
    if db.session.scalar(select(CalendarDay.id).where(CalendarDay.on == form.on.data)):
        form.on.errors.append(_("This date is already in the calendar."))
        return _page(day_form=form)
    db.session.add(CalendarDay(on=form.on.data, kind=form.kind.data, name=form.name.data.strip(),
                               stores_closed=form.stores_closed.data and form.kind.data == "closed"))
    return _saved(_("Calendar day added. Deadlines set from now on count it."), "calendar")


@bp.route("/settings/calendar/<int:calendar_day_id>/delete", methods=["POST"])
@access("complaints.settings")
def delete_day(calendar_day_id: int):
    """Remove a day from the calendar."""
    day = db.session.scalar(select(CalendarDay).where(CalendarDay.id == calendar_day_id))
    form = EmptyForm()
    if day is None or not form.validate_on_submit():
        return redirect(url_for("complaints.settings_page"))
    db.session.delete(day)
    return _saved(_("Calendar day removed."), "calendar")


@bp.route("/settings/escalation/<int:complaint_escalation_level_id>", methods=["POST"])
@access("complaints.settings")
def save_level(complaint_escalation_level_id: int):
    """Change when a level of the escalation chain is told about a late complaint."""
    level = db.session.scalar(select(EscalationLevel).where(EscalationLevel.id == complaint_escalation_level_id))
    if level is None:
        return redirect(url_for("complaints.settings_page"))
    form = forms.EscalationLevelForm()
    typed = request.form.get("after_hours", "")[:20]
    if not form.validate_on_submit():
        return _page(level_error=(level.id, "; ".join(str(e) for e in form.after_hours.errors), typed))
    others = {lv.level: lv.after_hours for lv in db.session.scalars(
        select(EscalationLevel).where(EscalationLevel.stage == level.stage, EscalationLevel.id != level.id))}
    hours = form.after_hours.data
    if any((n < level.level and h > hours) or (n > level.level and h < hours) for n, h in others.items()):
        return _page(level_error=(level.id, _("A higher level is told later than a lower one, never sooner."), typed))
    level.after_hours = hours
    return _saved(_("Escalation level saved."), "escalation")


@bp.route("/settings/thresholds", methods=["POST"])
@access("complaints.settings")
def add_threshold():
    """Add a warning threshold: so many complaints against a franchisee within so many months."""
    form = forms.ThresholdForm()
    if not form.validate_on_submit():
        return _page(threshold_form=form)
    db.session.add(ComplaintThreshold(count=form.count.data, months=form.months.data, active=form.active.data))
    return _saved(_("Threshold added."), "threshold")


@bp.route("/settings/thresholds/<int:complaint_threshold_id>", methods=["POST"])
@access("complaints.settings")
def toggle_threshold(complaint_threshold_id: int):
    """Stop or resume using a threshold."""
    threshold = db.session.scalar(select(ComplaintThreshold).where(ComplaintThreshold.id == complaint_threshold_id))
    if threshold is None or not EmptyForm().validate_on_submit():
        return redirect(url_for("complaints.settings_page"))
    threshold.active = not threshold.active
    return _saved(_("Threshold saved."), "threshold")
