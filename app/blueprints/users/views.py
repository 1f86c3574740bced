from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import create_once, page_of, save_versioned
from app.blueprints.users import bp
from app.blueprints.users.forms import NewUserForm, ResetPasswordForm, UserForm, role_filter_choices
from app.extensions import db
from app.forms import EmptyForm
from app.models import AuditEvent, User, UserSession
from app.models.user import ROLES
from app.security.access import access
from app.services import users as user_service


def _load_user(user_id: int) -> User:
    return db.first_or_404(select(User).where(User.id == user_id))


@bp.route("/")
@access("users.manage")
def index():
    """All portal users with search and role filter."""
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    active = request.args.get("active", "")
    stmt = select(User).options(selectinload(User.franchisee)).order_by(User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like), User.email.ilike(like)))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    if active in ("1", "0"):
        stmt = stmt.where(User.active.is_(active == "1"))
    return render_template(
        "users/index.html", page=page_of(stmt), q=q, role=role, active=active, role_choices=role_filter_choices()
    )


@bp.route("/new", methods=["GET", "POST"])
@access("users.manage")
def new():
    """Create a user; they choose their own password at first sign-in."""
    form = NewUserForm(version=1)
    if form.validate_on_submit():
        if done := create_once(
            form, lambda: user_service.create_user(form.profile_data(), form.password.data, current_user),
            lambda user: url_for("users.show", user_id=user.id),
            lambda user: _("User %(name)s created. They must change the password at first sign-in.", name=user.username),
        ):
            return done
    return render_template("users/form.html", form=form, user=None)


@bp.route("/<int:user_id>")
@access("users.manage")
def show(user_id: int):
    """A user's profile, scope, open sessions and recent activity."""
    user = _load_user(user_id)
    open_sessions = db.session.scalar(
        select(func.count(UserSession.id)).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    events = db.session.scalars(
        select(AuditEvent).where(or_(AuditEvent.actor_id == user.id, (AuditEvent.target_type == "User") & (AuditEvent.target_id == user.id)))
        .order_by(AuditEvent.occurred_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "users/show.html",
        user=user,
        open_sessions=open_sessions,
        events=events,
        toggle_form=EmptyForm(),
        reset_form=ResetPasswordForm(username=user.username),
    )


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@access("users.manage")
def edit(user_id: int):
    """Edit a user's profile, role and scope."""
    user = _load_user(user_id)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        if user.id == current_user.id and form.role.data != "hq_admin":
            flash(_("You cannot remove your own administrator role."), "danger")
        elif save_versioned(form, user, lambda: user_service.update_user(user, form.profile_data(), current_user)):
            flash(_("Changes saved."), "success")
            return redirect(url_for("users.show", user_id=user.id))
    return render_template("users/form.html", form=form, user=user)


@bp.route("/<int:user_id>/active", methods=["POST"])
@access("users.manage")
def toggle_active(user_id: int):
    """Deactivate (ending every session) or reactivate a user."""
    user = _load_user(user_id)
    if EmptyForm().validate_on_submit():
        if user.id == current_user.id:
            flash(_("You cannot deactivate your own account."), "danger")
        else:
            user_service.set_active(user, not user.active, current_user)
            db.session.commit()
            flash(_("User activated.") if user.active else _("User deactivated; their sessions have ended."), "success")
    return redirect(url_for("users.show", user_id=user.id))


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@access("users.manage")
def reset_password(user_id: int):
    """Set a temporary password; the user must change it at next sign-in."""
    user = _load_user(user_id)
    form = ResetPasswordForm(username=user.username)
    if form.validate_on_submit():
        user_service.reset_password(user, form.password.data, current_user)
        db.session.commit()
        flash(_("Password reset. Give the temporary password to the user in person or by phone."), "success")
    else:
        for error in form.password.errors:
            flash(error, "danger")
    return redirect(url_for("users.show", user_id=user.id))
