"""Supporters, their actions on a campaign, the letters written for each official, and the inbox of signatures
the worker has not recorded yet.

Personal data is encrypted at rest (EncryptedText) and emails are found by keyed hash; county and
districts stay in clear for stats. Street address and phone are purged after delivery + retention.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.sql import false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.campaigns.models import Campaign
from actionkit.db import TimestampMixin, str_enum
from actionkit.extensions import db
from actionkit.officials.models import Division, Office, Official
from actionkit.privacy.crypto import EncryptedText


class Supporter(TimestampMixin, db.Model):
    """A person who acted, found again by the HMAC of their email; nothing identifying in clear."""

    __tablename__ = "supporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[Optional[str]] = mapped_column(EncryptedText)  # None once deleted at their request
    first_name: Mapped[Optional[str]] = mapped_column(EncryptedText)
    last_name: Mapped[Optional[str]] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8), default="en")
    opt_in: Mapped[bool] = mapped_column(Boolean, default=False)  # may the organisation write again
    # The phone given with the consent (a Consent row says when and in which words); kept only while opt_in.
    phone: Mapped[Optional[str]] = mapped_column(EncryptedText)
    deleted_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    actions: Mapped[list["Action"]] = relationship(back_populates="supporter")


class ConsentWording(TimestampMixin, db.Model):
    """One version of the exact words a supporter agreed to when ticking "organizers may contact me";
    never edited (a changed wording is a new row), so the consented list can show what each person agreed to."""

    __tablename__ = "consent_wordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of lang + text
    lang: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(1000))


class Consent(TimestampMixin, db.Model):
    """One "organizers may contact me" given by a supporter (created_at: when), in which words and on which
    campaign; withdrawn_at once they take it back. Supporter.opt_in is true while one is not withdrawn."""

    __tablename__ = "supporter_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    wording_id: Mapped[int] = mapped_column(ForeignKey("consent_wordings.id"))
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))
    withdrawn_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    supporter: Mapped[Supporter] = relationship()
    wording: Mapped[ConsentWording] = relationship()


class MatchAccuracy(str, enum.Enum):
    ROOFTOP = "rooftop"
    STREET = "street"
    ZIP = "zip"
    POINT = "point"
    NONE = "none"


class Action(TimestampMixin, db.Model):
    """One supporter's signature on one campaign: the address it was matched from and the letters it sent."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "supporter_id"),
        Index("ix_actions_campaign_created", "campaign_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC of the thank-you page token
    language: Mapped[str] = mapped_column(String(8), default="en")
    # Address, encrypted; purged (set to None) once every delivery is final and retention has passed.
    street: Mapped[Optional[str]] = mapped_column(EncryptedText)
    city: Mapped[Optional[str]] = mapped_column(EncryptedText)
    zip: Mapped[Optional[str]] = mapped_column(EncryptedText)
    phone: Mapped[Optional[str]] = mapped_column(EncryptedText)
    # The title Congress's CWC requires (asked only when a letter goes through CWC; None = the neutral choice).
    cwc_title: Mapped[Optional[str]] = mapped_column(EncryptedText)
    address_purged_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # Kept in clear for stats: the county and the districts the address matched.
    state: Mapped[str] = mapped_column(String(2))
    county_id: Mapped[Optional[int]] = mapped_column(ForeignKey("divisions.id"), index=True)
    division_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # OCD ids
    accuracy: Mapped[MatchAccuracy] = mapped_column(str_enum(MatchAccuracy), default=MatchAccuracy.NONE)
    pending_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # office types awaiting a match
    # The supporter's own paragraph, kept (encrypted) only while office types wait for a match, so the letters
    # written later carry it too; erased once they are written, at deletion and at the address purge.
    personal_paragraph: Mapped[Optional[str]] = mapped_column(EncryptedText)
    is_returning: Mapped[bool] = mapped_column(Boolean, default=False)  # supporter had acted before
    source: Mapped[Optional[str]] = mapped_column(String(40), index=True)  # ?source= / utm_* code, never a URL
    # The confirmation e-mail carries its own unguessable token (stored only as its HMAC, like token_hash),
    # minted by the task that sends it; confirmation_sent_at is that task's claim, so it sends once.
    email_token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    confirmation_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # When the owner was last told by e-mail that someone signed again with their address (at most once a day).
    repeat_notice_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    campaign: Mapped[Campaign] = relationship()
    supporter: Mapped[Supporter] = relationship(back_populates="actions")
    county: Mapped[Optional[Division]] = relationship()
    letters: Mapped[list["Letter"]] = relationship(back_populates="action", order_by="Letter.id")


class Letter(TimestampMixin, db.Model):
    """The text sent to one office for one action, as rendered at signing (never re-rendered)."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("action_id", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    official_id: Mapped[Optional[int]] = mapped_column(ForeignKey("officials.id"), index=True)
    office_type: Mapped[str] = mapped_column(String(32), index=True)  # denormalised for stats
    addressed_to: Mapped[str] = mapped_column(String(255))  # the name as addressed, kept through changes
    office_title: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)

    action: Mapped[Action] = relationship(back_populates="letters")
    office: Mapped[Office] = relationship()
    official: Mapped[Optional[Official]] = relationship()
    delivery: Mapped[Optional["Delivery"]] = relationship(back_populates="letter", uselist=False)  # noqa: F821


class SubmissionStatus(str, enum.Enum):
    AWAITING = "awaiting"  # signed on a campaign that checks e-mail addresses: waits for the link to be opened
    EXPIRED = "expired"  # the link was never opened; the payload is erased
    RECEIVED = "received"  # signed (and confirmed where asked); the worker has not recorded it yet
    RECORDED = "recorded"  # supporter, action, letters and deliveries written (action_id)
    DUPLICATE = "duplicate"  # this e-mail had already signed the campaign: nothing recorded; the owner is told
    FAILED = "failed"  # could not be recorded after several tries; the payload is erased


class Submission(TimestampMixin, db.Model):
    """A signature as the sign request accepted it: one INSERT, recorded into supporter, action, letters and
    deliveries by the letters.process_submission task, which then erases the payload.

    Every signature is accepted the same way, whether or not its e-mail signed before (the answer must not tell
    anyone that): the worker finds a repeat (supporter and action are unique per e-mail and campaign), records
    nothing and e-mails the owner instead. email_hash is cleared when the supporter deletes their data or the
    submission fails. token_hash is the HMAC of the thank-you page token; the action takes it over.
    On campaigns that confirm e-mail addresses it starts AWAITING: confirm_token_hash is the HMAC of the link's
    token, and it becomes RECEIVED when the link is opened (confirmed_at) or EXPIRED, erased, when it is not.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_campaign_email", "campaign_id", "email_hash"),
        Index("ix_submissions_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    email_hash: Mapped[Optional[str]] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # JSON of the signer, the matched plan and the supporter's choices, encrypted; None once processed.
    payload: Mapped[Optional[str]] = mapped_column(EncryptedText)
    status: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus), default=SubmissionStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    action_id: Mapped[Optional[int]] = mapped_column(ForeignKey("actions.id"), unique=True)
    processed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    email_check: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confirm_token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    confirm_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # The office ids the signer chose, for the receipt the sign redirect's page shows (the same for a first and a
    # repeat signature); no name, no address. Erased by the retention purge.
    office_ids: Mapped[Optional[list[int]]] = mapped_column(JSON)

    action: Mapped[Optional[Action]] = relationship()


class CallOutcome(str, enum.Enum):
    TALKED = "talked"  # talked to staff (or the official)
    VOICEMAIL = "voicemail"  # left a voicemail
    NO_ANSWER = "no_answer"  # busy or no answer


class CallReport(db.Model):
    """One call a supporter reported. Deliberately only (campaign, office, outcome, day, language): no supporter,
    no phone number, no IP, no time of day, so a report cannot be tied to a person or a signature."""

    __tablename__ = "call_reports"
    __table_args__ = (Index("ix_call_reports_campaign_office", "campaign_id", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    outcome: Mapped[CallOutcome] = mapped_column(str_enum(CallOutcome))
    day: Mapped[dt.date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(8))
