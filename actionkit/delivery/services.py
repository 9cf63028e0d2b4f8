"""Delivery services: the outbox side of every letter. Plain functions that flush and never commit.

The life of a delivery row (the retry schedule lives here, in the database, never in Celery countdowns):

    pending --claim--> sending --sent--> sent
       ^                  |--permanent error--> failed
       |                  |--transient error, attempts or deadline used up--> dead
       +--transient error (next_attempt_at = now + backoff with full jitter)
       +--pacing (next_attempt_at = when the destination's hourly window frees; not an attempt)
       +--lease expired (the worker died mid-send): the sweeper puts it back

Publishing: `enqueue(ids)` after the commit that wrote the rows (or `enqueue_on_commit(ids)` before it). A lost
or unpublished message only delays a letter: `sweep()` re-publishes due rows, and the claim makes a duplicate
task harmless. The guarantee is at-least-once with a stable Message-ID: the only window for a second copy is a
worker dying after the SMTP server accepted the message and before the row was marked sent.

The send path is four statements in two transactions, all Core on the session's connection: the claim (an
UPDATE ... RETURNING that on PostgreSQL also takes the destination's pacing lock) and both pacing counts in one
SELECT, commit; then one joined SELECT of what the message needs, the send, and the fenced UPDATE, commit.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import requests
from flask import current_app
from sqlalchemy import DateTime, Integer, and_, bindparam, delete, event, func, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ClauseElement

from actionkit.campaigns.models import Campaign
from actionkit.celery_app import publish_many
from actionkit.db import utcnow
from actionkit.delivery import channels
from actionkit.delivery.channels import cwc
from actionkit.delivery.channels import Outcome, Outgoing, Result
from actionkit.delivery.models import Channel, CwcOffice, Delivery, DeliveryStatus, DigestOffice, PrintBatch
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.officials.models import Division, Office, OfficeType

log = logging.getLogger(__name__)

SEND_TASK = "delivery.send"
HOUR = dt.timedelta(hours=1)
PRINT_LEASE = dt.timedelta(hours=1)
RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.HELD)
# What the monitor lists: the retryable rows and those that ran out of time (no Retry: their data is purged).
LISTED = RETRYABLE + (DeliveryStatus.EXPIRED,)
CANCEL_REASON = "cancelled: the supporter deleted their data"
_OUTBOX = "actionkit.delivery.publish_after_commit"
_DIGESTS = "actionkit.delivery.digest_offices"
# Called as listener(delivery_id, status) in the recording transaction once an outcome is stored (higher layers,
# e.g. webhooks, register here: delivery knows nothing of them).
OUTCOME_LISTENERS: list[Callable[[int, DeliveryStatus], None]] = []
_WAKE = "actionkit.delivery.wake_after_commit"
SECOND = dt.timedelta(seconds=1)


def _config() -> dict[str, Any]:
    return current_app.config["DELIVERY"]


def _aware(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


# ------------------------------------------------------------------------------------------------- publishing

def enqueue(ids: Iterable[int]) -> int:
    """Publish one delivery.send task per id; call after the commit that wrote the rows. Never raises.

    If the broker is unreachable this logs (counts only) and returns within about publish_timeout seconds; the
    rows are still pending, so the sweeper publishes them once the broker is back.
    """
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    published = publish_many(SEND_TASK, [[delivery_id] for delivery_id in ids])
    if published < len(ids):
        log.warning("delivery: broker unavailable; %d of %d deliveries left for the sweeper",
                    len(ids) - published, len(ids))
    return published


def enqueue_on_commit(ids: Iterable[int], session: Optional[Session] = None) -> None:
    """Publish these ids once the current transaction commits; a rollback discards them unpublished."""
    session = session or db.session()
    session.info.setdefault(_OUTBOX, []).extend(int(i) for i in ids)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    ids = session.info.pop(_OUTBOX, None)
    if ids:
        enqueue(ids)
    for delay, wake in sorted(session.info.pop(_WAKE, {}).items()):
        # A wake-up for letters a rate ceiling deferred by seconds (the sweeper would take a minute); the row's
        # next_attempt_at stays the schedule, and a lost wake-up only leaves the letter to the sweeper.
        publish_many(SEND_TASK, [[delivery_id] for delivery_id in wake], countdown=delay)


@event.listens_for(Session, "after_transaction_end")
def _discard_unpublished(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended without commit: rolled back or closed
        session.info.pop(_OUTBOX, None)


# ----------------------------------------------------------------------------------------- creating deliveries

def chain_for(office: Office) -> channels.Chain:
    """The office's ordered channel chain under the app's configuration."""
    senate = office.type is OfficeType.US_SENATOR and current_app.config["CWC"].get("senate_url")
    listed = senate_code(office) if senate and not office.cwc_office_code else None
    return channels.chain_for(office, current_app.config, listed)


def senate_code(office: Office) -> Optional[str]:
    """The Senate seat's code on the cached active-office list: by the senator's bioguide id, else state and
    class (the sources disagree on the codes, so they are never derived)."""
    holder = office.holder
    rows = db.session.execute(
        select(CwcOffice.code, CwcOffice.seat, CwcOffice.bioguide_id)
        .where(CwcOffice.chamber == "senate", CwcOffice.state == office.division.state)).all()
    if holder is not None and holder.bioguide_id:
        for row in rows:
            if row.bioguide_id == holder.bioguide_id:
                return row.code
    matches = [row.code for row in rows if row.seat and row.seat == office.seat]
    return matches[0] if len(matches) == 1 else None


def refresh_cwc_offices(now: Optional[dt.datetime] = None) -> dict[str, str]:
    """Replace each configured chamber's cached active-office list; a failed fetch keeps the old list (an
    outage of the list never stops delivery). Returns chamber -> what happened, for logs and the CLI."""
    now = now or utcnow()
    cfg = current_app.config["CWC"]
    done: dict[str, str] = {}
    for chamber in (cwc.HOUSE, cwc.SENATE):
        if not cfg.get(f"{chamber}_url"):
            continue
        try:
            entries = cwc.CwcClient(cfg, chamber).office_list()
        except (requests.RequestException, ValueError) as exc:
            log.warning("cwc %s office list unavailable (%s); the cached list is kept", chamber, type(exc).__name__)
            done[chamber] = f"unavailable ({type(exc).__name__}); kept the cached list"
            continue
        db.session.execute(delete(CwcOffice).where(CwcOffice.chamber == chamber))
        db.session.add_all(CwcOffice(chamber=chamber, code=e.code, state=e.state, seat=e.seat,
                                     bioguide_id=e.bioguide_id, fetched_at=now) for e in entries)
        db.session.flush()
        done[chamber] = f"{len(entries)} offices"
    return done


def channel_for(office: Office) -> Channel:
    """The first channel of the office's chain (email when it has an address, else print, unless CWC...)."""
    return chain_for(office).first.channel


def digest_office_ids() -> set[int]:
    """Offices on a daily digest (read once per session: recording a signature asks for every letter)."""
    session = db.session()
    cached = session.info.get(_DIGESTS)
    if cached is None:
        cached = session.info[_DIGESTS] = set(session.scalars(select(DigestOffice.office_id)))
    return cached


def forget_digest_offices() -> None:
    db.session().info.pop(_DIGESTS, None)


def delivery_values(office: Office) -> dict[str, Any]:
    """Channel, destination, status and the chain's notes of a new outbox row for a letter to this office (for a
    bulk INSERT): the first channel of its chain (email becomes the daily digest for offices that asked for one);
    the channels skipped before it are noted for staff."""
    chain = chain_for(office)
    first = chain.first
    channel = Channel.DIGEST if first.channel is Channel.EMAIL and office.id in digest_office_ids() else first.channel
    return {"channel": channel, "destination": first.destination, "status": DeliveryStatus.PENDING,
            "channel_notes": "\n".join(chain.skipped_before(first.channel)) or None}


def new_delivery(letter: Letter) -> Delivery:
    """The outbox row for a letter (added to the session, not flushed): channel and destination from its office."""
    delivery = Delivery(letter=letter, **delivery_values(letter.office))
    db.session.add(delivery)
    return delivery


# ----------------------------------------------------------------------------------------------- claim, send

def backoff(attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry `attempt` (1 = after the first failure): full jitter, in [0, min(cap, base*2^(n-1))]."""
    ceiling = min(float(cap), float(base) * 2.0 ** min(max(attempt - 1, 0), 64))
    return ceiling * rand()


# The statements of the send path are built once: building a statement costs more than running it. They are
# Core statements on the tables (no ORM objects: loading those costs more than the SQL).
_t = Delivery.__table__
_letters, _actions, _supporters = Letter.__table__, Action.__table__, Supporter.__table__
_id = bindparam("d_id", type_=Integer)
_now = bindparam("d_now", type_=DateTime(timezone=True))
_CLAIM = (
    update(_t)
    .where(_t.c.id == _id, or_(*(_t.c.channel == c for c in channels.QUEUED_CHANNELS)),  # no IN: no expanding
           or_(and_(_t.c.status == DeliveryStatus.PENDING, _t.c.next_attempt_at <= _now),
               and_(_t.c.status == DeliveryStatus.SENDING, _t.c.lease_expires_at < _now)))
    .values(status=DeliveryStatus.SENDING, attempts=_t.c.attempts + 1, lease_expires_at=bindparam("d_lease"),
            queued_at=None, first_attempt_at=func.coalesce(_t.c.first_attempt_at, _now), updated_at=_now)
)
_CLAIMED = (_t.c.id, _t.c.attempts, _t.c.channel, _t.c.destination, _t.c.first_attempt_at)
# On PostgreSQL the claim also takes the destination's pacing lock (a transaction-level advisory lock, held
# until the claim commits), in the same round trip; the pacing counts then run as the next statement, whose
# snapshot sees every claim committed before the lock was granted. SQLite has one writer at a time anyway.
_CLAIM_PLAIN = _CLAIM.returning(*_CLAIMED)
_CLAIM_LOCKING = _CLAIM.returning(*_CLAIMED, func.pg_advisory_xact_lock(func.hashtextextended(_t.c.destination, 0)))
_SAME_DESTINATION = (_t.c.destination == bindparam("d_destination"), _t.c.id != _id)
_SENT_SINCE = _t.c.sent_at > bindparam("d_since", type_=DateTime(timezone=True))
# Both pacing counts in one statement, each subquery keeping its own index (destination and sent_at; status).
_PACING = select(
    select(func.count()).select_from(_t).where(*_SAME_DESTINATION, _SENT_SINCE).scalar_subquery(),
    select(func.count()).select_from(_t).where(
        *_SAME_DESTINATION, _t.c.status == DeliveryStatus.SENDING, _t.c.lease_expires_at > _now).scalar_subquery(),
)
_LOAD = (
    select(_t.c.id, _t.c.channel, _t.c.destination, _letters.c.office_title, _letters.c.subject, _letters.c.body,
           _supporters.c.email, _supporters.c.first_name, _supporters.c.last_name, _supporters.c.deleted_at)
    .select_from(_t.join(_letters, _letters.c.id == _t.c.letter_id)
                 .join(_actions, _actions.c.id == _letters.c.action_id)
                 .join(_supporters, _supporters.c.id == _actions.c.supporter_id))
    .where(_t.c.id == _id)
)
_FENCE = (_t.c.id == _id, _t.c.status == DeliveryStatus.SENDING, _t.c.attempts == bindparam("d_attempts"))
_fenced_statements: dict[tuple[str, ...], Any] = {}


def _execute(statement: Any, params: dict[str, Any]) -> Any:
    """Run a Core statement on the session's connection, in its transaction (skipping the ORM's execute path)."""
    return db.session.connection().execute(statement, params)


def _load(delivery_id: int) -> Outgoing:
    """What sending the delivery needs (letter and supporter, decrypted) in one query."""
    row = _execute(_LOAD, {"d_id": delivery_id}).one()
    return Outgoing(id=row.id, channel=row.channel, destination=row.destination, office_title=row.office_title,
                    subject=row.subject, body=row.body, supporter_email=row.email,
                    supporter_name=" ".join(p for p in (row.first_name, row.last_name) if p),
                    withdrawn=row.deleted_at is not None)


@dataclass(frozen=True)
class Claim:
    """A delivery this task holds: the attempt number fences whatever it records afterwards."""

    id: int
    attempts: int
    channel: Channel
    destination: Optional[str]
    first_attempt_at: Optional[dt.datetime]


def claim(delivery_id: int, now: Optional[dt.datetime] = None) -> Optional[Claim]:
    """Take one delivery for sending with a lease, in a single UPDATE; None when there is nothing to send.

    Nothing to send: another task holds it, it is already final, it is not due yet, its channel is not sent
    one at a time (print), or pacing pushed it back. The caller commits at once so the lease is visible.
    """
    now = now or utcnow()
    cfg = _config()
    paced = bool(int(cfg["per_destination_per_hour"]))
    locking = paced and db.session.get_bind().dialect.name == "postgresql"
    row = _execute(_CLAIM_LOCKING if locking else _CLAIM_PLAIN, {
        "d_id": delivery_id, "d_now": now, "d_lease": now + dt.timedelta(seconds=float(cfg["lease_seconds"]))
    }).one_or_none()
    if row is None:
        return None
    held = Claim(row.id, row.attempts, row.channel, row.destination, row.first_attempt_at)
    if held.attempts > int(cfg["max_attempts"]):  # re-claimed after workers died on it again and again
        _finish(held, now, status=DeliveryStatus.DEAD,
                last_error=f"gave up after {held.attempts - 1} attempts: the worker was lost during sending")
        return None
    wait_until = _paced_until(held, now) if paced else None
    if wait_until is not None:
        _defer(held, wait_until, now)
        return None
    if held.channel is Channel.CWC:
        wait_until = _ceiling_until(held, now)
        if wait_until is not None:
            _defer(held, wait_until, now, reason="rate ceiling")
            delay = round((wait_until - now).total_seconds(), 1)
            db.session.info.setdefault(_WAKE, {}).setdefault(delay, []).append(held.id)
            return None
    return held


def _with_constituent(delivery: Outgoing) -> Outgoing:
    """The Outgoing with what CWC needs besides the letter: campaign, office type and the constituent."""
    row = db.session.execute(
        select(Letter.office_type, Action.campaign_id, Action.street, Action.city, Action.zip, Action.state,
               Action.phone, Action.cwc_title, Supporter.first_name, Supporter.last_name, Campaign.cwc_topics,
               Campaign.cwc_statement, Campaign.cwc_response_requested)
        .select_from(Delivery).join(Letter, Letter.id == Delivery.letter_id)
        .join(Action, Action.id == Letter.action_id).join(Supporter, Supporter.id == Action.supporter_id)
        .join(Campaign, Campaign.id == Action.campaign_id)
        .where(Delivery.id == delivery.id)).one()
    chamber = channels.chamber_of(row.office_type) or "house"
    who = channels.Constituent(
        prefix=cwc.prefix_for(row.cwc_title, chamber), first_name=row.first_name or "", last_name=row.last_name or "",
        street=row.street, city=row.city, state=(row.state or "").upper(), zip=row.zip,
        email=delivery.supporter_email, phone=row.phone)
    return dataclasses.replace(delivery, campaign_id=row.campaign_id, office_type=row.office_type, constituent=who,
                               topics=tuple(row.cwc_topics or ()) or None, statement=row.cwc_statement,
                               response_requested=row.cwc_response_requested)


def attempt(held: Claim, now: Optional[dt.datetime] = None) -> DeliveryStatus:
    """Send a claimed delivery through its channel and record the classified outcome."""
    delivery = _load(held.id)
    if delivery.withdrawn:  # deleted between the claim and now: cancelled, not failed
        return cancel(held, now)
    if held.channel is Channel.CWC:
        delivery = _with_constituent(delivery)
    try:
        outcome = channels.for_delivery(delivery, current_app.config).send(delivery)
    except Exception as exc:  # a bug or an unexpected library error: retry later, and tell the operator
        log.error("delivery %s: unexpected %s in the %s channel", held.id, type(exc).__name__, held.channel.value)
        outcome = Outcome.transient(f"internal error: {type(exc).__name__}")
    return record(held, outcome, now)


def record(delivery: "Claim | Delivery", outcome: Outcome, now: Optional[dt.datetime] = None) -> DeliveryStatus:
    """Store an attempt's outcome, fenced on the claim (status sending, same attempt number)."""
    now = now or utcnow()
    cfg = _config()
    delivery_id, attempts, channel = delivery.id, delivery.attempts, delivery.channel.value
    fallback: Optional[channels.Hop] = None
    if outcome.result is Result.SENT:
        status = DeliveryStatus.SENT
        values: dict[str, Any] = dict(provider_ref=outcome.provider_ref, sent_at=now, final_at=now, last_error=None)
    elif outcome.result is Result.PERMANENT:
        fallback, notes = _next_channel(delivery_id, delivery.channel, outcome.reason or "")
        if fallback is not None:  # the next channel of the office's chain starts afresh
            status = DeliveryStatus.PENDING
            values = dict(channel=fallback.channel, destination=fallback.destination, attempts=0, next_attempt_at=now,
                          first_attempt_at=None, last_error=outcome.reason, channel_notes=notes)
        else:
            status = DeliveryStatus.FAILED
            values = dict(last_error=outcome.reason, final_at=now)
    elif outcome.retry_at is not None:  # a deferral (maintenance window): not an attempt
        status = DeliveryStatus.PENDING
        values = dict(last_error=outcome.reason, next_attempt_at=outcome.retry_at, attempts=_t.c.attempts - 1,
                      first_attempt_at=None if attempts == 1 else _t.c.first_attempt_at)
    else:
        deadline = (_aware(delivery.first_attempt_at) or now) + dt.timedelta(hours=float(cfg["deadline_hours"]))
        if attempts >= int(cfg["max_attempts"]) or now >= deadline:
            status = DeliveryStatus.DEAD
            values = dict(last_error=f"gave up after {attempts} attempts: {outcome.reason}"[:500], final_at=now)
        else:
            status = DeliveryStatus.PENDING
            delay = backoff(attempts, base=cfg["backoff_base_seconds"], cap=cfg["backoff_cap_seconds"])
            values = dict(last_error=outcome.reason, next_attempt_at=now + dt.timedelta(seconds=delay))
    if not _fenced_update(delivery_id, attempts, now, status=status, lease_expires_at=None, **values):
        log.warning("delivery %s: lease lost before the %s outcome was recorded", delivery_id, status.value)
        return DeliveryStatus.SENDING
    for listener in OUTCOME_LISTENERS:
        listener(delivery_id, status)
    if status is DeliveryStatus.SENT:
        log.info("delivery %s sent via %s (attempt %s)", delivery_id, channel, attempts)
    elif fallback is not None:
        log.warning("delivery %s failed via %s (%s); moved to %s", delivery_id, channel, outcome.reason,
                    fallback.channel.value)
        if fallback.channel in channels.QUEUED_CHANNELS:
            enqueue_on_commit([delivery_id])
    else:
        log.warning("delivery %s %s via %s (attempt %s): %s", delivery_id, status.value, channel, attempts,
                    outcome.reason)
    return status


def cancel(delivery: "Claim | Delivery", now: Optional[dt.datetime] = None) -> DeliveryStatus:
    """Record a claimed delivery as cancelled (its supporter deleted their data); it is never retried."""
    now = now or utcnow()
    if not _fenced_update(delivery.id, delivery.attempts, now, status=DeliveryStatus.CANCELLED,
                          last_error=CANCEL_REASON, final_at=now, lease_expires_at=None):
        return DeliveryStatus.SENDING
    log.info("delivery %s cancelled: the supporter deleted their data", delivery.id)
    return DeliveryStatus.CANCELLED


def _next_channel(delivery_id: int, failed: Channel, reason: str) -> tuple[Optional[channels.Hop], str]:
    """The channel after `failed` in the office's chain, and the delivery's notes with this move added."""
    row = db.session.execute(
        select(Letter.office_id, Delivery.channel_notes, Supporter.deleted_at)
        .join(Delivery, Delivery.letter_id == Letter.id).join(Action, Action.id == Letter.action_id)
        .join(Supporter, Supporter.id == Action.supporter_id).where(Delivery.id == delivery_id)).one()
    chain = chain_for(db.session.get(Office, row.office_id))
    # A withdrawn letter (the supporter deleted their data) goes nowhere else.
    hop = chain.after(failed) if row.deleted_at is None else None
    notes = [n for n in (row.channel_notes or "").splitlines() if n]
    notes.append(f"{failed.value}: failed: {reason}"[:300])
    if hop is not None:
        notes += chain.skipped_before(hop.channel, since=failed)
        notes.append(f"moved to {hop.channel.value}")
    return hop, "\n".join(notes)


def _fenced_update(delivery_id: int, claimed_attempts: int, now: dt.datetime, /, **values: Any) -> bool:
    """Update the row only if this claim still holds it (status sending, same attempt number)."""
    values["updated_at"] = now
    params = {"d_id": delivery_id, "d_attempts": claimed_attempts}
    if any(isinstance(v, ClauseElement) for v in values.values()):
        stmt = update(_t).where(*_FENCE).values(**values)
    else:
        keys = tuple(sorted(values))
        stmt = _fenced_statements.get(keys)
        if stmt is None:
            stmt = _fenced_statements[keys] = update(_t).where(*_FENCE).values(
                {k: bindparam(f"v_{k}", type_=_t.c[k].type) for k in keys})
        params.update({f"v_{k}": v for k, v in values.items()})
    done = _execute(stmt, params).rowcount == 1
    instance = db.session.identity_map.get(db.session.identity_key(Delivery, delivery_id))
    if instance is not None:
        db.session.expire(instance)
    return done


def _finish(held: Claim, now: dt.datetime, *, status: DeliveryStatus, last_error: str) -> None:
    _fenced_update(held.id, held.attempts, now, status=status, last_error=last_error, final_at=now,
                   lease_expires_at=None)
    log.warning("delivery %s %s: %s", held.id, status.value, last_error)


# ---------------------------------------------------------------------------------------------------- pacing

def _paced_until(held: Claim, now: dt.datetime) -> Optional[dt.datetime]:
    """When this destination may receive another letter, or None if it may now (per_destination_per_hour).

    Runs after the claim, in its transaction, which on PostgreSQL holds the destination's advisory lock.
    """
    limit = int(_config()["per_destination_per_hour"])
    if not limit or not held.destination:
        return None
    window_start = now - HOUR
    params = {"d_id": held.id, "d_destination": held.destination, "d_since": window_start, "d_now": now}
    sent, in_flight = _execute(_PACING, params).one()
    if sent + in_flight < limit:
        return None
    jitter = dt.timedelta(seconds=random.uniform(0, 30))
    if sent < limit:  # letters in flight fill the window: look again once they are done
        return now + dt.timedelta(seconds=30) + jitter
    frees = db.session.execute(
        select(_t.c.sent_at).where(*_SAME_DESTINATION, _SENT_SINCE)
        .order_by(_t.c.sent_at).offset(sent - limit).limit(1), params).scalar_one()
    return _aware(frees) + HOUR + jitter


def _defer(held: Claim, until: dt.datetime, now: dt.datetime, reason: str = "paced") -> None:
    """Give the claim back without counting it as an attempt."""
    _fenced_update(held.id, held.attempts, now, status=DeliveryStatus.PENDING, attempts=_t.c.attempts - 1,
                   next_attempt_at=until, lease_expires_at=None,
                   first_attempt_at=None if held.attempts == 1 else _t.c.first_attempt_at)
    log.info("delivery %s %s: waits until %s", held.id, reason, until.isoformat(timespec="seconds"))


def _chamber_types(chamber: str) -> list[str]:
    return [t.value for t in OfficeType if channels.chamber_of(t) == chamber]


def ceilings() -> dict[str, Optional[int]]:
    """Each CWC chamber's send-rate ceiling in letters a second (ACTIONKIT_CWC__<chamber>_max_per_second)."""
    cfg = current_app.config["CWC"]
    return {chamber: cfg.get(f"{chamber}_max_per_second") or None for chamber in (cwc.HOUSE, cwc.SENATE)}


def _ceiling_until(held: Claim, now: dt.datetime) -> Optional[dt.datetime]:
    """When a CWC letter may go without its chamber's service receiving more than its ceiling a second, or None
    if it may go now: letters of the chamber sent in the last second plus those in flight (claimed by any
    worker) stay under the ceiling. On PostgreSQL a per-chamber advisory lock, held until the claim commits,
    makes the count and the claim one step across workers; SQLite has one writer at a time anyway."""
    office_type = db.session.execute(
        select(_letters.c.office_type).join(_t, _t.c.letter_id == _letters.c.id).where(_t.c.id == held.id)
    ).scalar_one()
    chamber = channels.chamber_of(office_type)
    limit = ceilings().get(chamber) if chamber else None
    if not limit:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        _execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"cwc ceiling {chamber}", 0))), {})
    busy = _execute(
        select(func.count()).select_from(_t.join(_letters, _letters.c.id == _t.c.letter_id))
        .where(_t.c.channel == Channel.CWC, _t.c.id != held.id, _letters.c.office_type.in_(_chamber_types(chamber)),
               or_(_t.c.sent_at > now - SECOND,
                   and_(_t.c.status == DeliveryStatus.SENDING, _t.c.lease_expires_at > now))), {}).scalar_one()
    if busy < limit:
        return None
    return now + SECOND * (1 + random.random())


# ---------------------------------------------------------------------------------------------------- sweeper

@dataclass
class SweepResult:
    """One sweep batch: ids to publish after commit, and what was done."""

    ids: list[int] = field(default_factory=list)
    recovered: int = 0  # sending rows whose lease expired, put back to pending
    requeued: int = 0  # due pending rows published again
    dead: int = 0
    held: int = 0
    scanned: int = 0


def sweep(now: Optional[dt.datetime] = None, limit: Optional[int] = None) -> SweepResult:
    """Recover expired leases, hold rows with no available channel, and pick due rows to publish (one batch).

    A fresh row (never claimed) is left alone for requeue_after_seconds, since enqueue() published it; a row
    the sweeper published is published again only after requeue_after_seconds (lost message or long queue).
    Rows are taken with FOR UPDATE SKIP LOCKED on PostgreSQL, so two sweepers never pick the same rows.
    """
    now = now or utcnow()
    cfg = _config()
    limit = int(limit or cfg["sweep_batch"])
    cutoff = now - dt.timedelta(seconds=float(cfg["requeue_after_seconds"]))
    result = SweepResult()

    expired = db.session.execute(
        select(Delivery.id, Delivery.attempts, Delivery.channel)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_expires_at < now)
        .order_by(Delivery.lease_expires_at).limit(limit).with_for_update(skip_locked=True)).all()
    still_expired = (Delivery.status == DeliveryStatus.SENDING, Delivery.lease_expires_at < now)
    give_up = [r.id for r in expired if r.attempts >= int(cfg["max_attempts"])]
    revive = [r for r in expired if r.attempts < int(cfg["max_attempts"])]
    if give_up:
        result.dead = db.session.execute(
            update(Delivery).where(Delivery.id.in_(give_up), *still_expired)
            .values(status=DeliveryStatus.DEAD, lease_expires_at=None, final_at=now, updated_at=now,
                    last_error=f"gave up after {cfg['max_attempts']} attempts: the worker was lost during sending")
            .execution_options(synchronize_session=False)).rowcount
    if revive:
        result.recovered = db.session.execute(
            update(Delivery).where(Delivery.id.in_([r.id for r in revive]), *still_expired)
            .values(status=DeliveryStatus.PENDING, lease_expires_at=None, next_attempt_at=now, queued_at=now,
                    updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        result.ids.extend(r.id for r in revive if r.channel in channels.QUEUED_CHANNELS)

    for channel in Channel:
        if channel in channels.AVAILABLE_CHANNELS:
            continue
        result.held += db.session.execute(
            update(Delivery).where(Delivery.status == DeliveryStatus.PENDING, Delivery.channel == channel)
            .values(status=DeliveryStatus.HELD, updated_at=now,
                    last_error=f"the {channel.value} channel is not available yet")
            .execution_options(synchronize_session=False)).rowcount

    due = db.session.execute(
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.channel.in_(channels.QUEUED_CHANNELS),
               Delivery.next_attempt_at <= now,
               or_(and_(Delivery.queued_at.is_(None), or_(Delivery.attempts > 0, Delivery.created_at <= cutoff)),
                   Delivery.queued_at <= cutoff))
        .order_by(Delivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    if due:
        db.session.execute(update(Delivery).where(Delivery.id.in_(due)).values(queued_at=now)
                           .execution_options(synchronize_session=False))
        result.requeued = len(due)
        result.ids.extend(due)
    result.scanned = len(expired) + len(due)
    return result


# ------------------------------------------------------------------------------------------- staff, monitoring

def retry(ids: Iterable[int] = (), *, statuses: Iterable[DeliveryStatus] = (),
          now: Optional[dt.datetime] = None) -> list[int]:
    """Give failed, dead or held deliveries a fresh start, published after the caller's commit.

    Attempts and the 48-hour deadline are reset (staff decided to try again, so the full retry budget applies);
    last_error is kept until the next attempt overwrites it. Sent, pending and sending rows are never touched.
    """
    now = now or utcnow()
    ids = [int(i) for i in ids]
    statuses = [DeliveryStatus(s) for s in statuses if DeliveryStatus(s) in RETRYABLE]
    if not ids and not statuses:
        return []
    chosen = or_(Delivery.id.in_(ids), Delivery.status.in_(statuses))
    # Never revive the letters of a supporter who deleted their data: those deliveries were cancelled.
    withdrawn = (select(Letter.id).join(Action, Letter.action_id == Action.id)
                 .join(Supporter, Action.supporter_id == Supporter.id).where(Supporter.deleted_at.is_not(None)))
    rows = db.session.execute(
        select(Delivery.id, Delivery.channel)
        .where(Delivery.status.in_(RETRYABLE), chosen, Delivery.letter_id.not_in(withdrawn))
        .order_by(Delivery.id).with_for_update()).all()
    if not rows:
        return []
    db.session.execute(
        update(Delivery).where(Delivery.id.in_([r.id for r in rows]), Delivery.status.in_(RETRYABLE))
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None,
                queued_at=None, first_attempt_at=None, final_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    enqueue_on_commit(r.id for r in rows if r.channel in channels.QUEUED_CHANNELS)
    return [r.id for r in rows]


def status_counts() -> dict[DeliveryStatus, dict[Channel, int]]:
    """Deliveries by status and channel, for the staff monitor and `flask delivery status`."""
    counts: dict[DeliveryStatus, dict[Channel, int]] = {}
    rows = db.session.execute(select(Delivery.status, Delivery.channel, func.count())
                              .group_by(Delivery.status, Delivery.channel)).all()
    for status, channel, count in rows:
        counts.setdefault(status, {})[channel] = count
    return counts


def list_failures(limit: int = 50, offset: int = 0,
                  statuses: Iterable[DeliveryStatus] = RETRYABLE) -> list[Delivery]:
    """Failed, dead and held deliveries, newest first, with their letter (show office and reason, not the body)."""
    stmt = (select(Delivery).where(Delivery.status.in_(list(statuses)))
            .options(joinedload(Delivery.letter))
            .order_by(func.coalesce(Delivery.final_at, Delivery.updated_at).desc(), Delivery.id.desc())
            .limit(limit).offset(offset))
    return list(db.session.execute(stmt).scalars())


def congress_states() -> list[str]:
    """The states whose members of Congress are loaded (lower-case postal codes)."""
    return list(db.session.scalars(
        select(Division.state).join(Office, Office.division_id == Division.id)
        .where(Office.type.in_([OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR]))
        .distinct().order_by(Division.state)))


def list_rerouted(limit: int = 50) -> list[Delivery]:
    """Deliveries that skipped or left a channel of their office's chain, newest first (notes say why)."""
    stmt = (select(Delivery).where(Delivery.channel_notes.is_not(None)).options(joinedload(Delivery.letter))
            .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())


@dataclass(frozen=True)
class PrintQueueRow:
    office_id: int
    office_title: str
    pending: int


def print_queue() -> list[PrintQueueRow]:
    """Offices with letters waiting for a print batch, and how many."""
    rows = db.session.execute(
        select(Office.id, Office.title, func.count(Delivery.id))
        .join(Letter, Letter.office_id == Office.id).join(Delivery, Delivery.letter_id == Letter.id)
        .where(Delivery.channel == Channel.PRINT, Delivery.status == DeliveryStatus.PENDING)
        .group_by(Office.id, Office.title).order_by(Office.title)).all()
    return [PrintQueueRow(office_id, title, count) for office_id, title, count in rows]


@dataclass(frozen=True)
class PacingRow:
    """One inbox with more letters waiting than pacing lets through now, and when the last should leave."""

    destination: str
    office_id: int
    office_title: str
    waiting: int  # pending letters beyond what this hour's window still allows
    sent_last_hour: int
    last_leaves_about: dt.datetime


def pacing_backlog(now: Optional[dt.datetime] = None) -> tuple[int, list[PacingRow]]:
    """(per-inbox hourly limit, inboxes where letters wait because of it), most waiting first. An estimate: the
    window lets `limit - sent in the last hour` go now, then `limit` every hour."""
    now = now or utcnow()
    limit = int(_config()["per_destination_per_hour"])
    if not limit:
        return 0, []
    pending = db.session.execute(
        select(Delivery.destination, func.max(Letter.office_id), func.max(Letter.office_title), func.count(Delivery.id))
        .join(Letter, Letter.id == Delivery.letter_id)
        .where(Delivery.channel == Channel.EMAIL, Delivery.destination.is_not(None),
               Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        .group_by(Delivery.destination)).all()
    busy = list(pending)
    if not busy:
        return limit, []
    sent = dict(db.session.execute(
        select(Delivery.destination, func.count(Delivery.id))
        .where(Delivery.destination.in_([row[0] for row in busy]), Delivery.sent_at > now - HOUR)
        .group_by(Delivery.destination)).all())
    rows = []
    for destination, office_id, title, count in busy:
        free_now = max(0, limit - sent.get(destination, 0))
        waiting = count - free_now
        if waiting > 0:
            rows.append(PacingRow(destination, office_id, title or destination, waiting, sent.get(destination, 0),
                                  now + HOUR * (waiting / limit)))
    return limit, sorted(rows, key=lambda r: (-r.waiting, r.destination))


# ------------------------------------------------------------------------------------------------ print batches

def claim_print_batch(office_id: int, now: Optional[dt.datetime] = None) -> list[Delivery]:
    """Lease every pending print delivery to one office (so a second run cannot print them too)."""
    now = now or utcnow()
    pending = (select(Delivery.id).join(Letter, Letter.id == Delivery.letter_id)
               .where(Letter.office_id == office_id, Delivery.channel == Channel.PRINT,
                      Delivery.status == DeliveryStatus.PENDING))
    ids = db.session.execute(
        update(Delivery).where(Delivery.id.in_(pending.scalar_subquery()), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, lease_expires_at=now + PRINT_LEASE,
                first_attempt_at=func.coalesce(Delivery.first_attempt_at, now), updated_at=now)
        .returning(Delivery.id).execution_options(synchronize_session=False)).scalars().all()
    if not ids:
        return []
    stmt = (select(Delivery).where(Delivery.id.in_(ids))
            .options(joinedload(Delivery.letter).joinedload(Letter.action).joinedload(Action.supporter))
            .order_by(Delivery.id).execution_options(populate_existing=True))
    return list(db.session.execute(stmt).scalars().unique())


def record_print_batch(batch: PrintBatch, claimed: list[tuple[int, int]], now: Optional[dt.datetime] = None) -> int:
    """Mark the printed deliveries (id, attempts) sent with the batch id; call only once the file is on disk."""
    now = now or utcnow()
    db.session.add(batch)
    done = sum(_fenced_update(delivery_id, attempts, now, status=DeliveryStatus.SENT, provider_ref=batch.id,
                              sent_at=now, final_at=now, lease_expires_at=None, last_error=None)
               for delivery_id, attempts in claimed)
    db.session.flush()
    return done


def release_print_batch(claimed: list[tuple[int, int]], now: Optional[dt.datetime] = None) -> None:
    """Put claimed print deliveries (id, attempts) back to pending after the batch could not be written."""
    now = now or utcnow()
    for delivery_id, attempts in claimed:
        _fenced_update(delivery_id, attempts, now, status=DeliveryStatus.PENDING, lease_expires_at=None,
                       last_error="print batch could not be written")


# ------------------------------------------------------------------------------------------------------- reach

@dataclass(frozen=True)
class OfficeReach:
    """How one office's letters travel: the first channel of its chain, or what is missing to reach it."""

    office_id: int
    title: str
    type: str
    state: str
    holder: Optional[str]
    channel: str  # the first channel of its chain ("print" = only by hand)
    chain: list[str]
    reachable: bool  # some channel other than hand delivery reaches it
    missing: list[str]  # why each channel before the first usable one was skipped
    confidence: Optional[str]


@dataclass
class ReachReport:
    """For every targeted office type: how many offices each channel reaches, and which none does."""

    campaign: Optional[str]
    offices: list[OfficeReach]

    def by_type(self) -> dict[str, dict[str, Any]]:
        summary: dict[str, dict[str, Any]] = {}
        for o in self.offices:
            row = summary.setdefault(o.type, {"offices": 0, "reachable": 0, "unreachable": 0, "by_channel": {}})
            row["offices"] += 1
            row["reachable" if o.reachable else "unreachable"] += 1
            row["by_channel"][o.channel] = row["by_channel"].get(o.channel, 0) + 1
        return summary

    @property
    def unreachable(self) -> list[OfficeReach]:
        return [o for o in self.offices if not o.reachable]

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "types": self.by_type(),
                "offices": [dataclasses.asdict(o) for o in self.offices]}


def reach(office_types: Optional[Iterable[OfficeType]] = None, state: Optional[str] = None,
          campaign: Optional[str] = None) -> ReachReport:
    """Every office of these types (all types by default; one state or all) with its channel chain."""
    stmt = (select(Office).join(Division, Division.id == Office.division_id)
            .options(joinedload(Office.division), joinedload(Office.officials))
            .order_by(Office.type, Division.state, Office.title))
    if office_types is not None:
        stmt = stmt.where(Office.type.in_(list(office_types)))
    if state:
        stmt = stmt.where(Division.state == state.lower())
    rows = []
    for office in db.session.scalars(stmt).unique():
        chain = chain_for(office)
        holder = office.holder
        missing = chain.skipped_before(chain.first.channel) if chain.reachable else chain.reasons
        if holder is None:
            missing = [*missing, "no holder's name (letters open with the office's title)"]
        rows.append(OfficeReach(
            office_id=office.id, title=office.title, type=office.type.value, state=office.division.state,
            holder=holder.name if holder else None, channel=chain.first.channel.value,
            chain=[h.channel.value for h in chain.hops], reachable=chain.reachable, missing=missing,
            confidence=office.data_confidence))
    return ReachReport(campaign, rows)


# ------------------------------------------------------------------------------------ provider callbacks

TRACKING_RANK = {"mailed": 1, "in_transit": 2, "delivered": 3}
FAILED_TRACKING = ("returned", "failed")


def track(channel: Channel, provider_ref: str, state: str, reason: str = "",
          now: Optional[dt.datetime] = None) -> str:
    """Record a provider's signed callback about a sent letter; a repeated or late callback changes nothing.

    Progress (mailed, in transit, delivered) only moves forward. A returned or failed letter moves to the next
    channel of its office's chain (hand delivery at the end). Returns "updated", "moved", "failed",
    "duplicate" or "unknown".
    """
    now = now or utcnow()
    row = db.session.execute(
        select(Delivery).where(Delivery.channel == channel, Delivery.provider_ref == provider_ref)
        .with_for_update()).scalar_one_or_none()
    if row is None:
        return "unknown"
    if state in FAILED_TRACKING:
        if row.status is not DeliveryStatus.SENT or row.tracking in FAILED_TRACKING:
            return "duplicate"
        why = f"{channel.value} {state}" + (f": {reason}" if reason else "")
        hop, notes = _next_channel(row.id, channel, why)
        row.last_error, row.updated_at, row.channel_notes = why[:500], now, notes
        if hop is None:
            row.status, row.tracking, row.final_at = DeliveryStatus.FAILED, state, now
            log.warning("delivery %s %s via %s; no channel left", row.id, state, channel.value)
            return "failed"
        row.channel, row.destination, row.status, row.attempts = hop.channel, hop.destination, DeliveryStatus.PENDING, 0
        row.provider_ref = row.tracking = row.sent_at = row.final_at = row.first_attempt_at = None
        row.next_attempt_at = now
        log.warning("delivery %s %s via %s; moved to %s", row.id, state, channel.value, hop.channel.value)
        if hop.channel in channels.QUEUED_CHANNELS:
            enqueue_on_commit([row.id])
        return "moved"
    if TRACKING_RANK.get(state, 0) <= TRACKING_RANK.get(row.tracking or "", 0) or row.tracking in FAILED_TRACKING:
        return "duplicate"
    row.tracking, row.updated_at = state, now
    return "updated"
