"""Deleting a supporter's data at their request, and purging addresses once letters are delivered.

What stays is anonymous: counts of actions and letters, county and districts (for stats), and the text of
letters already delivered to officials (the record of what was sent). Functions flush and never commit.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, or_, select, update

from actionkit.db import utcnow
from actionkit.delivery.models import FINAL_STATUSES, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Submission, SubmissionStatus, Supporter

log = logging.getLogger(__name__)

CANCEL_REASON = "cancelled: the supporter deleted their data"
DEFAULT_RETENTION_DAYS = 30
UNDELIVERED = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)


@dataclass
class Deletion:
    """What a deletion did, in counts (for the log and the tests; never personal data)."""

    actions: int = 0
    cancelled: int = 0
    erased_letters: int = 0


def delete_supporter(supporter: Supporter, now: dt.datetime | None = None) -> Deletion:
    """Erase name, e-mail, address and phone; cancel deliveries not yet sent and erase those letters' text."""
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
    if letter_ids:
        # A conditional UPDATE: a delivery a worker has just claimed (sending) is left to finish.
        report.cancelled = db.session.execute(
            update(Delivery).where(Delivery.letter_id.in_(letter_ids),
                                   Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD]))
            .values(status=DeliveryStatus.FAILED, last_error=CANCEL_REASON, final_at=now, lease_expires_at=None,
                    updated_at=now)
            .execution_options(synchronize_session="fetch")).rowcount or 0
        statuses = dict(db.session.execute(
            select(Delivery.letter_id, Delivery.status).where(Delivery.letter_id.in_(letter_ids))).all())
        for letter in letters:
            if letter.id not in statuses or statuses[letter.id] in UNDELIVERED:
                letter.body = ""
                report.erased_letters += 1
    # Their signatures' e-mail hashes go too, so a later signature starts afresh; one not recorded yet (another
    # campaign's, signed moments ago) is given up, so the worker cannot write their data again.
    mine = or_(Submission.action_id.in_([a.id for a in actions]), Submission.email_hash == supporter.email_hash)
    db.session.execute(update(Submission).where(mine, Submission.status == SubmissionStatus.RECEIVED)
                       .values(status=SubmissionStatus.FAILED, processed_at=now)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Submission).where(mine).values(email_hash=None, payload=None, updated_at=now)
                       .execution_options(synchronize_session=False))
    supporter.email = supporter.first_name = supporter.last_name = None
    supporter.email_hash = f"deleted-{secrets.token_hex(28)}"  # unlinkable: a later signature starts afresh
    supporter.opt_in = False
    supporter.deleted_at = now
    db.session.flush()
    log.info("supporter %s deleted their data: %d actions, %d deliveries cancelled, %d letters erased",
             supporter.id, report.actions, report.cancelled, report.erased_letters)
    return report


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
