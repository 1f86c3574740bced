"""``@access(...)``: every view declares who may call it; the app refuses to start otherwise."""
from functools import wraps

from flask import abort
from flask_login import current_user

from app.extensions import login_manager
from app.security.policy import PERMISSIONS, can

PUBLIC = "public"
SIGNED_IN = "signed_in"


def access(permission: str):
    """Require ``permission`` (a key of policy.PERMISSIONS), or PUBLIC / SIGNED_IN."""
    if permission not in (PUBLIC, SIGNED_IN) and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if permission != PUBLIC:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if permission != SIGNED_IN and not can(current_user, permission):
                    abort(403)
            return view(*args, **kwargs)

        wrapped.access_permission = permission
        return wrapped

    return decorator


def check_endpoints_declared(app) -> None:
    """Refuse to build an app with a view that has no ``@access`` declaration."""
    missing = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not hasattr(view, "access_permission")
    )
    if missing:
        raise RuntimeError(f"views without @access: {', '.join(missing)}")
