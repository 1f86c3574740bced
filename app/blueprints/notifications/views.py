"""Each user's notifications, and headquarters' view of what was sent (and what failed)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.common import keyset_of
from app.blueprints.notifications import bp
from app.database import write_transaction
from app.extensions import db
from app.forms import EmptyForm
from app.models.notification import CHANNELS, DELIVERY_STATES, Delivery, Notification
from app.pagination import Ordering
from app.security.access import SIGNED_IN, access
from app.services import notifications

NEWEST = Ordering((Notification.id,), descending=True)
DELIVERIES = Ordering((Delivery.id,), descending=True)


@bp.route("/")
@access(SIGNED_IN)
def index():
    """The signed-in user's notifications, newest first; unread ones stand out."""
    # A personal inbox: the user's own rows (notifications are not tenant data; each was written
    # for one user, from what that user was allowed to see).
    stmt = select(Notification).where(Notification.user_id == current_user.id)
    page = keyset_of(stmt, NEWEST)
    return render_template("notifications/index.html", page=page, form=EmptyForm())


@bp.route("/<int:notification_id>")
@access(SIGNED_IN)
def open_one(notification_id: int):
    """Follow a notification: it is read now, and its page opens."""
    note = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == current_user.id))
    if note is None:
        abort(404)
    if note.read_at is None:
        # The reader's own state, in a short write of its own (as an audit row of a view).
        with write_transaction(db.session):
            notifications.mark_read(current_user, [note.id])
    target = note.url if note.url and note.url.startswith("/") and not note.url.startswith("//") else None
    return redirect(target or url_for("notifications.index"))


@bp.route("/read", methods=["POST"])
@access(SIGNED_IN)
def mark_read():
    """Mark every notification read."""
    if EmptyForm().validate_on_submit():
        notifications.mark_read(current_user)
        db.session.commit()
        flash(_("All notifications marked read."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/deliveries")
@access("notifications.deliveries")
def deliveries():
    """E-mails and robot messages: what waits, what was sent, what failed (and why)."""
    state = request.args.get("state", "failed")
    state = state if state in DELIVERY_STATES or state == "outbox" else "failed"
    stmt = select(Delivery)
    stmt = stmt.where(Delivery.channel == "outbox") if state == "outbox" else stmt.where(Delivery.state == state)
    page = keyset_of(stmt, DELIVERIES)
    return render_template("notifications/deliveries.html", page=page, state=state, states=DELIVERY_STATES,
                           channels=CHANNELS, form=EmptyForm())


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@access("notifications.deliveries")
def retry(delivery_id: int):
    """Try a failed delivery again at the next run of the periodic job."""
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id))
    if delivery is not None and delivery.state == "failed" and EmptyForm().validate_on_submit():
        notifications.retry(delivery)
        db.session.commit()
        flash(_("It will be sent again within a minute or two."), "success")
    return redirect(url_for("notifications.deliveries"))
