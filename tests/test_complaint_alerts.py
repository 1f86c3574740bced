"""Late complaints go up the chain and people are told (issue 9): multi-level escalation with
controlled time, portal notifications with the unread count, e-mail / robot deliveries that are
retried and never block the user's action."""
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models import Complaint, ComplaintEvent, Delivery, Notification, Store, User
from app.security.tenancy import unscoped
from app.services import notifications
from app.services.complaints import alerts, workflow
from tests.factories import make_complaint

MONDAY_10 = datetime(2026, 3, 2, 2, 0)  # 10:00 in Shanghai


def local(hour, minute=0, day=2):
    return datetime(2026, 3, day, hour - 8, minute)


def _told(user_id, kind=None, complaint=None):
    stmt = select(Notification).where(Notification.user_id == user_id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    if complaint is not None:
        stmt = stmt.where(Notification.complaint_id == complaint.id)
    return db.session.scalars(stmt).all()


def test_a_late_complaint_reaches_the_owner_then_the_supervisor_then_headquarters(app, world, ctx):
    store = db.session.get(Store, world.a_stores[0])
    complaint = make_complaint(store, "无人受理的投诉", received_at=MONDAY_10)  # acknowledge by 12:00
    version = complaint.version
    owner, supervisor, auditor = (world.users[k] for k in ("owner_a", "supervisor", "auditor"))
    alerts.tick(local(11, 30))
    assert not _told(owner, "complaint_late_acknowledge", complaint)
    alerts.tick(local(12, 30))  # late: level 1, the franchise owner
    assert len(_told(owner, "complaint_late_acknowledge", complaint)) == 1
    assert not _told(supervisor, "complaint_late_acknowledge", complaint)
    alerts.tick(local(12, 45))  # nobody is told twice
    assert len(_told(owner, "complaint_late_acknowledge", complaint)) == 1
    alerts.tick(local(14, 30))  # 2.5 business hours late: the regional supervisor (East)
    assert len(_told(supervisor, "complaint_late_acknowledge", complaint)) == 1
    assert not _told(auditor, "complaint_late_acknowledge", complaint)
    alerts.tick(local(16, 5))  # 4 hours: headquarters
    assert len(_told(auditor, "complaint_late_acknowledge", complaint)) == 1
    db.session.refresh(complaint)
    assert complaint.ack_alert_level == 3 and complaint.version == version  # no edit conflict for anyone
    lines = db.session.scalars(select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == complaint.id,
                                                                 ComplaintEvent.kind == "alert")).all()
    assert len(lines) == 3
    # The owner of franchisee B hears nothing of A's complaint.
    assert not _told(world.users["owner_b"], "complaint_late_acknowledge", complaint)


def test_late_hours_are_business_hours_and_a_paused_clock_is_never_late(app, world, ctx):
    store = db.session.get(Store, world.a_stores[0])
    evening = make_complaint(store, "晚间投诉", received_at=local(20, 30))  # acknowledge by 11:30 next day (0.5 h + 1.5 h)
    waiting = make_complaint(store, "等顾客资料", received_at=MONDAY_10)
    workflow.wait_on_customer(waiting, db.session.get(User, world.users["staff_a"]), "等照片", now=local(10, 30))
    alerts.tick(local(9, 0, day=3))  # the store is closed overnight: nothing is late yet
    db.session.refresh(evening)
    assert evening.ack_alert_level == 0
    alerts.tick(local(11, 45, day=3))
    db.session.refresh(evening)
    db.session.refresh(waiting)
    assert evening.ack_alert_level == 1 and waiting.ack_alert_level == 0 and waiting.alert_level == 0


def test_escalations_and_tasks_tell_the_right_people(app, world, ctx):
    # The world's escalated complaint of A told headquarters, and its task told customer service.
    assert _told(world.users["auditor"], "complaint_escalated")
    assert _told(world.users["dept"], "complaint_task")
    dept = db.session.get(User, world.users["dept"])
    assert dept.unread_notifications == len(_told(dept.id))


def test_the_unread_count_is_in_the_navigation_and_cleared_by_reading(app, world, login_as):
    dept = login_as("dept")
    page = dept.get("/complaints/tasks")
    assert 'data-testid="notification-count"' in page.text and "text-bg-danger" in page.text
    inbox = dept.get("/notifications/")
    assert "致电顾客致歉" in inbox.text
    # Following one marks it read and opens its complaint; another user's is not there.
    with app.app_context(), unscoped():
        note = db.session.scalar(select(Notification).where(Notification.user_id == world.users["dept"]))
        unread = db.session.get(User, world.users["dept"]).unread_notifications
        other = db.session.scalar(select(Notification).where(Notification.user_id != world.users["dept"]))
    opened = dept.get(f"/notifications/{note.id}")
    assert opened.status_code == 302 and opened.headers["Location"] == note.url
    with app.app_context(), unscoped():
        assert db.session.get(User, world.users["dept"]).unread_notifications == unread - 1
    assert dept.get(f"/notifications/{other.id}").status_code == 404
    dept.post_form("/language", {"lang": "en", "next": "/"})
    assert "New task on" in dept.get("/notifications/").text  # worded in the reader's language
    assert dept.post_form("/notifications/read").status_code == 302
    with app.app_context(), unscoped():
        assert db.session.get(User, world.users["dept"]).unread_notifications == 0
    assert "text-bg-danger" not in dept.get("/notifications/").text


def test_without_smtp_or_robots_the_messages_go_to_the_outbox(app, world, ctx):
    outcome = notifications.deliver_due()
    sent = db.session.scalars(select(Delivery).where(Delivery.state == "sent")).all()
    assert sent and all(d.channel == "outbox" for d in sent) and outcome["sent"] == len(sent)


class _Robot(BaseHTTPRequestHandler):
    answers: list = []
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Robot.received.append(json.loads(body))
        code, answer = _Robot.answers.pop(0) if _Robot.answers else (200, {"errcode": 0})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    server = HTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Robot.answers, _Robot.received = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=test"
    server.shutdown()
    server.server_close()


def test_a_failed_robot_message_is_retried_later_then_given_up(app, world, ctx, robot):
    app.config["WECOM_WEBHOOK_URL"] = robot
    try:
        _Robot.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})] * 10
        notifications.notify_group("complaint_major", {"ref": "TS001", "title": "燃气灶漏气", "store": "甲一店"})
        db.session.commit()
        now = utcnow()
        notifications.deliver_due(now)
        delivery = db.session.scalar(select(Delivery).where(Delivery.channel == "wecom"))
        assert delivery.state == "pending" and delivery.attempts == 1 and "93000" in delivery.last_error
        assert delivery.next_attempt_at > now
        for _ in range(notifications.MAX_ATTEMPTS):
            notifications.deliver_due(delivery.next_attempt_at + timedelta(seconds=1))
            db.session.refresh(delivery)
        assert delivery.state == "failed" and delivery.attempts == notifications.MAX_ATTEMPTS
        assert _Robot.received[0]["msgtype"] == "text" and "TS001" in _Robot.received[0]["text"]["content"]
        notifications.retry(delivery)
        _Robot.answers = []
        notifications.deliver_due(delivery.next_attempt_at + timedelta(seconds=1))
        db.session.refresh(delivery)
        assert delivery.state == "sent"
    finally:
        app.config["WECOM_WEBHOOK_URL"] = ""


def test_headquarters_sees_failed_deliveries_and_others_cannot(app, world, login_as):
    with app.app_context(), unscoped():
        db.session.add(Delivery(channel="email", target="x@example.cn", subject="投诉超时", text="正文",
                                state="failed", attempts=8, last_error="SMTPConnectError: refused"))
        db.session.commit()
    page = login_as("admin").get("/notifications/deliveries?state=failed")
    assert "SMTPConnectError" in page.text
    assert login_as("owner_a").get("/notifications/deliveries").status_code == 403


def test_a_complaint_filed_online_tells_the_store_manager_and_owner(app, world, ctx):
    store = db.session.get(Store, world.a_stores[0])
    complaint = make_complaint(store, "网上投诉", public=True)
    alerts.received_online(complaint)
    assert _told(world.users["manager_a"], "complaint_public") and _told(world.users["owner_a"], "complaint_public")
    assert not _told(world.users["manager_b"], "complaint_public")
    assert db.session.scalar(select(Complaint.public).where(Complaint.id == complaint.id))


def test_a_franchisee_over_the_threshold_is_warned_once_a_month(app, world, ctx):
    from app.models import ComplaintThreshold
    from app.services.complaints import stats

    db.session.add(ComplaintThreshold(count=3, months=2))
    store = db.session.get(Store, world.a_stores[0])
    for n in range(2):
        make_complaint(store, f"第{n}条", received_at=datetime(2026, 3, 10 + n, 3))
    db.session.commit()
    when = datetime(2026, 4, 5, 3)
    # A has its world complaint (2 March) and two more: three in March-April.
    assert [w["name"] for w in stats.over_thresholds(when.date()) if w["limit"] == 3] == ["甲方加盟商"]
    alerts.threshold_warnings(when)
    alerts.threshold_warnings(when)  # once a month
    assert len(_told(world.users["owner_a"], "complaint_threshold")) == 1
    assert len(_told(world.users["auditor"], "complaint_threshold")) == 1
    assert not _told(world.users["owner_b"], "complaint_threshold")
    assert not [w for w in stats.over_thresholds(datetime(2026, 6, 1).date()) if w["limit"] == 3]  # May-June: none


def test_the_queue_shows_the_warning_to_headquarters_and_the_owner_only(app, world, login_as):
    with app.app_context(), unscoped():
        from app.models import ComplaintThreshold

        db.session.add(ComplaintThreshold(count=1, months=36))
        db.session.commit()
    assert "甲方加盟商" in login_as("owner_a").get("/complaints/").text
    b_page = login_as("owner_b").get("/complaints/")
    assert 'data-testid="threshold-warning"' in b_page.text and "甲方加盟商" not in b_page.text
    assert 'data-testid="threshold-warning"' not in login_as("staff_a").get("/complaints/").text


def test_with_smtp_configured_the_notice_is_e_mailed_outside_the_request(app, world, ctx, monkeypatch):
    """The e-mail goes out from the periodic job through smtplib (a stand-in server here), in the
    recipient's language, with the link to the complaint; a refused connection is retried later."""
    import smtplib

    sent, calls = [], []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port))
            if host == "down.example.cn":
                raise ConnectionRefusedError("refused")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user))

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.cn", MAIL_PORT=587, MAIL_USE_TLS=True, MAIL_USERNAME="cx",
                      MAIL_PASSWORD="secret", MAIL_SENDER="cx@example.cn")
    try:
        store = db.session.get(Store, world.a_stores[0])
        make_complaint(store, "要发邮件的重大投诉", severity="major")
        db.session.commit()
        assert not sent  # nothing is sent inside the action
        notifications.deliver_due(utcnow() + timedelta(seconds=1))
        to_auditor = [m for m in sent if m["To"] == "t-auditor@example.cn"]
        assert to_auditor and "要发邮件的重大投诉" in to_auditor[0].get_content()
        assert "/complaints/" in to_auditor[0].get_content() and ("starttls",) in calls and ("login", "cx") in calls
        app.config["MAIL_SERVER"] = "down.example.cn"
        make_complaint(store, "邮件服务器故障时", severity="major")
        db.session.commit()
        notifications.deliver_due(utcnow() + timedelta(seconds=1))
        waiting = db.session.scalars(select(Delivery).where(Delivery.channel == "email", Delivery.state == "pending")).all()
        assert waiting and all("ConnectionRefusedError" in d.last_error for d in waiting)
    finally:
        app.config.update(MAIL_SERVER="", MAIL_USE_TLS=False, MAIL_USERNAME="", MAIL_PASSWORD="")
