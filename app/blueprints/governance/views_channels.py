"""The register of feedback channels offered to customers and their checks (R73)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, flash_form_errors, keyset_of
from app.blueprints.governance import bp
from app.blueprints.governance.forms import ChannelCheckForm, ChannelSettingsForm
from app.extensions import db
from app.models import ComplaintChannel
from app.models.base import local_today
from app.models.governance import ChannelCheck
from app.pagination import Ordering
from app.security.access import access
from app.services import RuleError
from app.services.governance import channels

CHECKS = Ordering((ChannelCheck.id,), descending=True)


@bp.route("/channels")
@access("governance.channels_view")
def channels_index():
    """Every channel: where customers reach it, whether it is publicised, its last check and the next."""
    rows = db.session.scalars(select(ComplaintChannel).order_by(ComplaintChannel.active.desc(),
                                                                ComplaintChannel.position, ComplaintChannel.id)).all()
    today = local_today()
    return render_template("governance/channels.html", channels=rows, today=today, due=channels.due(today, 0))


@bp.route("/channels/<int:complaint_channel_id>")
@access("governance.channels_view")
def channel(complaint_channel_id: int):
    return _channel_page(db.get_or_404(ComplaintChannel, complaint_channel_id))


def _channel_page(found, check_form=None, status=200):
    settings_form = ChannelSettingsForm(obj=found, prefix="s")
    check_form = check_form or ChannelCheckForm(prefix="c", checked_on=local_today())
    checks = keyset_of(select(ChannelCheck).where(ChannelCheck.channel_id == found.id)
                       .options(selectinload(ChannelCheck.by)), CHECKS)
    return render_template("governance/channel.html", channel=found, settings_form=settings_form,
                           check_form=check_form, checks=checks, today=local_today()), status


@bp.route("/channels/<int:complaint_channel_id>/settings", methods=["POST"])
@access("governance.channels")
def channel_settings(complaint_channel_id: int):
    found = db.get_or_404(ComplaintChannel, complaint_channel_id)
    form = ChannelSettingsForm(prefix="s")
    if form.validate_on_submit():
        commit_or_explain(lambda: channels.save_settings(found, form.data, current_user), _("Saved."))
    else:
        flash_form_errors(form)
    return redirect(url_for("governance.channel", complaint_channel_id=found.id))


@bp.route("/channels/<int:complaint_channel_id>/check", methods=["POST"])
@access("governance.channels")
def channel_check(complaint_channel_id: int):
    found = db.get_or_404(ComplaintChannel, complaint_channel_id)
    form = ChannelCheckForm(prefix="c")
    if form.validate_on_submit():
        try:
            channels.record_check(found, form.result.data == "ok", form.note.data, form.checked_on.data, current_user)
        except RuleError as error:  # the form comes back with what was chosen and typed (trial 24)
            db.session.rollback()
            form.note.errors = [*form.note.errors, str(error)]
            return _channel_page(found, check_form=form, status=422)
        db.session.commit()
        flash(_("Check recorded.") if form.result.data == "ok"
              else _("Recorded as not working: the channel stays due until a check passes."),
              "success" if form.result.data == "ok" else "warning")
        return redirect(url_for("governance.channel", complaint_channel_id=found.id))
    return _channel_page(found, check_form=form, status=422)
