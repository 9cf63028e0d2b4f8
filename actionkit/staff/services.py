"""Staff accounts, log-in with lockout, the audit log and run-time settings: plain functions that flush only."""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.staff import passwords
from actionkit.staff.models import AuditEntry, LoginThrottle, Role, Setting, StaffUser

LOCKOUT_AFTER = 5  # failures in a row before the first lock
LOCKOUT_FIRST = dt.timedelta(minutes=1)  # then 1, 2, 4, 8 … minutes per further failure
LOCKOUT_MAX = dt.timedelta(hours=1)
# Per client (keyed hash of the IP) and account name: a few free tries, then a delay that doubles per failure.
THROTTLE_FREE = 3
THROTTLE_FIRST = dt.timedelta(seconds=2)
THROTTLE_MAX = dt.timedelta(minutes=15)
THROTTLE_MEMORY = dt.timedelta(days=1)  # failures older than this are forgotten
DEVICE_MAX_AGE = dt.timedelta(days=90)  # a browser that logged in is recognised this long
RETENTION_KEY = "retention_days"
DEFAULT_RETENTION_DAYS = 30  # the same default as privacy.services (staff imports no other domain)
RETENTION_RANGE = (1, 3650)
DEMO_ADMIN_EMAIL = "admin@example.org"
DEMO_PASSWORD_FILE = "demo-admin-password"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffError(Exception):
    """A staff-account operation was refused; the message is for the person who asked."""


@dataclass
class LoginResult:
    """The user when the log-in succeeded. A failure carries nothing else on purpose: a wrong password, an
    unknown e-mail, a locked or inactive account and a paused client all get the same answer."""

    user: Optional[StaffUser] = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def _aware(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> Optional[StaffUser]:
    return db.session.scalar(db.select(StaffUser).where(StaffUser.email == normalise_email(email)))


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _checked_password(password: str) -> str:
    try:
        passwords.check_policy(password)
    except passwords.PasswordPolicyError as exc:
        raise StaffError(str(exc)) from None
    return passwords.hash_password(password)


def create_user(email: str, role: Role | str, password: str, *, name: str = "",
                actor: Optional[StaffUser] = None) -> StaffUser:
    """A new active account; refuses a malformed or taken email and a too-short password."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 255:
        raise StaffError(f"{email!r} is not an email address.")
    if find_user(email) is not None:
        raise StaffError("A staff account with this email already exists.")
    user = StaffUser(email=email, name=(name or "").strip()[:200], role=Role(role),
                     password_hash=_checked_password(password), active=True, failed_logins=0,
                     session_nonce=new_nonce())
    db.session.add(user)
    db.session.flush()
    audit(actor, "staff.create", "staff_user", user.id, role=user.role.value)
    return user


def set_password(user: StaffUser, password: str, *, actor: Optional[StaffUser] = None) -> None:
    """Change the password and end every session of the account (the nonce is part of the session id)."""
    user.password_hash = _checked_password(password)
    user.session_nonce = new_nonce()
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    audit(actor, "staff.password", "staff_user", user.id, by_self=actor is not None and actor.id == user.id)


def lock_delay(failures: int) -> Optional[dt.timedelta]:
    """How long an account stays locked after this many failures in a row (None: not locked)."""
    if failures < LOCKOUT_AFTER:
        return None
    return min(LOCKOUT_MAX, LOCKOUT_FIRST * 2 ** min(failures - LOCKOUT_AFTER, 16))


def authenticate(email: str, password: str, now: Optional[dt.datetime] = None, *, client: str = "",
                 device: Optional[str] = None) -> LoginResult:
    """Check a log-in from `client` (a keyed hash of its IP). Two brakes, neither of which a stranger can use to
    keep a staff member out: per client and account name, a delay that doubles with each failure (others'
    clients are not slowed); per account, the lockout after repeated failures from anywhere. A browser that
    logged in to this account before (`device`, its signed cookie) passes both with the right password.
    Every refusal costs the same argon2 work and says the same, so nothing tells which accounts exist."""
    now = now or utcnow()
    key = _throttle_key(client, email)
    user = find_user(email)
    known = user is not None and known_device(user, device)  # e.g. the owner behind the same office NAT
    throttle = None if known else db.session.get(LoginThrottle, key)
    if throttle is not None and (_aware(throttle.blocked_until) or now) > now:
        passwords.burn_time()  # paused: not even checked, and the pause does not grow
        return LoginResult()
    if user is None:
        passwords.burn_time()
        _throttle_failure(key, now)
        return LoginResult()
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now and not known:
        passwords.burn_time()
        _throttle_failure(key, now)
        return LoginResult()
    if not passwords.verify(user.password_hash, password):
        _record_failure(user, now)
        _throttle_failure(key, now)
        return LoginResult()
    if not user.active:
        _throttle_failure(key, now)
        return LoginResult()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    db.session.flush()
    return LoginResult(user=user)


def throttle_delay(failures: int) -> Optional[dt.timedelta]:
    """How long a client waits before its next try on one account name after this many failures in a row."""
    if failures < THROTTLE_FREE:
        return None
    return min(THROTTLE_MAX, THROTTLE_FIRST * 2 ** min(failures - THROTTLE_FREE, 20))


def _throttle_key(client: str, email: str) -> str:
    return _crypto().lookup_hash(f"{client}\x00{normalise_email(email)}", "staff-login-throttle")


def _crypto() -> Any:
    return current_app.extensions["crypto"]


def _throttle_failure(key: str, now: dt.datetime) -> None:
    """Count a failure of this client on this account name (atomically) and pause it when due; failures
    forgotten after THROTTLE_MEMORY are pruned here, so the table stays small."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - THROTTLE_MEMORY)
                       .execution_options(synchronize_session=False))
    if db.session.get(LoginThrottle, key, populate_existing=True) is None:
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=0, updated_at=now))
        except IntegrityError:  # another request of the same client and account inserted it meanwhile
            pass
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                       .values(failures=LoginThrottle.failures + 1, updated_at=now)
                       .execution_options(synchronize_session=False))
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None
    delay = throttle_delay(row.failures)
    row.blocked_until = now + delay if delay is not None else None
    db.session.flush()


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="actionkit.staff.known-device")


def _device_tag(user: StaffUser) -> str:
    """Changes with the password: a new password forgets every browser the account had logged in from."""
    return _crypto().lookup_hash(f"{user.id}\x00{user.password_hash}", "staff-known-device")[:24]


def device_token(user: StaffUser) -> str:
    """The signed cookie value that marks this browser as one the account logged in from."""
    return str(_device_serializer().dumps({"u": user.id, "t": _device_tag(user)}))


def known_device(user: StaffUser, token: Optional[str]) -> bool:
    """Has this browser logged in to this account before (recently, and since the last password change)?"""
    if not token or len(token) > 512:
        return False
    try:
        data = _device_serializer().loads(token, max_age=int(DEVICE_MAX_AGE.total_seconds()))
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("u") == user.id and data.get("t") == _device_tag(user)


def _record_failure(user: StaffUser, now: dt.datetime) -> Optional[dt.datetime]:
    """Count a failure atomically (concurrent attempts each count) and lock the account when due."""
    db.session.execute(update(StaffUser).where(StaffUser.id == user.id)
                       .values(failed_logins=StaffUser.failed_logins + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["failed_logins"])
    delay = lock_delay(user.failed_logins)
    if delay is None:
        return None
    user.locked_until = now + delay
    db.session.flush()
    audit(None, "staff.lockout", "staff_user", user.id, failures=user.failed_logins,
          minutes=int(delay.total_seconds() // 60))
    return user.locked_until


def start_session(user: StaffUser, now: Optional[dt.datetime] = None) -> None:
    """A fresh session id for this log-in: cookies from before it (fixation, theft) no longer load the user."""
    user.session_nonce = new_nonce()
    user.last_login_at = now or utcnow()
    db.session.flush()
    audit(user, "staff.login", "staff_user", user.id)


def end_session(user: StaffUser) -> None:
    """Log-out ends the session everywhere: a copied cookie dies with it."""
    user.session_nonce = new_nonce()
    db.session.flush()


def active_admins() -> int:
    return int(db.session.scalar(db.select(func.count()).select_from(StaffUser)
                                 .where(StaffUser.role == Role.ADMIN, StaffUser.active.is_(True))) or 0)


def update_user(actor: Optional[StaffUser], user: StaffUser, *, role: Role | str | None = None,
                active: Optional[bool] = None) -> dict[str, Any]:
    """Change role or active flag; nobody demotes or deactivates themselves, and one active admin always stays."""
    changes: dict[str, Any] = {}
    new_role = Role(role) if role is not None else user.role
    new_active = user.active if active is None else bool(active)
    if new_role is user.role and new_active == user.active:
        return changes
    if actor is not None and actor.id == user.id:
        raise StaffError("You cannot change your own role or deactivate yourself; ask another admin.")
    losing_admin = user.role is Role.ADMIN and user.active and (new_role is not Role.ADMIN or not new_active)
    if losing_admin and active_admins() <= 1:
        raise StaffError("This is the last active admin; make someone else admin first.")
    if new_role is not user.role:
        changes["role"] = [user.role.value, new_role.value]
        user.role = new_role
    if new_active != user.active:
        changes["active"] = [user.active, new_active]
        user.active = new_active
        if not new_active:
            user.session_nonce = new_nonce()
    db.session.flush()
    audit(actor, "staff.update", "staff_user", user.id, **changes)
    return changes


def unlock(actor: Optional[StaffUser], user: StaffUser) -> None:
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    audit(actor, "staff.unlock", "staff_user", user.id)


def is_locked(user: StaffUser, now: Optional[dt.datetime] = None) -> bool:
    locked_until = _aware(user.locked_until)
    return locked_until is not None and locked_until > (now or utcnow())


def list_users() -> list[StaffUser]:
    return list(db.session.scalars(db.select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.email)))


# --- the audit log --------------------------------------------------------------------------------------------

def audit(actor: Optional[StaffUser], action: str, target_type: Optional[str] = None,
          target_id: Any = None, **details: Any) -> AuditEntry:
    """Record who did what to which record (actor None: the system or the CLI). Never pass personal data."""
    entry = AuditEntry(actor_id=actor.id if actor is not None else None, action=action, target_type=target_type,
                       target_id=None if target_id is None else str(target_id), details=details)
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_log(page: int = 1, per_page: int = 50, action: Optional[str] = None,
              actor_id: Optional[int] = None) -> tuple[list[AuditEntry], int]:
    """One page of the log, newest first, optionally only actions starting with `action` or by one actor."""
    where = []
    if action:
        where.append(AuditEntry.action.startswith(action, autoescape=True))
    if actor_id:
        where.append(AuditEntry.actor_id == actor_id)
    total = int(db.session.scalar(db.select(func.count()).select_from(AuditEntry).where(*where)) or 0)
    entries = db.session.scalars(
        db.select(AuditEntry).where(*where).options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(entries), total


def audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


# --- settings -------------------------------------------------------------------------------------------------

def get_setting(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, key)
    return default if row is None else (row.value or {}).get("value", default)


def set_setting(actor: Optional[StaffUser], key: str, value: Any) -> Any:
    """Store a setting and audit the change; returns the old value."""
    row = db.session.get(Setting, key)
    old = None if row is None else (row.value or {}).get("value")
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = {"value": value}
    row.updated_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit(actor, f"settings.{key}", "setting", key, old=old, new=value)
    return old


def retention_days() -> float:
    """Days addresses are kept after delivery: the admins' setting, else ACTIONKIT_RETENTION_DAYS, else 30."""
    stored = get_setting(RETENTION_KEY)
    if stored is not None:
        return float(stored)
    return float(current_app.config.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def set_retention_days(actor: Optional[StaffUser], days: int) -> None:
    low, high = RETENTION_RANGE
    if not low <= int(days) <= high:
        raise StaffError(f"Retention must be between {low} and {high} days.")
    set_setting(actor, RETENTION_KEY, int(days))


# --- the embedded demo ----------------------------------------------------------------------------------------

def demo_admin(instance: Path) -> tuple[StaffUser, Optional[str]]:
    """The demo's admin@example.org: (user, password when just created). The password lives in
    instance/demo-admin-password (mode 600), so re-creating the database keeps the same log-in."""
    if not current_app.config["EMBEDDED"]:
        raise StaffError("The demo admin exists only in the embedded demo; use `flask staff create`.")
    user = find_user(DEMO_ADMIN_EMAIL)
    if user is not None:
        return user, None
    path = instance / DEMO_PASSWORD_FILE
    password = path.read_text().strip() if path.exists() else ""
    if len(password) < passwords.MIN_LENGTH:
        password = passwords.generate_password()
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
    user = create_user(DEMO_ADMIN_EMAIL, Role.ADMIN, password, name="Demo admin")
    return user, password
