from datetime import datetime, time, timedelta

from flask import render_template, request
from flask_babel import to_utc
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.blueprints.audit import bp
from app.blueprints.common import page_of
from app.models import AuditEvent
from app.security.access import access
from app.services import audit


def _day(value: str | None):
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.route("/")
@access("audit_log.view")
def index():
    """The audit trail, newest first, filterable by action, person and date."""
    action = request.args.get("action", "").strip()[:50]
    who = request.args.get("who", "").strip()[:100]
    since, until = _day(request.args.get("since")), _day(request.args.get("until"))
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if who:
        stmt = stmt.where(or_(AuditEvent.actor_name.ilike(f"%{who}%"), AuditEvent.target_label.ilike(f"%{who}%")))
    # The dates are days in the portal's time zone; events are stored in UTC.
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= to_utc(datetime.combine(since, time())))
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < to_utc(datetime.combine(until + timedelta(days=1), time())))
    return render_template("audit/index.html", page=page_of(stmt), action=action, who=who, since=since, until=until,
                           actions=audit.action_choices())
