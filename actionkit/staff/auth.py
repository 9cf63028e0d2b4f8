"""Route protection: every /staff route declares the least role it needs with @role_required."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort
from flask_login import current_user

from actionkit.extensions import db, login_manager
from actionkit.staff.models import Role, StaffUser

F = TypeVar("F", bound=Callable[..., Any])


def role_required(role: Role) -> Callable[[F], F]:
    """Anonymous users are sent to the login page; logged-in users without the role get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
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
