"""Campaigns: what supporters are asked to do, who they write to, and the letter templates."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, true
from sqlalchemy.sql import false
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from actionkit.db import TimestampMixin, str_enum
from actionkit.extensions import db
from actionkit.officials.models import OfficeType

LANGUAGES = ("en", "es")


# The Library of Congress policy areas (congress.gov's list): the topics of a campaign's letters to Congress,
# sent as CWC's LibraryOfCongressTopic.
LOC_TOPICS = (
    "Agriculture and Food", "Animals", "Armed Forces and National Security", "Arts, Culture, Religion",
    "Civil Rights and Liberties, Minority Issues", "Commerce", "Congress", "Crime and Law Enforcement",
    "Economics and Public Finance", "Education", "Emergency Management", "Energy", "Environmental Protection",
    "Families", "Finance and Financial Sector", "Foreign Trade and International Finance",
    "Government Operations and Politics", "Health", "Housing and Community Development", "Immigration",
    "International Affairs", "Labor and Employment", "Law", "Native Americans",
    "Public Lands and Natural Resources", "Science, Technology, Communications", "Social Sciences and History",
    "Social Welfare", "Sports and Recreation", "Taxation", "Transportation and Public Works",
    "Water Resources Development",
)


class CampaignStatus(str, enum.Enum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class Personalisation(str, enum.Enum):
    LOCKED = "locked"  # the letter is sent as written by staff
    PARAGRAPH = "paragraph"  # the supporter may add a personal paragraph
    EDITABLE = "editable"  # the supporter may rewrite the body


class CampaignMode(str, enum.Enum):
    LETTERS = "letters"  # supporters sign letters
    CALLS = "calls"  # supporters call their officials from their own phone (no letters)
    BOTH = "both"  # letters, with the call page offered beside them


class Campaign(TimestampMixin, db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(2))  # lower-case postal code of the campaign's state
    status: Mapped[CampaignStatus] = mapped_column(str_enum(CampaignStatus), default=CampaignStatus.DRAFT,
                                                   index=True)
    personalisation: Mapped[Personalisation] = mapped_column(str_enum(Personalisation),
                                                             default=Personalisation.PARAGRAPH)
    target_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # OfficeType values
    letter_language: Mapped[str] = mapped_column(String(8), default="en")  # language officials receive
    goal: Mapped[Optional[int]] = mapped_column(Integer)
    starts_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    # Letters wait (encrypted, in the submissions inbox) until the supporter opens the link e-mailed to them;
    # off by default. Unconfirmed signatures expire and are erased (ACTIONKIT_EMAIL_CONFIRMATION_DAYS).
    confirm_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What letters to Congress carry through CWC: Library of Congress policy areas, the organisation's statement,
    # and whether offices are asked to reply (None: the organisation's default, ACTIONKIT_CWC__*).
    cwc_topics: Mapped[Optional[list[str]]] = mapped_column(JSON, default=lambda: ["Immigration"])
    cwc_statement: Mapped[Optional[str]] = mapped_column(Text)
    cwc_response_requested: Mapped[Optional[bool]] = mapped_column(Boolean)
    # The organizer's toolkit: ask "may the organizers contact me" (and the phone with it); the https origins
    # allowed to frame /act/<slug>/embed; the share card image (re-encoded PNG/JPEG, loaded only when served).
    ask_consent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    embed_origins: Mapped[Optional[list[str]]] = mapped_column(JSON)
    share_image: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    share_image_type: Mapped[Optional[str]] = mapped_column(String(20))
    mode: Mapped[CampaignMode] = mapped_column(str_enum(CampaignMode), default=CampaignMode.LETTERS,
                                               server_default=CampaignMode.LETTERS.value)

    texts: Mapped[list["CampaignText"]] = relationship(back_populates="campaign", cascade="all, delete-orphan",
                                                       order_by="CampaignText.lang")
    templates: Mapped[list["LetterTemplate"]] = relationship(back_populates="campaign",
                                                             cascade="all, delete-orphan",
                                                             order_by="(LetterTemplate.office_type, LetterTemplate.lang)")
    call_scripts: Mapped[list["CallScript"]] = relationship(back_populates="campaign", cascade="all, delete-orphan",
                                                            order_by="(CallScript.office_type, CallScript.lang)")

    @property
    def office_types(self) -> list[OfficeType]:
        return [OfficeType(t) for t in self.target_types]

    def text(self, lang: str) -> "CampaignText":
        """The campaign's text in lang, falling back to English, then to any language."""
        by_lang = {t.lang: t for t in self.texts}
        return by_lang.get(lang) or by_lang.get("en") or next(iter(by_lang.values()))

    def template(self, office_type: OfficeType | str, lang: str) -> Optional["LetterTemplate"]:
        kind = OfficeType(office_type).value
        by_key = {(t.office_type, t.lang): t for t in self.templates}
        return by_key.get((kind, lang)) or by_key.get((kind, "en"))

    @property
    def takes_letters(self) -> bool:
        return self.mode is not CampaignMode.CALLS

    @property
    def takes_calls(self) -> bool:
        return self.mode is not CampaignMode.LETTERS

    def call_script(self, office_type: OfficeType | str, lang: str) -> Optional["CallScript"]:
        """The script for calling this office type in the supporter's language, falling back to English."""
        kind = OfficeType(office_type).value
        by_key = {(t.office_type, t.lang): t for t in self.call_scripts}
        return by_key.get((kind, lang)) or by_key.get((kind, "en"))


class CampaignText(db.Model):
    """Title, summary and body of a campaign in one language."""

    __tablename__ = "campaign_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # The confirmation e-mail as staff wrote it (sandboxed template; None: the default). Its status, deletion
    # and withdrawal links are always appended by the sender, never part of this text.
    email_subject: Mapped[Optional[str]] = mapped_column(String(300))
    email_body: Mapped[Optional[str]] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="texts")


class LetterTemplate(TimestampMixin, db.Model):
    """Subject and body (sandboxed Jinja) for one office type in one language."""

    __tablename__ = "letter_templates"
    __table_args__ = (UniqueConstraint("campaign_id", "office_type", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    office_type: Mapped[str] = mapped_column(String(32))  # OfficeType value
    lang: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="templates")


class CallScript(TimestampMixin, db.Model):
    """What a supporter says when calling one office type, in one language (sandboxed Jinja, as letters)."""

    __tablename__ = "call_scripts"
    __table_args__ = (UniqueConstraint("campaign_id", "office_type", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    office_type: Mapped[str] = mapped_column(String(32))  # OfficeType value
    lang: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="call_scripts")
