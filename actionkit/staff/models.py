"""Staff accounts, roles and the audit log of what staff did."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum, utcnow
from actionkit.extensions import db


class Role(str, enum.Enum):
    VIEWER = "viewer"  # participation stats only, never personal data
    EDITOR = "editor"  # campaigns, officials, delivery retries
    ADMIN = "admin"  # everything: staff accounts, exports with personal data, retention

    @property
    def rank(self) -> int:
        return {"viewer": 1, "editor": 2, "admin": 3}[self.value]

    def allows(self, needed: "Role") -> bool:
        return self.rank >= needed.rank


class StaffUser(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)  # staff work address (not a supporter's)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.VIEWER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # Changes on every login and password change; part of the Flask-Login id so old sessions die.
    session_nonce: Mapped[str] = mapped_column(String(64), default="")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active


class AuditEntry(db.Model):
    """Who did what to which record; personal data never goes in `details`."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))  # e.g. campaign.update, official.update, export.actions
    target_type: Mapped[Optional[str]] = mapped_column(String(64))
    target_id: Mapped[Optional[str]] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[Optional[StaffUser]] = relationship()


class Setting(db.Model):
    """A setting admins change at run time (e.g. how long addresses are kept); every change is audited."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)  # {"value": ...}: JSON columns want a container
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))


class LoginThrottle(db.Model):
    """Failed log-ins of one client (the keyed hash of its IP) on one account name, whether the account exists or
    not: the delay before that pair may try again grows with each failure. Keyed by an HMAC; nothing personal."""

    __tablename__ = "staff_login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
