"""Daily digests: an office that asked for it receives one email a day with all its waiting letters instead of
one email per letter. Plain functions that flush and never commit (the task commits)."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Optional

from flask import current_app
from sqlalchemy import func, select, update

from actionkit.db import utcnow
from actionkit.delivery import channels
from actionkit.delivery.channels import Outcome
from actionkit.delivery.channels import email as email_channel
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, DigestOffice
from actionkit.delivery.services import Claim, forget_digest_offices, record
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.officials.models import Office

log = logging.getLogger(__name__)
DIGEST_LEASE = dt.timedelta(minutes=10)


def set_digest(office: Office, on: bool) -> list[int]:
    """Put an office on the daily digest (its waiting emailed letters join the next digest) or take it off
    (they are sent one by one again); returns the delivery ids to publish after commit."""
    row = db.session.get(DigestOffice, office.id)
    forget_digest_offices()
    old, new = (Channel.EMAIL, Channel.DIGEST) if on else (Channel.DIGEST, Channel.EMAIL)
    if on and row is None:
        db.session.add(DigestOffice(office_id=office.id))
    elif not on and row is not None:
        db.session.delete(row)
    waiting = select(Delivery.id).join(Letter, Letter.id == Delivery.letter_id).where(
        Letter.office_id == office.id, Delivery.channel == old, Delivery.status == DeliveryStatus.PENDING)
    ids = list(db.session.execute(
        update(Delivery).where(Delivery.id.in_(waiting.scalar_subquery())).values(channel=new, updated_at=utcnow())
        .returning(Delivery.id).execution_options(synchronize_session=False)).scalars())
    db.session.flush()
    return [] if on else ids


def hour() -> int:
    """ACTIONKIT_DELIVERY__digest_hour: the UTC hour after which each day's digest is sent."""
    return int(current_app.config["DELIVERY"]["digest_hour"])


def listing() -> list[Any]:
    """(office id, title, letters waiting, last sent) of every office on a digest, for the delivery monitor."""
    waiting = (select(func.count(Delivery.id)).join(Letter, Letter.id == Delivery.letter_id)
               .where(Letter.office_id == DigestOffice.office_id, Delivery.channel == Channel.DIGEST,
                      Delivery.status == DeliveryStatus.PENDING).scalar_subquery())
    return list(db.session.execute(
        select(Office.id, Office.title, waiting.label("waiting"), DigestOffice.last_sent_at)
        .join(DigestOffice, DigestOffice.office_id == Office.id).order_by(Office.title)).all())


def last_digest_time(now: dt.datetime) -> dt.datetime:
    """The most recent moment a digest was due: today's ACTIONKIT_DELIVERY__digest_hour (UTC), or yesterday's."""
    today = now.replace(hour=hour(), minute=0, second=0, microsecond=0)
    return today if now >= today else today - dt.timedelta(days=1)


def due_offices(now: Optional[dt.datetime] = None) -> list[int]:
    """Digest offices with letters waiting and no digest sent since the last digest time."""
    now = now or utcnow()
    moment = last_digest_time(now)
    waiting = (select(Letter.office_id).join(Delivery, Delivery.letter_id == Letter.id)
               .where(Delivery.channel == Channel.DIGEST, Delivery.status == DeliveryStatus.PENDING))
    return list(db.session.scalars(
        select(DigestOffice.office_id).where(DigestOffice.office_id.in_(waiting),
                                             (DigestOffice.last_sent_at.is_(None)) | (DigestOffice.last_sent_at < moment))
        .order_by(DigestOffice.office_id)))


def claim(office_id: int, now: Optional[dt.datetime] = None) -> list[Claim]:
    """Lease every waiting digest letter of one office (a second run finds none); the caller commits at once."""
    now = now or utcnow()
    waiting = (select(Delivery.id).join(Letter, Letter.id == Delivery.letter_id)
               .where(Letter.office_id == office_id, Delivery.channel == Channel.DIGEST,
                      Delivery.status == DeliveryStatus.PENDING))
    rows = db.session.execute(
        update(Delivery).where(Delivery.id.in_(waiting.scalar_subquery()), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, lease_expires_at=now + DIGEST_LEASE,
                first_attempt_at=func.coalesce(Delivery.first_attempt_at, now), updated_at=now)
        .returning(Delivery.id, Delivery.attempts, Delivery.channel, Delivery.destination, Delivery.first_attempt_at)
        .execution_options(synchronize_session=False)).all()
    return sorted((Claim(*row) for row in rows), key=lambda c: c.id)


def _letters(claimed: list[Claim]) -> list[Any]:
    return db.session.execute(
        select(Delivery.id, Letter.office_title, Letter.subject, Letter.body, Supporter.deleted_at)
        .join(Letter, Letter.id == Delivery.letter_id).join(Action, Action.id == Letter.action_id)
        .join(Supporter, Supporter.id == Action.supporter_id)
        .where(Delivery.id.in_([c.id for c in claimed])).order_by(Delivery.id)).all()


def build(office_title: str, destination: str, letters: list[Any], mail: dict[str, Any],
          now: dt.datetime) -> email_channel.Email:
    """One plain-text message with every letter as written, in signing order; a stable Message-ID per set."""
    sender, from_header = email_channel._from_header(mail["from_address"])
    recipient = email_channel._addr_spec(destination)
    tag = hashlib.sha256(",".join(str(row.id) for row in letters).encode()).hexdigest()[:16]
    msgid = f"<digest-{tag}@{channels.from_domain(mail['from_address'])}>"
    count = len(letters)
    parts = [f"{count} letter{'s' if count != 1 else ''} from constituents to {office_title}, collected into one "
             "message a day at your office's request. Each letter follows as its author wrote and signed it."]
    for number, row in enumerate(letters, 1):
        parts.append(f"----- Letter {number} of {count} -----\nSubject: {channels.header_text(row.subject or '')}"
                     f"\n\n{row.body.strip()}")
    msg = EmailMessage()
    msg["From"] = from_header
    msg["To"] = recipient
    msg["Subject"] = f"{count} letter{'s' if count != 1 else ''} from constituents, {now:%Y-%m-%d}"
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = msgid
    msg.set_content("\n\n".join(parts) + "\n", cte="quoted-printable")
    return email_channel.Email(sender, recipient, msgid, msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))


def send(office_id: int, claimed: list[Claim], now: Optional[dt.datetime] = None) -> int:
    """Send the claimed letters of one office as one digest and record the outcome on each; the number sent."""
    now = now or utcnow()
    if not claimed:
        return 0
    mail = current_app.config["MAIL"]
    rows = _letters(claimed)
    withdrawn = {row.id for row in rows if row.deleted_at is not None}
    letters = [row for row in rows if row.id not in withdrawn]
    by_id = {c.id: c for c in claimed}
    for delivery_id in withdrawn:
        record(by_id[delivery_id], Outcome.permanent("withdrawn: the supporter deleted their data"), now)
    if not letters:
        return 0
    destination = claimed[0].destination or ""
    try:
        email = build(letters[0].office_title, destination, letters, mail, now)
    except channels.Undeliverable as exc:
        outcome = Outcome.permanent(str(exc))
    else:
        outcome = _transmit(email, mail)
    for row in letters:
        record(by_id[row.id], outcome, now)
    if outcome.result is channels.Result.SENT:
        db.session.execute(update(DigestOffice).where(DigestOffice.office_id == office_id)
                           .values(last_sent_at=now, updated_at=now))
        log.info("digest for office %s: %d letters in one message", office_id, len(letters))
        return len(letters)
    return 0


def _transmit(email: email_channel.Email, mail: dict[str, Any]) -> Outcome:
    if mail["backend"] == "file":
        try:
            channels.write_atomically(Path(mail["outbox"]) / f"{email.message_id.strip('<>')}.eml", email.data)
        except OSError as exc:
            return Outcome.transient(f"outbox write failed: {type(exc).__name__}")
        return Outcome.sent(email.message_id)
    return channels.SmtpTransport(mail).send(email.sender, email.recipient, email.data, email.message_id)
