"""The delivery outbox: one row per letter, written in the same transaction as the letter."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum, utcnow
from actionkit.extensions import db

if TYPE_CHECKING:
    from actionkit.letters.models import Letter


class Channel(str, enum.Enum):
    EMAIL = "email"
    PRINT = "print"
    DIGEST = "digest"  # email, but collected into one message a day for offices that asked for it
    CWC = "cwc"
    WEBHOOK = "webhook"
    POSTAL = "postal"  # printed and mailed by a print-and-mail API (Lob)
    FAX = "fax"  # through the organisation's fax provider (a signed webhook)


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a task until lease_expires_at
    SENT = "sent"
    FAILED = "failed"  # permanent error; staff may retry
    DEAD = "dead"  # too many attempts or too old; staff may retry
    HELD = "held"  # held for review (e.g. no usable channel, or target awaiting a match)
    CANCELLED = "cancelled"  # the supporter deleted their data before it was sent; never retried
    EXPIRED = "expired"  # not delivered within the retention period; its address data was purged


FINAL_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.CANCELLED,
                  DeliveryStatus.EXPIRED)


class Delivery(TimestampMixin, db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_deliveries_destination_sent", "destination", "sent_at"),
        Index("ix_deliveries_provider_ref", "provider_ref"),  # providers' callbacks find their letter
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), index=True)
    destination: Mapped[Optional[str]] = mapped_column(String(255))  # official's address/endpoint (public)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_expires_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[Optional[str]] = mapped_column(Text)  # classified reason, never personal data
    provider_ref: Mapped[Optional[str]] = mapped_column(String(255))  # Message-ID, batch id, CWC id
    # One line per channel the chain skipped or left ("email: no address", "cwc failed: ..."), oldest first;
    # staff read it in the monitor. No personal data.
    channel_notes: Mapped[Optional[str]] = mapped_column(Text)
    # Where a letter handed to a provider is now, from its signed callbacks: mailed, in_transit, delivered,
    # returned (postal); delivered, failed (fax). None for channels without tracking.
    tracking: Mapped[Optional[str]] = mapped_column(String(32))
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    final_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # When the sweeper last published a task for the row (cleared by the claim): stops it re-publishing a
    # row whose task is still waiting in the queue.
    queued_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # Start of the dead-letter deadline: set by the first claim, cleared when staff retry.
    first_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    letter: Mapped["Letter"] = relationship(back_populates="delivery")


class PrintBatch(TimestampMixin, db.Model):
    """One PDF of an office's pending letters, for hand delivery; its id is each letter's provider_ref."""

    __tablename__ = "print_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    letter_count: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))  # the download name; stored as <file_name>.enc
    sha256: Mapped[str] = mapped_column(String(64))  # of the PDF as last written (rewritten after a deletion)
    # When the file was deleted (retention period over, or nobody left in it after deletions).
    purged_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))


class DigestOffice(TimestampMixin, db.Model):
    """An office that asked for one email a day with all its letters instead of one email per letter."""

    __tablename__ = "digest_offices"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    last_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))


class CwcOffice(db.Model):
    """One office on a chamber's active-office list of CWC, refreshed daily (never fetched per letter): the
    Senate's codes are read from it, matched by the senator's bioguide id, else by state and class."""

    __tablename__ = "cwc_offices"
    __table_args__ = (UniqueConstraint("chamber", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chamber: Mapped[str] = mapped_column(String(8))  # house, senate
    code: Mapped[str] = mapped_column(String(16))
    state: Mapped[Optional[str]] = mapped_column(String(2), index=True)  # lower-case postal code
    seat: Mapped[Optional[str]] = mapped_column(String(4))  # Senate class "1"/"2"/"3" when the list gives it
    bioguide_id: Mapped[Optional[str]] = mapped_column(String(16))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
