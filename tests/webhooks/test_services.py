"""Webhooks and the Action Network sync through their outbox: events recorded with what they report, signed per
Standard Webhooks, personal fields only for consenting supporters and only those allowed, retried with backoff,
dead-lettered, replayable; slow, failing, redirecting and private endpoints never delay letters."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest
from flask import Flask

from actionkit.db import utcnow
from actionkit.delivery import services as delivery_services
from actionkit.delivery.models import Channel, Delivery
from actionkit.extensions import db
from actionkit.letters import consent
from actionkit.letters.models import Action, Supporter
from actionkit.privacy import services as privacy
from actionkit.webhooks import clients, services, tasks
from actionkit.webhooks.fake_receiver import FakeReceiver
from actionkit.webhooks.models import EndpointKind, MessageStatus, WebhookMessage
from tests.letters.conftest import JACKSON, Journey

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver(app: Flask) -> Iterator[FakeReceiver]:
    app.config["WEBHOOKS"] = {"allow_private_hosts": ["127.0.0.1"], "read_timeout": 1.0, "max_attempts": 3}
    with FakeReceiver(secret=SECRET, api_key="an-key-123") as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What would be published after commit (the tests run the send task themselves)."""
    published: list[int] = []
    monkeypatch.setattr(services, "publish", lambda ids: published.extend(ids) or len(published))
    return published


def hook(receiver: FakeReceiver, fields=("first_name", "email"), events=tuple(services.EVENTS)):  # type: ignore[no-untyped-def]
    endpoint = services.create_endpoint(None, name="CRM", url=f"{receiver.url}/hook", kind=EndpointKind.WEBHOOK,
                                        events=events, fields=fields, secret=SECRET)
    db.session.commit()
    return endpoint


def messages(event: str | None = None) -> list[WebhookMessage]:
    stmt = db.select(WebhookMessage).order_by(WebhookMessage.id)
    if event:
        stmt = stmt.where(WebhookMessage.event == event)
    return list(db.session.scalars(stmt))


def test_signed_events_carry_allowed_fields_of_consenting_supporters_and_a_deletion(
        journey: Journey, queued: dict, receiver: FakeReceiver, no_broker: list[int]) -> None:
    hook(receiver)
    journey.complete(JACKSON, opt_in="y", source="newsletter")
    journey.complete(JACKSON, email="quiet@example.org")
    recorded = messages("signature.recorded")
    assert len(recorded) == 2 and no_broker == [m.id for m in recorded]  # published after the commit
    for message in recorded:
        tasks.send(message.id)
    db.session.expire_all()
    assert [m.status for m in messages("signature.recorded")] == [MessageStatus.SENT] * 2
    (_p1, headers, first), (_p2, _h, second) = receiver.received  # the stand-in verified each signature
    assert headers["webhook-id"] == recorded[0].msg_id and headers["webhook-signature"].startswith("v1,")
    assert first["type"] == "signature.recorded"
    assert first["data"]["first_name"] == "Ana" and first["data"]["email"] == "ana.garcia@example.org"
    assert "phone" not in first["data"] and "last_name" not in first["data"]  # not in the endpoint's list
    assert first["data"]["source"] == "newsletter" and first["data"]["county"] == "Hinds County"
    assert second["data"]["consents"] is False
    assert not {"first_name", "email", "phone", "last_name"} & set(second["data"])
    ref = first["data"]["supporter"]

    supporter = db.session.scalar(db.select(Supporter).where(Supporter.opt_in.is_(True)))
    privacy.delete_supporter(supporter)
    db.session.commit()
    [deletion] = messages("supporter.deleted")
    tasks.send(deletion.id)
    assert receiver.received[-1][2]["data"] == {"supporter": ref, "action": "delete"}


def test_withdrawn_consent_is_an_event(journey: Journey, queued: dict, receiver: FakeReceiver) -> None:
    hook(receiver, events=["consent.withdrawn"])
    journey.complete(JACKSON, opt_in="y")
    assert messages() == []  # not subscribed to signatures
    consent.withdraw(db.session.scalar(db.select(Supporter)), via="test")
    db.session.commit()
    [withdrawn] = messages("consent.withdrawn")
    tasks.send(withdrawn.id)
    assert receiver.received[-1][2]["data"]["action"] == "unsubscribe"


def test_failures_back_off_then_dead_letter_and_replay(journey: Journey, queued: dict, app: Flask,
                                                       receiver: FakeReceiver, no_broker: list[int]) -> None:
    hook(receiver, events=["signature.recorded"])
    journey.complete(JACKSON)
    [message] = messages()
    receiver.fail_next = 1
    tasks.send(message.id)
    db.session.refresh(message)
    assert message.status is MessageStatus.PENDING and message.attempts == 1 and message.last_status_code == 500
    assert message.next_attempt_at.replace(tzinfo=dt.timezone.utc) > utcnow()
    assert services.claim(message.id) is None  # not due yet: a duplicate task sends nothing
    db.session.rollback()
    later = utcnow() + dt.timedelta(hours=2)
    assert message.id in services.due(later)
    receiver.fail_next = 5
    for _try in range(2):
        held = services.claim(message.id, later)
        services.attempt(held, later)
        db.session.commit()
        later += dt.timedelta(hours=2)
    db.session.refresh(message)
    assert message.status is MessageStatus.DEAD and "gave up after 3 attempts" in message.last_error
    assert services.due(later + dt.timedelta(days=1)) == []
    receiver.fail_next = 0
    services.replay(message, None)
    db.session.commit()
    assert no_broker[-1] == message.id
    tasks.send(message.id)
    db.session.refresh(message)
    assert message.status is MessageStatus.SENT and len(receiver.received) == 1


def test_slow_endpoints_time_out_and_are_retried(journey: Journey, queued: dict, app: Flask,
                                                 receiver: FakeReceiver) -> None:
    app.config["WEBHOOKS"]["read_timeout"] = 0.3
    hook(receiver, events=["signature.recorded"])
    journey.complete(JACKSON)
    receiver.delay = 1.0
    [message] = messages()
    tasks.send(message.id)
    db.session.refresh(message)
    assert message.status is MessageStatus.PENDING and message.last_error == "timed out"


def test_redirects_are_not_followed(journey: Journey, queued: dict, receiver: FakeReceiver) -> None:
    hook(receiver, events=["signature.recorded"])
    journey.complete(JACKSON)
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    [message] = messages()
    tasks.send(message.id)
    db.session.refresh(message)
    assert message.status is MessageStatus.DEAD and "redirects are not followed" in message.last_error
    assert receiver.received == []


@pytest.mark.parametrize("address", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "::1", "192.168.1.2", "fd00::1"])
def test_hosts_resolving_to_private_addresses_are_refused(app: Flask, address: str) -> None:
    with pytest.raises(clients.Refused, match="private or reserved"):
        clients.check_url("https://crm.example.org/hook", resolver=lambda host: [address])
    clients.check_url("https://crm.example.org/hook", resolver=lambda host: ["93.184.215.14"])
    with pytest.raises(clients.Refused, match="https"):
        clients.check_url("http://crm.example.org/hook", resolver=lambda host: ["93.184.215.14"])


def test_delivered_letters_are_events(journey: Journey, queued: dict, app: Flask, receiver: FakeReceiver) -> None:
    hook(receiver, events=["letter.delivered", "letter.failed"])
    journey.complete(JACKSON)
    email_delivery = db.session.scalar(db.select(Delivery).where(Delivery.channel == Channel.EMAIL))
    held = delivery_services.claim(email_delivery.id)
    delivery_services.attempt(held)
    db.session.commit()
    [delivered] = messages("letter.delivered")
    tasks.send(delivered.id)
    data = receiver.received[-1][2]["data"]
    assert data["channel"] == "email" and data["status"] == "sent" and "email" not in data


def test_action_network_sync_pushes_only_consenting_supporters(journey: Journey, queued: dict,
                                                               receiver: FakeReceiver) -> None:
    services.create_endpoint(None, name="Action Network", url=receiver.url, kind=EndpointKind.ACTION_NETWORK,
                             events=services.ACTION_NETWORK_EVENTS, fields=(), secret="an-key-123")
    db.session.commit()
    journey.complete(JACKSON, email="quiet@example.org")
    assert messages() == []
    journey.complete(JACKSON, opt_in="y", source="whatsapp")
    [message] = messages()
    tasks.send(message.id)
    db.session.refresh(message)
    assert message.status is MessageStatus.SENT and "fake-1" in message.last_response
    path, headers, body = receiver.received[-1]
    assert path == "/people/" and headers["osdi-api-token"] == "an-key-123"
    assert body["person"]["email_addresses"] == [{"address": "ana.garcia@example.org", "status": "subscribed"}]
    assert body["person"]["phone_numbers"][0]["number"] == "601-555-0142"
    assert body["add_tags"] == ["actionkit:end-ice-detainers-ms", "source:whatsapp"]
    consent.withdraw(db.session.scalar(db.select(Supporter).where(Supporter.opt_in.is_(True))), via="test")
    db.session.commit()
    [unsubscribe] = messages("consent.withdrawn")
    tasks.send(unsubscribe.id)
    assert receiver.received[-1][2]["person"]["email_addresses"][0]["status"] == "unsubscribed"


def test_messages_hold_no_personal_data_in_clear(journey: Journey, queued: dict, receiver: FakeReceiver) -> None:
    hook(receiver)
    journey.complete(JACKSON, opt_in="y")
    raw = db.session.execute(db.text("SELECT payload FROM webhook_messages")).scalar_one()
    assert "ana.garcia@example.org" not in raw and "Ana" not in raw


def test_a_submitted_story_is_an_event_without_its_text_or_name(app: Flask, receiver: FakeReceiver) -> None:
    from actionkit.stories import services as stories
    from actionkit.stories.models import Consent as StoryConsent
    from tests.factories import make_campaign

    hook(receiver, events=["story.submitted"], fields=("first_name", "email"))
    campaign = make_campaign(slug="stories")
    stories.submit(campaign, text="Mi historia secreta", consent=StoryConsent.ANONYMOUS, language="es",
                   name="Rosa", email="rosa@example.org")
    db.session.commit()
    [message] = messages("story.submitted")
    tasks.send(message.id)
    data = receiver.received[-1][2]["data"]
    assert data["campaign"] == "stories" and data["language"] == "es" and data["story"].startswith("story_")
    assert "secreta" not in str(data) and "Rosa" not in str(data) and "rosa@" not in str(data)
