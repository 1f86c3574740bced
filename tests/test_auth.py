"""Sign-in, sessions and request hygiene (foundation issue: users and roles)."""
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent, User, UserSession
from app.security.tenancy import unscoped


def _events(app, action):
    with app.app_context(), unscoped():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_sign_in_by_username_or_email_records_the_event(app, world, client):
    response = client.login("T-Owner-A@example.cn")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "甲方加盟商" in client.get("/").text
    [event] = _events(app, "auth.login_succeeded")
    assert event.actor_id == world.users["owner_a"] and event.ip == "127.0.0.1"


def test_wrong_password_and_unknown_user_get_the_same_message(app, world, client):
    wrong = client.login("t-owner-a", "not the password")
    unknown = client.login("nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    reasons = sorted(e.details["reason"] for e in _events(app, "auth.login_failed"))
    assert reasons == ["bad_password", "unknown_user"]


def test_deactivated_user_is_told_after_a_correct_password_only(app, world, client):
    with app.app_context(), unscoped():
        db.session.execute(update(User).where(User.id == world.users["staff_a"]).values(active=False))
        db.session.commit()
    assert "用户名或密码错误" in client.login("t-staff-a", "wrong password!").text
    response = client.login("t-staff-a")
    assert response.status_code == 403 and "账号已停用" in response.text


def test_failed_sign_ins_are_throttled_per_account_even_with_the_right_password(app, world, client):
    for _ in range(5):
        client.login("t-owner-a", "wrong password!")
    response = client.login("t-owner-a")
    assert response.status_code == 429
    assert "登录失败次数过多" in response.text and "分钟" in response.text
    # Another account from another address is not affected.
    other = app.test_client()
    assert other.login("t-owner-b", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


def test_the_account_limit_counts_the_account_whichever_name_is_typed(app, world, client):
    """Issue 8: five failures as the user name left five more as the e-mail address."""
    for _ in range(5):
        client.login("t-owner-a", "wrong password!", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    other = app.test_client()  # another address, the same account by its e-mail address
    response = other.login("T-Owner-A@example.cn", environ_base={"REMOTE_ADDR": "10.2.2.2"})
    assert response.status_code == 429


def test_failed_sign_ins_are_throttled_per_address(app, world, client):
    from app.services.auth import LoginLimiter

    app.extensions["login_limiter"] = LoginLimiter("memory://", "100 per minute", "3 per 15 minutes")
    for name in ("x1", "x2", "x3"):
        client.login(name, "wrong password!")
    assert client.login("t-owner-b").status_code == 429


def test_each_app_has_its_own_limiter(app):
    from app import create_app

    assert create_app("testing").extensions["login_limiter"] is not app.extensions["login_limiter"]


def test_sign_out_kills_a_copied_cookie(app, world, login_as):
    client = login_as("owner_a")
    stolen = client.get_cookie("cxportal_session").value
    client.logout()
    thief = app.test_client()
    thief.set_cookie("cxportal_session", stolen)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "会话已结束" in thief.get(response.headers["Location"]).text


def test_sign_in_starts_a_new_session(app, world, client):
    client.get("/login")
    before = client.get_cookie("cxportal_session").value
    client.login("t-owner-a")
    assert client.get_cookie("cxportal_session").value != before


def test_idle_and_absolute_timeouts_end_the_session(app, world, login_as):
    for column, age in (("last_seen_at", timedelta(minutes=31)), ("created_at", timedelta(hours=13))):
        client = login_as("owner_a")
        with app.app_context(), unscoped():
            record = db.session.scalars(select(UserSession).order_by(UserSession.id.desc())).first()
            db.session.execute(
                update(UserSession).where(UserSession.id == record.id).values({column: getattr(record, column) - age})
            )
            db.session.commit()
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"], column


def test_deactivating_a_user_ends_their_sessions(app, world, login_as):
    victim = login_as("manager_a")
    admin = login_as("admin")
    assert admin.post_form(f"/admin/users/{world.users['manager_a']}/active").status_code == 302
    assert victim.get("/").status_code == 302


def test_change_own_password(app, world, login_as):
    client = login_as("owner_a")
    other_device = login_as("owner_a")
    bad = client.post_form("/account/password", {"current_password": "nope", "new_password": "a new long secret", "confirm": "a new long secret"})
    assert "当前密码不正确" in bad.text
    short = client.post_form("/account/password", {"current_password": "correct horse battery", "new_password": "short", "confirm": "short"})
    assert "至少" in short.text
    ok = client.post_form("/account/password", {"current_password": "correct horse battery", "new_password": "a new long secret", "confirm": "a new long secret"})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    assert other_device.get("/").status_code == 302  # the others end
    assert app.test_client().login("t-owner-a", "a new long secret").status_code == 302


def test_admin_reset_forces_a_new_password(app, world, login_as):
    admin = login_as("admin")
    admin.post_form(f"/admin/users/{world.users['staff_a']}/reset-password", {"password": "temporary pass 42"})
    client = app.test_client()
    assert client.login("t-staff-a", "temporary pass 42").status_code == 302
    response = client.get("/stores")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")


def test_redirect_after_sign_in_stays_on_this_site(app, world, client):
    for target, expected in (("/stores", "/stores"), ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        c = app.test_client()
        response = c.post_form("/login", {"login": "t-owner-a", "password": "correct horse battery", "next": target})
        assert response.headers["Location"] == expected, target


def test_missing_csrf_token_changes_nothing(app, world, login_as):
    client = login_as("admin")
    response = client.post(f"/admin/users/{world.users['staff_a']}/active")
    assert response.status_code == 400 and "安全令牌" in response.text
    with app.app_context(), unscoped():
        assert db.session.get(User, world.users["staff_a"]).active


def test_sign_out_is_not_possible_by_get(login_as):
    client = login_as("owner_a")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_security_headers_and_cookie_flags(app, world, login_as):
    client = login_as("owner_a")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers
    login = app.test_client().get("/login")
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_secret_key():
    import pytest

    from app import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=None, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_profile_sets_hsts_and_secure_cookies():
    from app import create_app

    prod = create_app("production", SECRET_KEY="x" * 32, SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI="memory://")
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    response = prod.test_client().get("/login")
    assert "Strict-Transport-Security" in response.headers


def test_passwords_are_argon2id_with_asvs_parameters(app, world):
    with app.app_context(), unscoped():
        stored = db.session.get(User, world.users["owner_a"]).password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_over_long_and_malformed_input_gets_a_message_not_an_error(app, world, client):
    response = client.login("x" * 5000, "y" * 5000)
    assert response.status_code == 400 and "最多" in response.text
    assert client.get("/stores/not-a-number").status_code in (302, 404)


def test_throttling_is_shared_between_workers_through_redis():
    import os
    import uuid

    import pytest

    from app.services.auth import LoginLimiter

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set (CI sets it for the PostgreSQL run)")
    worker_1, worker_2 = (LoginLimiter(url, "2 per minute", "100 per minute") for _ in range(2))
    account = f"acct-{uuid.uuid4().hex}"
    worker_1.failed(account, None)
    worker_2.failed(account, None)
    assert worker_1.wait_seconds(account, None) > 0 and worker_2.wait_seconds(account, None) > 0


def test_a_language_picked_on_the_sign_in_page_wins_over_the_saved_one(app, world, client):
    """Issue 8 trial: owner-a (saved English) picked 中文 on the sign-in page and got English."""
    from app.extensions import db
    from app.models import User
    from app.security.tenancy import unscoped

    with app.app_context(), unscoped():
        db.session.get(User, world.users["owner_a"]).locale = "en"
        db.session.commit()
    client.post_form("/language", {"lang": "zh_Hans"})
    client.login("t-owner-a")
    assert '<html lang="zh-Hans">' in client.get("/").text
    # Without a choice on the sign-in page, the saved language applies.
    other = app.test_client()
    with app.app_context(), unscoped():
        db.session.get(User, world.users["owner_b"]).locale = "en"
        db.session.commit()
    other.login("t-owner-b")
    assert '<html lang="en">' in other.get("/").text
