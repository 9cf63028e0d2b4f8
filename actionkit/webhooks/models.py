"""Webhook endpoints (generic Standard Webhooks receivers, or Action Network) and the outbox of their messages."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum
from actionkit.extensions import db
from actionkit.privacy.crypto import EncryptedText


class EndpointKind(str, enum.Enum):
    WEBHOOK = "webhook"  # POSTs signed per the Standard Webhooks specification
    ACTION_NETWORK = "action_network"  # consenting supporters through Action Network's person signup helper


class WebhookEndpoint(TimestampMixin, db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[EndpointKind] = mapped_column(str_enum(EndpointKind), default=EndpointKind.WEBHOOK)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(EncryptedText)  # whsec_… signing secret, or the Action Network API key
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # personal fields it may receive (consenting only)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MessageStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # gave up (permanent refusal, or too many tries): staff can replay it


class WebhookMessage(TimestampMixin, db.Model):
    """One event for one endpoint: written in the transaction of the change it reports, then sent."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)  # webhook-id: receivers deduplicate on it
    payload: Mapped[str] = mapped_column(EncryptedText)  # JSON; may hold a consenting supporter's fields
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[Optional[int]] = mapped_column(Integer)
    last_response: Mapped[Optional[str]] = mapped_column(Text)  # the start of the receiver's answer
    last_error: Mapped[Optional[str]] = mapped_column(String(500))

    endpoint: Mapped[WebhookEndpoint] = relationship()
