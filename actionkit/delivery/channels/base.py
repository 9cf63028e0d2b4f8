"""What every channel shares: the classified Outcome of a send, the decrypted Outgoing letter, durable writes."""
from __future__ import annotations

import datetime as dt
import enum
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol

from actionkit.delivery.models import Channel


class Result(str, enum.Enum):
    SENT = "sent"
    TRANSIENT = "transient"  # try again later (backoff)
    PERMANENT = "permanent"  # retrying will not help; staff must look


@dataclass(frozen=True)
class Outcome:
    """What one send did: a provider reference when sent, else a classified reason without personal data."""

    result: Result
    provider_ref: Optional[str] = None
    reason: Optional[str] = None
    retry_at: Optional[dt.datetime] = None  # set by later(): a deferral, not a failed attempt

    @classmethod
    def sent(cls, provider_ref: str) -> "Outcome":
        return cls(Result.SENT, provider_ref=provider_ref)

    @classmethod
    def transient(cls, reason: str) -> "Outcome":
        return cls(Result.TRANSIENT, reason=reason[:500])

    @classmethod
    def permanent(cls, reason: str) -> "Outcome":
        return cls(Result.PERMANENT, reason=reason[:500])

    @classmethod
    def later(cls, reason: str, until: dt.datetime) -> "Outcome":
        """Not now, and not a failure (a maintenance window): try again at `until`, no attempt used."""
        return cls(Result.TRANSIENT, reason=reason[:500], retry_at=until)


@dataclass(frozen=True)
class Constituent:
    """The supporter as a channel that needs their postal identity sees them (CWC), already decrypted."""

    prefix: Optional[str]
    first_name: str
    last_name: str
    street: Optional[str]
    city: Optional[str]
    state: str  # postal abbreviation, upper case
    zip: Optional[str]
    email: Optional[str]
    phone: Optional[str] = None


@dataclass(frozen=True)
class Outgoing:
    """What sending one delivery needs, already decrypted (a channel sees no ORM objects)."""

    id: int
    channel: Channel
    destination: Optional[str]  # the official's address (public)
    office_title: str
    subject: Optional[str]
    body: str
    supporter_email: Optional[str]  # None once the supporter deleted their data
    supporter_name: str  # first and last name, "" when unknown
    withdrawn: bool  # the supporter deleted their data
    # Only loaded for channels that need them (CWC): the campaign, the letter's author, the office's type.
    campaign_id: Optional[int] = None
    office_type: Optional[str] = None
    constituent: Optional[Constituent] = None
    # The campaign's choices for CWC (None: the organisation's defaults in ACTIONKIT_CWC__*).
    topics: Optional[tuple[str, ...]] = None
    statement: Optional[str] = None
    response_requested: Optional[bool] = None


class SendingChannel(Protocol):
    channel: Channel

    def send(self, delivery: Outgoing) -> Outcome: ...


class Undeliverable(Exception):
    """The letter cannot be sent on this channel whatever we retry (no or invalid address, withdrawn)."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file, fsync, rename: readers see the whole file or none, a rewrite replaces it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
