"""Stories: submit, moderate (redact, approve at the consent given or lower, reject, feature), delete by the
storyteller's code, and erase what the retention period no longer covers. Plain functions: flush, never commit.
The story's text, name and e-mail never go into logs or audit details; only ids and counts do."""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, func, select, update

from actionkit.campaigns.models import Campaign
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials.models import Division, DivisionType
from actionkit.privacy.crypto import crypto
from actionkit.stories.models import Consent, Story, StoryStatus

log = logging.getLogger(__name__)

MAX_TEXT = 5000
MAX_NAME = 60
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud and copy
CODE_GROUPS = 3
FEATURED_ON_CAMPAIGN_PAGE = 3


class StoryError(Exception):
    """A moderation step was refused; the message is for staff."""


@dataclass(frozen=True)
class Hint:
    """A likely identifying detail for the moderator: its kind and where it is in the text."""

    kind: str
    start: int
    end: int
    excerpt: str


# Likely identifying details. The moderator decides; these only point.
_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("A-number (alien registration number)",
     re.compile(r"\b[Aa][-\s#]?(?:\d{3}[-\s]?\d{3}[-\s]?\d{3}|\d{8,9})\b")),
    ("phone number", re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?![\w-])")),
    ("street address", re.compile(
        r"\b\d{1,6}\s+(?:[A-Za-zÁÉÍÓÚÑáéíóúñ0-9.]+\s+){0,4}(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|"
        r"boulevard|blvd|highway|hwy|court|ct|circle|cir|parkway|pkwy|place|pl|way|trail|calle|avenida|camino)\b\.?",
        re.IGNORECASE)),
    ("street address", re.compile(r"\b(?:calle|avenida|camino)\s+[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+(?:\s+\d{1,6})?\b")),
    ("workplace", re.compile(
        r"\b(?:work(?:s|ed|ing)?\s+(?:at|for)|employed\s+(?:at|by)|my\s+(?:boss|employer)\s+at|"
        r"trabaj(?:o|a|aba|amos|an|é)\s+(?:en|para))\s+((?:the\s+|la\s+|el\s+)?[A-Z0-9][\w&'’.-]*(?:\s+[A-Z0-9&][\w&'’.-]*){0,4})")),
    ("workplace", re.compile(
        r"\b[A-Z][\w&'’-]*(?:\s+[A-Z][\w&'’-]*){0,3}\s+(?:Inc|LLC|Corp|Co|Company|Foods|Poultry|Farms?|Plant|"
        r"Restaurant|Construction)\b\.?")),
    ("ZIP code", re.compile(r"\b(?:MS|Mississippi)\s+\d{5}(?:-\d{4})?\b")),
)


def hints(text: str) -> list[Hint]:
    """Spans of the text that look like identifying details (overlaps merged, in reading order)."""
    found: list[Hint] = []
    for kind, pattern in _HINTS:
        for m in pattern.finditer(text or ""):
            start, end = (m.start(1), m.end(1)) if kind == "workplace" and m.lastindex else (m.start(), m.end())
            if any(h.start < end and start < h.end for h in found):
                continue
            found.append(Hint(kind, start, end, text[start:end]))
    return sorted(found, key=lambda h: h.start)


def clean_text(text: str) -> str:
    """Plain text as typed: line ends normalised, control characters (but newlines and tabs) dropped, trimmed."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def new_code() -> str:
    """A deletion code like 'K7QM2-3TXAP-W9RHB' (about 74 bits), shown once; only its HMAC is stored."""
    groups = ["".join(secrets.choice(CODE_ALPHABET) for _ in range(5)) for _ in range(CODE_GROUPS)]
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """What a person types (spaces or no dashes, lower case) back to the canonical code."""
    raw = re.sub(r"[^A-Za-z0-9]", "", code or "").upper()
    if len(raw) != 5 * CODE_GROUPS:
        return ""
    return "-".join(raw[i:i + 5] for i in range(0, len(raw), 5))


def _code_hash(code: str) -> str:
    return crypto().lookup_hash(code, "story-delete")


def counties(state: str) -> list[tuple[int, str]]:
    """(id, name) of the state's counties, for the optional county field."""
    rows = db.session.execute(select(Division.id, Division.name).where(
        Division.type == DivisionType.COUNTY, Division.state == state).order_by(Division.name))
    return [(r.id, r.name) for r in rows]


def submit(campaign: Campaign, *, text: str, consent: Consent, language: str, name: str = "",
           county_id: Optional[int] = None, email: str = "", contact_ok: bool = False) -> tuple[Story, str]:
    """Store a new story (never public until a moderator approves it); returns it and its deletion code."""
    if county_id is not None:
        county = db.session.get(Division, county_id)
        if county is None or county.type is not DivisionType.COUNTY or county.state != campaign.state:
            county_id = None
    code = new_code()
    story = Story(campaign_id=campaign.id, text=clean_text(text), consent=consent, language=language,
                  name=(name or "").strip() or None, county_id=county_id, email=(email or "").strip() or None,
                  contact_ok=bool(email and contact_ok),
                  delete_code_hash=_code_hash(code))
    db.session.add(story)
    db.session.flush()
    log.info("story %s received for campaign %s", story.id, campaign.id)
    return story, code


def find_by_code(code: str) -> Optional[Story]:
    canonical = normalise_code(code)
    if not canonical:
        return None
    return db.session.scalar(select(Story).where(Story.delete_code_hash == _code_hash(canonical)))


def delete_by_storyteller(story: Story) -> None:
    """The storyteller's own deletion: the row goes, published or not."""
    story_id = story.id
    db.session.delete(story)
    db.session.flush()
    log.info("story %s deleted by its storyteller", story_id)


def allowed_levels(story: Story) -> list[Consent]:
    """The publication levels a moderator may choose: at most what the storyteller allowed, never private."""
    return [c for c in (Consent.ANONYMOUS, Consent.NAMED) if c.rank <= story.consent.rank]


def approve(story: Story, level: Consent, published_text: str, actor_id: Optional[int],
            now: Optional[dt.datetime] = None) -> dict[str, object]:
    """Publish the redacted copy at `level`; refuses a level above the consent given. Returns audit details
    (counts, no text)."""
    if story.status is StoryStatus.APPROVED and story.published_consent is level \
            and story.published_text == clean_text(published_text):
        return {}
    if story.consent is Consent.PRIVATE:
        raise StoryError("This storyteller asked that only the organizers read it: it cannot be published.")
    if level not in allowed_levels(story):
        raise StoryError(f"The storyteller allowed publication only as “{story.consent.value}”; "
                         f"“{level.value}” would go further than they agreed.")
    published = clean_text(published_text)
    if not published:
        raise StoryError("The published text is empty. Redact details, not the whole story, or reject it.")
    if len(published) > MAX_TEXT:
        raise StoryError(f"The published text is longer than {MAX_TEXT:,} characters.")
    now = now or utcnow()
    original = story.text or story.published_text or ""
    story.published_text = published
    story.published_consent = level
    story.status = StoryStatus.APPROVED
    story.published_at = story.published_at or now
    story.moderated_at, story.moderated_by_id = now, actor_id
    db.session.flush()
    return {"level": level.value, "redacted": published != original,
            "chars_removed": max(0, len(original) - len(published))}


def reject(story: Story, actor_id: Optional[int], now: Optional[dt.datetime] = None) -> None:
    """Not published (and unpublished if it was); the retention purge erases it later."""
    now = now or utcnow()
    story.status = StoryStatus.REJECTED
    story.featured = False
    story.published_text = None
    story.published_consent = None
    story.published_at = None
    story.moderated_at, story.moderated_by_id = now, actor_id
    db.session.flush()


def set_featured(story: Story, featured: bool) -> None:
    if featured and story.status is not StoryStatus.APPROVED:
        raise StoryError("Only a published story can be featured.")
    story.featured = featured
    db.session.flush()


def set_kept(story: Story, kept: bool) -> None:
    """An admin keeps an unpublished story (or a published story's original) past the retention period."""
    story.kept = kept
    db.session.flush()


def moderation_queue(status: Optional[StoryStatus] = StoryStatus.NEW, campaign_id: Optional[int] = None,
                     limit: int = 200) -> list[Story]:
    where = []
    if status is not None:
        where.append(Story.status == status)
    if campaign_id:
        where.append(Story.campaign_id == campaign_id)
    return list(db.session.scalars(select(Story).where(*where).order_by(Story.created_at.desc(), Story.id.desc())
                                   .limit(limit)))


def counts_by_status() -> dict[str, int]:
    rows = db.session.execute(select(Story.status, func.count()).group_by(Story.status)).all()
    return {status.value: n for status, n in rows}


def published(campaign: Campaign, *, featured_only: bool = False, limit: Optional[int] = None) -> list[Story]:
    """Approved stories of a campaign, newest first."""
    stmt = select(Story).where(Story.campaign_id == campaign.id, Story.status == StoryStatus.APPROVED)
    if featured_only:
        stmt = stmt.where(Story.featured.is_(True))
    stmt = stmt.order_by(Story.featured.desc(), Story.published_at.desc(), Story.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def published_story(campaign: Campaign, story_id: int) -> Optional[Story]:
    story = db.session.get(Story, story_id)
    if story is None or story.campaign_id != campaign.id or story.status is not StoryStatus.APPROVED:
        return None
    return story


def purge_expired(keep: dt.timedelta, now: Optional[dt.datetime] = None) -> tuple[int, int]:
    """Past the retention period: unpublished stories (new or rejected) are deleted unless an admin keeps them;
    a published story keeps only what is published (its original text and e-mail go, and its name and county
    too when it is published without them). Returns (deleted, trimmed)."""
    now = now or utcnow()
    cutoff = now - keep
    deleted = db.session.execute(
        delete(Story).where(Story.status != StoryStatus.APPROVED, Story.kept.is_(False), Story.created_at < cutoff)
        .execution_options(synchronize_session=False)).rowcount or 0
    base = [Story.status == StoryStatus.APPROVED, Story.kept.is_(False), Story.original_erased_at.is_(None),
            Story.created_at < cutoff]
    trimmed = db.session.execute(
        update(Story).where(*base, Story.published_consent == Consent.NAMED)
        .values(text=None, email=None, contact_ok=False, original_erased_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0
    trimmed += db.session.execute(
        update(Story).where(*base, Story.published_consent != Consent.NAMED)
        .values(text=None, email=None, contact_ok=False, name=None, county_id=None, original_erased_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0
    if deleted or trimmed:
        log.info("stories past retention: %d deleted, %d trimmed to what is published", deleted, trimmed)
    return deleted, trimmed
