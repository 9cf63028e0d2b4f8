"""Personal API tokens of staff users."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum
from actionkit.extensions import db
from actionkit.staff.models import Role, StaffUser


class ApiToken(TimestampMixin, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to recognise it in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC of the token; the token is not kept
    role: Mapped[Role] = mapped_column(str_enum(Role))  # at most the owner's role, checked again on every use
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    user: Mapped[StaffUser] = relationship()
