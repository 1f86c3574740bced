"""Telling people: portal notifications, e-mail and the WeCom / DingTalk group robots.

``notify`` writes the notification (and its deliveries) in the caller's transaction and
returns; nothing here talks to a mail server or a webhook inside a web request.
``deliver_due`` (the periodic job, ``flask complaints tick``) sends what is due, each delivery in
a short transaction of its own, retrying a failure after 1, 2, 4 ... minutes up to
``MAX_ATTEMPTS``; a delivery that keeps failing is marked failed and listed for headquarters.
Without SMTP or a webhook configured, the deliveries go to the outbox (a portal page).
"""
import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.i18n import force_locale
from app.models.notification import ROBOTS, Delivery, Notification
from app.security.tenancy import unscoped

MAX_ATTEMPTS = 8
MAX_DELAY = timedelta(hours=6)


def _locale_of(user: User) -> str:
    return user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


# kind -> function(data) giving (title, body) in the language in force; registered by the modules
# that send them (services/complaints/alerts.py).
MESSAGES: dict = {}


def message(kind: str):
    def register(function):
        MESSAGES[kind] = function
        return function
    return register


def text(note: Notification) -> tuple[str, str]:
    """A notification's title and body in the reader's language."""
    wording = MESSAGES.get(note.kind)
    if wording is None or note.data is None:
        return note.title, note.body or ""
    title, body = wording(note.data)
    return str(title), str(body)


def notify(users, kind: str, data: dict, *, url: str | None = None, complaint_id: int | None = None) -> int:
    """Tell each of ``users`` (once each) what ``MESSAGES[kind]`` says of ``data``. The portal shows
    it in the reader's language; the e-mail goes in the recipient's. Returns how many were told."""
    config = current_app.config
    seen = set()
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        with force_locale(_locale_of(user)):
            subject, body = (str(part) for part in MESSAGES[kind](data))
        note = Notification(user_id=user.id, kind=kind, complaint_id=complaint_id, title=subject[:200], body=body,
                            url=url, data=data)
        db.session.add(note)
        db.session.execute(update(User).where(User.id == user.id)
                           .values(unread_notifications=User.unread_notifications + 1)
                           .execution_options(reference_data=False, synchronize_session=False))
        if user.email:
            channel = "email" if config["MAIL_SERVER"] else "outbox"
            db.session.add(Delivery(notification=note, channel=channel, target=user.email, subject=subject[:200],
                                    text=_with_link(body, url)))
    return len(seen)


def notify_group(kind: str, data: dict, url: str | None = None) -> None:
    """A message to the configured group robots (企业微信 / 钉钉), or to the outbox without any;
    in the portal's language (a group has no language of its own)."""
    config = current_app.config
    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        subject, body = (str(part) for part in MESSAGES[kind](data))
    robots = [("wecom", "WeCom"), ("dingtalk", "DingTalk")]
    configured = [(channel, name) for channel, name in robots if config[f"{channel.upper()}_WEBHOOK_URL"]]
    for channel, name in configured or [("outbox", ROBOTS)]:
        db.session.add(Delivery(channel=channel, target=name, subject=subject[:200], text=_with_link(body, url)))


def _with_link(text: str, url: str | None) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    return f"{text}\n{base}{url}" if url else text


def mark_read(user: User, ids=None) -> int:
    """Mark the user's notifications read (``ids`` None: all of them); returns how many."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    count = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    unread = db.session.scalar(select(db.func.count()).select_from(Notification)
                               .where(Notification.user_id == user.id, Notification.read_at.is_(None)))
    db.session.execute(update(User).where(User.id == user.id).values(unread_notifications=unread)
                       .execution_options(reference_data=False, synchronize_session=False))
    return count


# --- sending -----------------------------------------------------------------------------------

class DeliveryError(RuntimeError):
    pass


def _send_email(delivery: Delivery, config) -> None:
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = delivery.target
    message["Subject"] = delivery.subject
    text = delivery.text
    if delivery.survey_invitation_id is not None:  # the customer's personal link, filled in now
        from app.services.surveys import email as survey_email

        text = survey_email.text_with_link(delivery)
    message.set_content(text)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def _dingtalk_url(url: str, secret: str) -> str:
    """DingTalk's signed webhook: timestamp and HMAC-SHA256 signature in the query string."""
    if not secret:
        return url
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def _send_robot(delivery: Delivery, config) -> None:
    """WeCom and DingTalk robots take the same text message; both answer errcode 0 when sent."""
    url = config["WECOM_WEBHOOK_URL"] if delivery.channel == "wecom" else _dingtalk_url(
        config["DINGTALK_WEBHOOK_URL"], config["DINGTALK_SECRET"])
    payload = json.dumps({"msgtype": "text", "text": {"content": f"{delivery.subject}\n{delivery.text}"}}).encode()
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (configured https URL)
        answer = json.loads(response.read().decode() or "{}")
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(f"robot answered {answer.get('errcode')}: {answer.get('errmsg', '')}")


SENDERS = {"email": _send_email, "wecom": _send_robot, "dingtalk": _send_robot, "outbox": lambda d, c: None}


def deliver_due(now: datetime | None = None, limit: int = 200) -> dict:
    """Send the deliveries that are due; returns counts by outcome."""
    config = current_app.config
    now = now or utcnow()
    with unscoped():
        ids = db.session.scalars(select(Delivery.id).where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
                                 .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).all()
        db.session.commit()  # no transaction stays open while a mail server or a robot answers
        outcome = {"sent": 0, "retry": 0, "failed": 0}
        for delivery_id in ids:
            delivery = db.session.get(Delivery, delivery_id)
            db.session.commit()
            error = None
            try:
                SENDERS[delivery.channel](delivery, config)
            except Exception as exc:  # any failure of the far side: retried later, never raised
                error = f"{type(exc).__name__}: {exc}"[:500]
            delivery = db.session.get(Delivery, delivery_id)
            delivery.attempts += 1
            if error is None:
                delivery.state, delivery.sent_at, delivery.last_error = "sent", utcnow(), None
                if delivery.survey_invitation_id is not None:
                    from app.services.surveys import email as survey_email

                    survey_email.mark_sent(delivery)
                outcome["sent"] += 1
            else:
                delivery.last_error = error
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.state = "failed"
                    outcome["failed"] += 1
                else:
                    delivery.next_attempt_at = utcnow() + min(timedelta(minutes=2 ** (delivery.attempts - 1)), MAX_DELAY)
                    outcome["retry"] += 1
            db.session.commit()
    return outcome


def retry(delivery: Delivery) -> None:
    """Headquarters asks for a failed delivery to be tried again now."""
    delivery.state, delivery.next_attempt_at, delivery.attempts = "pending", utcnow(), 0
