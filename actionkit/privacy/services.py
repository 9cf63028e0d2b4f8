"""Deleting a supporter's data at their request, and purging addresses once letters are delivered.

What stays after a deletion is anonymous: counts of actions and letters, county and districts, and per letter
only what stats need (office, date, status, channel); every letter's text is erased, and the print batches that
held their letters are rewritten without them. Functions flush and never commit.

Retention: the street, ZIP and phone are kept only while a delivery on a channel that sends them is not final
(channels.STREET_ADDRESS_CHANNELS) or office types still wait for a match; deliveries not final after the
retention period expire; city and paragraph go once every delivery has been final for the retention period;
print batches and (embedded mode) the file outbox are deleted after it.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import String, cast, exists, null, or_, select, update

from actionkit.db import utcnow
from actionkit.delivery import print_batch
from actionkit.delivery.channels import STREET_ADDRESS_CHANNELS
from actionkit.delivery.models import FINAL_STATUSES, Channel, Delivery, DeliveryStatus
from actionkit.delivery.services import CANCEL_REASON
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Submission, SubmissionStatus, Supporter

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
EXPIRED_REASON = "expired: not delivered within the retention period"


@dataclass
class Deletion:
    """What a deletion did, in counts (for the log and the tests; never personal data)."""

    actions: int = 0
    cancelled: int = 0
    erased_letters: int = 0
    print_batches: int = 0  # batches rewritten without them (or deleted)
    outbox_files: int = 0  # their messages removed from the embedded file outbox


def delete_supporter(supporter: Supporter, now: dt.datetime | None = None) -> Deletion:
    """Erase name, e-mail, address and phone; cancel deliveries not yet sent; erase every letter's text and
    rewrite the print batches that held their letters."""
    now = now or utcnow()
    report = Deletion()
    actions = list(db.session.scalars(select(Action).where(Action.supporter_id == supporter.id)))
    for action in actions:
        action.street = action.city = action.zip = action.phone = action.cwc_title = None
        action.address_purged_at = action.address_purged_at or now
        action.pending_types, action.personal_paragraph = [], None
    report.actions = len(actions)
    letters = list(db.session.scalars(select(Letter).where(Letter.action_id.in_([a.id for a in actions]))))
    letter_ids = [letter.id for letter in letters]
    batches: list[str] = []
    if letter_ids:
        # A conditional UPDATE: a delivery a worker has just claimed (sending) is left to finish.
        report.cancelled = db.session.execute(
            update(Delivery).where(Delivery.letter_id.in_(letter_ids),
                                   Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD]))
            .values(status=DeliveryStatus.CANCELLED, last_error=CANCEL_REASON, final_at=now,
                    lease_expires_at=None, updated_at=now)
            .execution_options(synchronize_session="fetch")).rowcount or 0
        for letter in letters:
            letter.body = letter.subject = ""
            report.erased_letters += 1
        batches = list(db.session.scalars(
            select(Delivery.provider_ref).where(Delivery.letter_id.in_(letter_ids), Delivery.channel == Channel.PRINT,
                                                Delivery.status == DeliveryStatus.SENT,
                                                Delivery.provider_ref.is_not(None)).distinct()))
    # Their signatures' e-mail hashes go too, so a later signature starts afresh; one not recorded yet (another
    # campaign's, signed moments ago, or one waiting for its e-mail link) is given up, so the worker cannot write
    # their data again.
    mine = or_(Submission.action_id.in_([a.id for a in actions]), Submission.email_hash == supporter.email_hash)
    waiting = (SubmissionStatus.RECEIVED, SubmissionStatus.AWAITING)
    db.session.execute(update(Submission).where(mine, Submission.status.in_(waiting))
                       .values(status=SubmissionStatus.FAILED, processed_at=now)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Submission).where(mine).values(email_hash=None, payload=None, updated_at=now)
                       .execution_options(synchronize_session=False))
    supporter.email = supporter.first_name = supporter.last_name = None
    supporter.email_hash = f"deleted-{secrets.token_hex(28)}"  # unlinkable: a later signature starts afresh
    supporter.opt_in = False
    supporter.deleted_at = now
    db.session.flush()
    if batches:
        report.print_batches = print_batch.rewrite_batches(batches, now=now)
    report.outbox_files = _erase_outbox([a.id for a in actions], letter_ids)
    log.info("supporter %s deleted their data: %d actions, %d deliveries cancelled, %d letters erased, "
             "%d print batches rewritten", supporter.id, report.actions, report.cancelled, report.erased_letters,
             report.print_batches)
    return report


def _erase_outbox(action_ids: list[int], letter_ids: list[int]) -> int:
    """Embedded mode keeps sent mail in the file outbox: remove the supporter's letters and confirmations."""
    mail = current_app.config["MAIL"]
    if mail.get("backend") != "file" or not Path(mail["outbox"]).is_dir():
        return 0
    folder = Path(mail["outbox"])
    refs = db.session.scalars(select(Delivery.provider_ref).where(
        Delivery.letter_id.in_(letter_ids), Delivery.channel == Channel.EMAIL,
        Delivery.provider_ref.is_not(None))) if letter_ids else []
    paths = [folder / f"{ref.strip('<>')}.eml" for ref in refs if "/" not in ref]
    for action_id in action_ids:
        paths.extend(folder.glob(f"confirmation-{int(action_id)}.*.eml"))
    removed = 0
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def retention(days: float | None = None) -> dt.timedelta:
    """How long addresses are kept after delivery (ACTIONKIT_RETENTION_DAYS, default 30)."""
    value = days if days is not None else current_app.config.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    return dt.timedelta(days=float(value))


def purge_addresses(keep: dt.timedelta, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Erase street, city, ZIP and phone of actions whose deliveries are all final for longer than `keep`
    (and which are older than that); county and districts stay for stats. Returns how many were purged."""
    now = now or utcnow()
    cutoff = now - keep
    busy = (select(Letter.id).join(Delivery, Delivery.letter_id == Letter.id)
            .where(Letter.action_id == Action.id,
                   or_(Delivery.status.notin_(FINAL_STATUSES), Delivery.final_at.is_(None),
                       Delivery.final_at >= cutoff)))
    ids = list(db.session.scalars(
        select(Action.id).where(Action.address_purged_at.is_(None), Action.created_at < cutoff, ~exists(busy))
        .order_by(Action.id).limit(limit)))
    if ids:
        db.session.execute(
            update(Action).where(Action.id.in_(ids))
            .values(street=None, city=None, zip=None, phone=None, cwc_title=None, pending_types=[], personal_paragraph=None,
                    address_purged_at=now, updated_at=now)
            .execution_options(synchronize_session=False))
        log.info("purged the addresses of %d actions", len(ids))
    return len(ids)


def purge_submission_snapshots(keep: dt.timedelta, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Erase the office ids kept for the receipt page of signatures older than `keep` (first and repeat alike).
    Returns how many were erased."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(Submission.id).where(Submission.office_ids.is_not(None), Submission.created_at < now - keep)
        .order_by(Submission.id).limit(limit)))
    if ids:
        db.session.execute(update(Submission).where(Submission.id.in_(ids))
                           .values(office_ids=null(), updated_at=now).execution_options(synchronize_session=False))
    return len(ids)


def expire_overdue(keep: dt.timedelta, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Mark deliveries still waiting (pending or held) after the retention period as expired, so their
    supporters' address data is not kept for them any longer; a row a worker holds (sending) is left."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(Delivery.id).where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD]),
                                  Delivery.created_at < now - keep).order_by(Delivery.id).limit(limit)))
    if ids:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(ids),
                                   Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD]))
            .values(status=DeliveryStatus.EXPIRED, last_error=EXPIRED_REASON, final_at=now, lease_expires_at=None,
                    queued_at=None, updated_at=now)
            .execution_options(synchronize_session=False))
        log.warning("%d deliveries expired: not delivered within the retention period", len(ids))
    return len(ids)


def purge_street_addresses(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Erase street, ZIP and phone of actions no delivery still needs them for: no office type waits for a
    match (that needs the address) and no delivery on a channel that sends the address is not final."""
    now = now or utcnow()
    needing = (select(Letter.id).join(Delivery, Delivery.letter_id == Letter.id)
               .where(Letter.action_id == Action.id, Delivery.channel.in_(list(STREET_ADDRESS_CHANNELS)),
                      Delivery.status.notin_(FINAL_STATUSES)))
    has_address = or_(Action.street.is_not(None), Action.zip.is_not(None), Action.phone.is_not(None))
    ids = list(db.session.scalars(
        select(Action.id).where(Action.address_purged_at.is_(None), has_address,
                                cast(Action.pending_types, String) == "[]", ~exists(needing))
        .order_by(Action.id).limit(limit)))
    if ids:
        db.session.execute(update(Action).where(Action.id.in_(ids))
                           .values(street=None, zip=None, phone=None, updated_at=now)
                           .execution_options(synchronize_session=False))
        log.info("erased the street addresses of %d actions no delivery needs them for", len(ids))
    return len(ids)


def purge_outbox(folder: Path | str, keep: dt.timedelta, now: float | None = None) -> int:
    """Embedded mode's file outbox is the sent-mail store: delete messages older than the retention period."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - keep.total_seconds()
    removed = 0
    for path in folder.glob("*.eml"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    if removed:
        log.info("deleted %d sent messages from the file outbox (retention period over)", removed)
    return removed


def purge_print_batches(keep: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Delete the (encrypted) print batch PDFs made before the retention period."""
    return print_batch.purge_batches(keep, now=now)
