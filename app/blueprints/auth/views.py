from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_user, logout_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from app.extensions import db
from app.forms import EmptyForm
from app.security import sessions
from app.security.access import PUBLIC, SIGNED_IN, access
from app.services import users as user_service
from app.services.auth import sign_in, touch_user


def safe_next(target: str | None, default: str = "dashboard.index") -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//``."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith(("//", "/\\")):
            return target
    return url_for(default)


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    """Sign in with username or e-mail."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        result = sign_in(current_app.extensions["login_limiter"], form.login.data, form.password.data, request.remote_addr)
        if result.user is not None:
            lang = session.get("lang")
            picked = session.pop("lang_picked", False)  # chosen on the sign-in page just now
            sessions.start(result.user)
            if lang and (picked or not result.user.locale) and lang != result.user.locale:
                touch_user(result.user, locale=lang)
            login_user(result.user)
            db.session.commit()
            return redirect(safe_next(form.next.data))
        db.session.commit()  # keep the audit record of the failure
        if result.error == "throttled":
            minutes = max(1, -(-result.wait_seconds // 60))
            flash(ngettext("Too many failed sign-in attempts. Please wait %(num)d minute and try again.",
                           "Too many failed sign-in attempts. Please wait %(num)d minutes and try again.", minutes), "danger")
            status = 429
        elif result.error == "inactive":
            flash(_("This account has been deactivated. Please contact headquarters."), "danger")
            status = 403
        else:
            flash(_("Incorrect username or password."), "danger")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@access(SIGNED_IN)
def logout():
    """Sign out: the server-side session ends, so an old cookie no longer works."""
    form = EmptyForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        user_service.signed_out(user)
        sessions.end()
        logout_user()
        db.session.commit()
        flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@access(SIGNED_IN)
def change_password():
    """Change one's own password; other sessions of the user end."""
    form = ChangePasswordForm(username=current_user.username)
    if form.validate_on_submit():
        if user_service.change_own_password(current_user, form.current_password.data, form.new_password.data):
            sessions.revoke_all(current_user, keep_current=True)
            db.session.commit()
            flash(_("Your password has been changed. Other sessions were signed out."), "success")
            return redirect(url_for("dashboard.index"))
        db.session.rollback()
        form.current_password.errors.append(_("The current password is not correct."))
    return render_template("auth/change_password.html", form=form)


@bp.route("/language", methods=["POST"])
@access(PUBLIC)
def set_language():
    """Switch the interface language; signed-in users keep it across sessions."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if not current_user.is_authenticated:
            session["lang_picked"] = True  # the sign-in that follows keeps this choice
        if current_user.is_authenticated:
            touch_user(current_user, locale=form.lang.data)
            db.session.commit()
    return redirect(safe_next(form.next.data, "auth.login"))
