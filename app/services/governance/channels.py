"""The register of feedback channels offered to customers (R73, seed 003 渠道维护): each
publicised channel is checked every so many days that it works (the hotline answers, the page
opens, the mailbox receives); a failed check keeps it due until a check passes, and the
periodic job reminds headquarters' customer-experience department of checks that fell due."""
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ComplaintChannel, User
from app.models.base import local_today
from app.models.governance import ChannelCheck
from app.services import RuleError, audit, notifications


def _due_after(channel: ComplaintChannel) -> date | None:
    if not (channel.publicised and channel.active) or not channel.check_every_days:
        return None
    if channel.last_checked_on is None:
        return local_today()
    if channel.last_check_ok is False:
        return channel.last_checked_on  # failed: due until a check passes
    return channel.last_checked_on + timedelta(days=channel.check_every_days)


def save_settings(channel: ComplaintChannel, data: dict, user) -> None:
    channel.contact = (data.get("contact") or "").strip() or None
    channel.publicised = bool(data.get("publicised"))
    channel.check_every_days = data.get("check_every_days") or 0
    if channel.publicised and not channel.contact:
        raise RuleError(_("Say where customers reach a publicised channel (number, address or account)."))
    channel.check_due_on = _due_after(channel)
    audit.record("channel.settings", actor=user, details={"code": channel.code})


def record_check(channel: ComplaintChannel, ok: bool, note: str | None, checked_on: date, user) -> ChannelCheck:
    if checked_on > local_today():
        raise RuleError(_("A check cannot be dated in the future."))
    if channel.last_checked_on and checked_on < channel.last_checked_on:
        raise RuleError(_("A later check is already recorded (%(day)s).", day=channel.last_checked_on))
    if not ok and not (note or "").strip():
        raise RuleError(_("Say what did not work."))
    check = ChannelCheck(channel_id=channel.id, checked_on=checked_on, ok=ok, note=(note or "").strip() or None,
                         by_id=user.id)
    db.session.add(check)
    channel.last_checked_on, channel.last_check_ok, channel.last_check_note = checked_on, ok, check.note
    channel.check_due_on = _due_after(channel)
    db.session.flush()
    audit.record("channel.checked", actor=user, details={"code": channel.code, "note": "ok" if ok else "failed"})
    return check


def due(today: date | None = None, within_days: int = 7) -> list[ComplaintChannel]:
    today = today or local_today()
    return db.session.scalars(select(ComplaintChannel).where(
        ComplaintChannel.check_due_on <= today + timedelta(days=within_days)).order_by(
        ComplaintChannel.check_due_on, ComplaintChannel.position)).all()


def remind(today: date | None = None) -> int:
    """Tell the customer-experience department of checks due today or overdue, once per due date."""
    today = today or local_today()
    channels = db.session.scalars(select(ComplaintChannel).where(
        ComplaintChannel.check_due_on <= today)).all()
    waiting = [c for c in channels if c.reminded_on is None or c.reminded_on < c.check_due_on]
    if not waiting:
        return 0
    people = db.session.scalars(select(User).where(User.role == "hq_auditor", User.active.is_(True))).all()
    notifications.notify(people, "channel_checks_due", {"names": [c.name_zh for c in waiting],
                                                        "names_en": [c.name_en for c in waiting]},
                         url="/governance/channels")
    for channel in waiting:
        channel.reminded_on = today
    return len(waiting)


@notifications.message("channel_checks_due")
def _checks_due(data):
    from app.i18n import current_locale
    from app.text import list_text

    names = data.get("names_en") if current_locale() == "en" else data.get("names")
    return (_("Feedback channels to check: %(names)s", names=list_text(names or [])),
            _("Check that they still work (call, open, send) and record the result in the channel register."))
