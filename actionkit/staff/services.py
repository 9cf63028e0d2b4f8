"""Staff accounts, log-in with lockout, the audit log and run-time settings: plain functions that flush only."""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from flask import current_app
from sqlalchemy import func, update
from sqlalchemy.orm import joinedload

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.staff import passwords
from actionkit.staff.models import AuditEntry, Role, Setting, StaffUser

LOCKOUT_AFTER = 5  # failures in a row before the first lock
LOCKOUT_FIRST = dt.timedelta(minutes=1)  # then 1, 2, 4, 8 … minutes per further failure
LOCKOUT_MAX = dt.timedelta(hours=1)
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
    """The user when the password was right; locked_until when the account is (now) locked."""

    user: Optional[StaffUser] = None
    locked_until: Optional[dt.datetime] = None

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


def authenticate(email: str, password: str, now: Optional[dt.datetime] = None) -> LoginResult:
    """Check a log-in. Unknown emails, locked and inactive accounts cost the same argon2 work as a wrong
    password, so timing does not tell which emails exist. A right password upgrades an outdated hash."""
    now = now or utcnow()
    user = find_user(email)
    if user is None:
        passwords.burn_time()
        return LoginResult()
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        passwords.burn_time()
        return LoginResult(locked_until=locked_until)
    if not passwords.verify(user.password_hash, password):
        return LoginResult(locked_until=_record_failure(user, now))
    if not user.active:
        return LoginResult()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    return LoginResult(user=user)


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
