"""API tokens: minted once (shown once), found by their HMAC, limited by role, revoked by their owner."""
from __future__ import annotations

import datetime as dt
import secrets

from actionkit.api.models import ApiToken
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.privacy.crypto import crypto
from actionkit.staff.models import Role, StaffUser
from actionkit.staff.services import audit

TOKEN_PREFIX = "ak_"
_PURPOSE = "api-token"
LAST_USED_GRANULARITY = dt.timedelta(minutes=5)  # do not write on every request


class TokenError(ValueError):
    """The token cannot be created; the message is for the user."""


def _digest(token: str) -> str:
    return crypto().lookup_hash(token, _PURPOSE)


def create(user: StaffUser, name: str, role: Role) -> tuple[ApiToken, str]:
    """A new token for `user` (the plain token is returned once and never stored)."""
    if not user.role.allows(role):
        raise TokenError("A token cannot have a higher role than its owner.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100] or "API token", prefix=plain[:10],
                     token_hash=_digest(plain), role=role)
    db.session.add(token)
    db.session.flush()
    audit(user, "api_token.created", "api_token", token.id, role=role.value)
    return token, plain


def revoke(user: StaffUser, token: ApiToken) -> None:
    if token.user_id != user.id and not user.role.allows(Role.ADMIN):
        raise TokenError("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(user, "api_token.revoked", "api_token", token.id)
        db.session.flush()


def authenticate(plain: str) -> tuple[ApiToken, Role] | None:
    """The token and the role it acts with now (the lower of its own and its owner's current role), or None."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    role = token.role if token.user.role.allows(token.role) else token.user.role
    now = utcnow()
    last = token.last_used_at.replace(tzinfo=dt.timezone.utc) if token.last_used_at and \
        token.last_used_at.tzinfo is None else token.last_used_at
    if last is None or now - last > LAST_USED_GRANULARITY:
        token.last_used_at = now
    return token, role


def tokens_of(user: StaffUser) -> list[ApiToken]:
    return list(db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())))
