"""Route protection: every /staff route declares the least role it needs with @role_required."""
from __future__ import annotations

import time
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort, current_app, session
from flask_login import current_user, logout_user

from actionkit.extensions import db, login_manager
from actionkit.staff.models import Role, StaffUser

F = TypeVar("F", bound=Callable[..., Any])
LOGIN_AT = "staff_login_at"  # session key: when this session logged in (epoch seconds)
DEFAULT_SESSION_HOURS = 12


def session_expired() -> bool:
    """A staff session lasts ACTIONKIT_STAFF_SESSION_HOURS (default 12) from log-in, however active it is."""
    hours = float(current_app.config.get("STAFF_SESSION_HOURS") or DEFAULT_SESSION_HOURS)
    started = session.get(LOGIN_AT)
    return not isinstance(started, (int, float)) or time.time() - started > hours * 3600


def role_required(role: Role) -> Callable[[F], F]:
    """Anonymous users are sent to the login page; logged-in users without the role get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if session_expired():
                logout_user()
                session.clear()
                return login_manager.unauthorized()
            if not current_user.role.allows(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # read by the route-audit test
        return wrapped  # type: ignore[return-value]

    return decorator


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    """Session ids are '<id>:<nonce>'; a rotated nonce (new login, password change) ends old sessions."""
    try:
        pk, nonce = user_id.split(":", 1)
        user = db.session.get(StaffUser, int(pk))
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user
