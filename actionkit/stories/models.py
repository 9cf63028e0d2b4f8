"""A supporter's story: the text as written (encrypted, for moderators and then admins only, for the retention
period), the published copy an editor redacted, and the consent the storyteller gave. No IP address, no account."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum
from actionkit.extensions import db
from actionkit.officials.models import Division
from actionkit.privacy.crypto import EncryptedText


class Consent(str, enum.Enum):
    PRIVATE = "private"  # only the organizers may read it
    ANONYMOUS = "anonymous"  # may be published without a name
    NAMED = "named"  # may be published with the first name given and the county

    @property
    def rank(self) -> int:
        return {"private": 0, "anonymous": 1, "named": 2}[self.value]


class StoryStatus(str, enum.Enum):
    NEW = "new"  # waiting for a moderator; never public
    APPROVED = "approved"  # published
    REJECTED = "rejected"


class Story(TimestampMixin, db.Model):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[StoryStatus] = mapped_column(str_enum(StoryStatus), default=StoryStatus.NEW, index=True)
    consent: Mapped[Consent] = mapped_column(str_enum(Consent))  # what the storyteller allowed
    published_consent: Mapped[Optional[Consent]] = mapped_column(str_enum(Consent))  # what a moderator chose
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[Optional[str]] = mapped_column(EncryptedText)  # as written; erased after retention
    published_text: Mapped[Optional[str]] = mapped_column(EncryptedText)  # the redacted copy the public sees
    name: Mapped[Optional[str]] = mapped_column(EncryptedText)  # first name or pseudonym, optional
    county_id: Mapped[Optional[int]] = mapped_column(ForeignKey("divisions.id"))
    email: Mapped[Optional[str]] = mapped_column(EncryptedText)  # optional: to delete or be contacted
    contact_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC of the code shown once
    email_token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)  # HMAC of the e-mailed link's
    receipt_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))  # send-once claim
    kept: Mapped[bool] = mapped_column(Boolean, default=False)  # an admin keeps it past the retention period
    moderated_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    moderated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    published_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    original_erased_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    county: Mapped[Optional[Division]] = relationship()

    @property
    def public_name(self) -> Optional[str]:
        """The name shown with a published story: only at the 'named' level."""
        return self.name if self.published_consent is Consent.NAMED else None

    @property
    def public_county(self) -> Optional[str]:
        return self.county.name if self.published_consent is Consent.NAMED and self.county else None
