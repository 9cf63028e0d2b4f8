"""Webhook events as outbox rows, and their sending. Events are captured from the session as the changes they
report are flushed (a new action; a supporter's consent withdrawn or data deleted) or from the delivery domain's
outcome listener (a letter sent or failed), so each message is written in the same transaction as its cause and
published only after commit. Personal fields go only to endpoints allowed them, and only for supporters who
consent. Plain functions: they flush, the caller commits."""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import secrets
from typing import Any, Iterable

from sqlalchemy import event, insert, or_, select, update
from sqlalchemy.orm import Session

from actionkit import celery_app
from actionkit.campaigns.models import Campaign
from actionkit.db import utcnow
from actionkit.delivery import services as delivery_services
from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.officials.models import Division
from actionkit.privacy.crypto import crypto
from actionkit.stories.models import Story
from actionkit.webhooks import clients
from actionkit.webhooks.models import EndpointKind, MessageStatus, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)

EVENTS = {
    "signature.recorded": "A supporter signed (the campaign, county, language and source; their fields if they consent)",
    "letter.delivered": "A letter was delivered to an official",
    "letter.failed": "A letter could not be delivered (permanently, or after every retry)",
    "story.submitted": "A supporter shared a story (waiting for moderation; no text or name is sent)",
    "consent.withdrawn": "A supporter withdrew their consent to be contacted: stop contacting them",
    "supporter.deleted": "A supporter deleted their data: delete everything you hold about them",
}
PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone", "city", "zip")
ACTION_NETWORK_EVENTS = ("signature.recorded", "consent.withdrawn")
_PUBLISH = "actionkit.webhooks.publish_after_commit"
_m = WebhookMessage.__table__


def supporter_ref(supporter_id: int) -> str:
    """A stable, opaque reference to a supporter for receivers (never the database id)."""
    return "sup_" + crypto().lookup_hash(str(supporter_id), "webhook-supporter-ref")[:24]


# --- recording events --------------------------------------------------------------------------------------------

def _endpoints(conn: Any, event_name: str) -> list[Any]:
    rows = conn.execute(select(WebhookEndpoint.__table__).where(WebhookEndpoint.__table__.c.active.is_(True)))
    return [r for r in rows if event_name in (r.events or [])]


def _record(session: Session, event_name: str, data: dict[str, Any], personal: dict[str, Any] | None,
            an_person: dict[str, Any] | None = None) -> None:
    """One message per subscribed endpoint: the shared data, plus the personal fields each may receive."""
    conn = session.connection()
    now = utcnow()
    for endpoint in _endpoints(conn, event_name):
        if endpoint.kind == EndpointKind.ACTION_NETWORK.value:
            if an_person is None or event_name not in ACTION_NETWORK_EVENTS:
                continue
            body: dict[str, Any] = an_person
        else:
            allowed = {k: v for k, v in (personal or {}).items() if k in (endpoint.fields or []) and v}
            body = {"type": event_name, "timestamp": now.isoformat(), "data": {**data, **allowed}}
        msg_id = "msg_" + secrets.token_hex(12)
        new_id = conn.execute(insert(_m).returning(_m.c.id), {
            "endpoint_id": endpoint.id, "event": event_name, "msg_id": msg_id,
            "payload": clients.dumps(body), "status": MessageStatus.PENDING.value,
            "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}).scalar_one()
        session.info.setdefault(_PUBLISH, []).append(new_id)


def _county_name(conn: Any, county_id: int | None) -> str | None:
    if county_id is None:
        return None
    return conn.execute(select(Division.__table__.c.name).where(Division.__table__.c.id == county_id)).scalar()


def _signature(session: Session, action: Action) -> None:
    supporter, campaign = action.supporter, action.campaign
    county = _county_name(session.connection(), action.county_id)
    data = {"supporter": supporter_ref(supporter.id), "campaign": campaign.slug, "county": county,
            "language": action.language, "source": action.source, "consents": bool(supporter.opt_in)}
    personal = None
    an_person = None
    if supporter.opt_in:  # personal data only for supporters who agreed to hear from the organization
        personal = {"first_name": supporter.first_name, "last_name": supporter.last_name, "email": supporter.email,
                    "phone": supporter.phone, "city": action.city, "zip": action.zip}
        person: dict[str, Any] = {
            "given_name": supporter.first_name, "family_name": supporter.last_name,
            "email_addresses": [{"address": supporter.email, "status": "subscribed"}],
            "postal_addresses": [{k: v for k, v in {"locality": action.city, "postal_code": action.zip,
                                                    "region": (action.state or "").upper(),
                                                    "country": "US"}.items() if v}],
            "languages_spoken": [action.language]}
        if supporter.phone:
            person["phone_numbers"] = [{"number": supporter.phone, "number_type": "Mobile"}]
        tags = [f"actionkit:{campaign.slug}"] + ([f"source:{action.source}"] if action.source else [])
        an_person = {"person": person, "add_tags": tags}
    _record(session, "signature.recorded", data, personal, an_person)


def _supporter_changed(session: Session, supporter: Supporter) -> None:
    from sqlalchemy import inspect

    state = inspect(supporter)
    deleted = state.attrs.deleted_at.history
    if deleted.added and deleted.added[0] is not None and not any(deleted.deleted):
        _record(session, "supporter.deleted", {"supporter": supporter_ref(supporter.id), "action": "delete"}, None)
        return
    opt_in = state.attrs.opt_in.history
    if opt_in.deleted and opt_in.deleted[0] is True and opt_in.added and opt_in.added[0] is False:
        email = state.attrs.email.value
        an = {"person": {"email_addresses": [{"address": email, "status": "unsubscribed"}]}} if email else None
        _record(session, "consent.withdrawn", {"supporter": supporter_ref(supporter.id), "action": "unsubscribe"},
                None, an)


@event.listens_for(Session, "after_flush")
def _capture(session: Session, flush_context: Any) -> None:
    """Turn the flushed changes into messages in the same transaction (a no-op when no endpoint subscribes)."""
    interesting = [o for o in session.new if isinstance(o, (Action, Story))] + \
        [o for o in session.dirty if isinstance(o, Supporter)]
    if not interesting:
        return
    if not session.connection().execute(select(WebhookEndpoint.__table__.c.id)
                                        .where(WebhookEndpoint.__table__.c.active.is_(True)).limit(1)).first():
        return
    for obj in interesting:
        if isinstance(obj, Action):
            _signature(session, obj)
        elif isinstance(obj, Story):
            _record(session, "story.submitted", {
                "story": "story_" + crypto().lookup_hash(str(obj.id), "webhook-story-ref")[:16],
                "campaign": session.connection().execute(select(Campaign.__table__.c.slug).where(
                    Campaign.__table__.c.id == obj.campaign_id)).scalar(),
                "language": obj.language, "consent": obj.consent.value if obj.consent else None,
                "county": _county_name(session.connection(), obj.county_id)}, None)
        else:
            _supporter_changed(session, obj)


def _delivery_outcome(delivery_id: int, status: DeliveryStatus) -> None:
    """The delivery domain's listener: a final outcome of a letter becomes letter.delivered / letter.failed."""
    if status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.DEAD):
        return
    session = db.session()
    row = session.execute(select(Delivery.channel, Letter.office_type, Action.supporter_id, Campaign.slug)
                          .join(Letter, Letter.id == Delivery.letter_id).join(Action, Action.id == Letter.action_id)
                          .join(Campaign, Campaign.id == Action.campaign_id).where(Delivery.id == delivery_id)).first()
    if row is None:
        return
    name = "letter.delivered" if status is DeliveryStatus.SENT else "letter.failed"
    _record(session, name, {"supporter": supporter_ref(row.supporter_id), "campaign": row.slug,
                            "office_type": row.office_type, "channel": row.channel.value,
                            "status": status.value}, None)


delivery_services.OUTCOME_LISTENERS.append(_delivery_outcome)


SEND_TASK = "webhooks.send"


def publish(ids: Iterable[int]) -> int:
    """Queue webhooks.send for these ids (after the commit that wrote them); the sweep catches up on the rest."""
    return celery_app.publish_many(SEND_TASK, [[int(i)] for i in ids])


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    ids = session.info.pop(_PUBLISH, None)
    if ids:
        publish(ids)


@event.listens_for(Session, "after_rollback")
def _discard_on_rollback(session: Session) -> None:
    session.info.pop(_PUBLISH, None)


# --- sending -----------------------------------------------------------------------------------------------------

def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


def claim(message_id: int, now: dt.datetime | None = None) -> WebhookMessage | None:
    """Take a due message with a lease (conditional UPDATE); None when another task has it or it is done."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=float(clients.settings()["lease_seconds"]))
    taken = db.session.execute(
        update(_m).where(_m.c.id == message_id, or_(
            (_m.c.status == MessageStatus.PENDING.value) & or_(_m.c.next_attempt_at.is_(None),
                                                               _m.c.next_attempt_at <= now),
            (_m.c.status == MessageStatus.SENDING.value) & (_m.c.lease_expires_at < now)))
        .values(status=MessageStatus.SENDING.value, lease_expires_at=now + lease, attempts=_m.c.attempts + 1,
                updated_at=now)).rowcount
    if taken != 1:
        return None
    return db.session.get(WebhookMessage, message_id, populate_existing=True)


def attempt(message: WebhookMessage, now: dt.datetime | None = None) -> MessageStatus:
    """Send a claimed message once and record the classified answer (backoff, or dead-letter)."""
    now = now or utcnow()
    endpoint = message.endpoint
    if not endpoint.active:
        answer = clients.Answer("permanent", error="the endpoint is switched off")
    elif endpoint.kind is EndpointKind.ACTION_NETWORK:
        answer = clients.send_action_network(endpoint.url, endpoint.secret, message.msg_id, message.payload, now)
    else:
        answer = clients.send_webhook(endpoint.url, endpoint.secret, message.msg_id, message.payload, now)
    cfg = clients.settings()
    message.last_status_code, message.last_response = answer.status_code, answer.response
    message.last_error, message.lease_expires_at = (answer.error or None), None
    if answer.result == "sent":
        message.status, message.sent_at = MessageStatus.SENT, now
    elif answer.result == "permanent":
        message.status = MessageStatus.DEAD
    else:
        deadline = (_aware(message.created_at) or now) + dt.timedelta(hours=float(cfg["deadline_hours"]))
        if message.attempts >= int(cfg["max_attempts"]) or now >= deadline:
            message.status = MessageStatus.DEAD
            message.last_error = f"gave up after {message.attempts} attempts: {answer.error}"[:500]
        else:
            cap = min(float(cfg["backoff_cap_seconds"]), float(cfg["backoff_base_seconds"]) * 2 ** message.attempts)
            message.status = MessageStatus.PENDING
            message.next_attempt_at = now + dt.timedelta(seconds=cap / 2 + random.random() * cap / 2)
    db.session.flush()
    log.info("webhook message %s to endpoint %s: %s (%s)", message.id, endpoint.id, message.status.value,
             answer.status_code or answer.error)
    return message.status


def due(now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Messages the sweep should queue: due pending ones, and those whose lease expired."""
    now = now or utcnow()
    return list(db.session.scalars(select(_m.c.id).where(or_(
        (_m.c.status == MessageStatus.PENDING.value) & (_m.c.next_attempt_at <= now),
        (_m.c.status == MessageStatus.SENDING.value) & (_m.c.lease_expires_at < now))).order_by(_m.c.id).limit(limit)))


def replay(message: WebhookMessage, actor: Any) -> None:
    """Send a message again (dead, or sent and lost by the receiver): same webhook-id, so receivers deduplicate."""
    from actionkit.staff.services import audit

    message.status, message.next_attempt_at, message.lease_expires_at = MessageStatus.PENDING, utcnow(), None
    message.attempts = 0
    audit(actor, "webhook.replay", "webhook_message", message.id, endpoint=message.endpoint_id)
    db.session.flush()
    session = db.session()
    session.info.setdefault(_PUBLISH, []).append(message.id)


def create_endpoint(actor: Any, *, name: str, url: str, kind: EndpointKind, events: Iterable[str],
                    fields: Iterable[str], secret: str | None = None) -> WebhookEndpoint:
    """A new endpoint; its URL must pass the SSRF check now (and again before every send)."""
    from actionkit.staff.services import audit

    clients.check_url(url if kind is EndpointKind.WEBHOOK else url.rstrip("/") + "/people/")
    endpoint = WebhookEndpoint(name=name, url=url, kind=kind, events=[e for e in events if e in EVENTS],
                               fields=[f for f in fields if f in PERSONAL_FIELDS],
                               secret=secret or clients.new_secret(), active=True)
    db.session.add(endpoint)
    db.session.flush()
    audit(actor, "webhook.endpoint_created", "webhook_endpoint", endpoint.id, kind=kind.value,
          events=endpoint.events, fields=endpoint.fields)
    return endpoint


def recent(limit: int = 100) -> list[WebhookMessage]:
    return list(db.session.scalars(select(WebhookMessage).order_by(WebhookMessage.id.desc()).limit(limit)))


def payload_of(message: WebhookMessage) -> dict[str, Any]:
    return json.loads(message.payload)
