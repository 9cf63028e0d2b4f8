"""Postal mail through Lob (stand-in: actionkit.delivery.fake_lob) and fax through a Standard Webhooks-signed
provider: sending, idempotency, classified errors, signed callbacks moving or failing over the letter."""
from __future__ import annotations

import base64
import json
import logging
import time
from typing import Iterator

import pytest
from flask import Flask

from actionkit.delivery import services
from actionkit.delivery.channels import Channel, Outgoing, Result, chain_for
from actionkit.delivery.channels import fax as fax_channel
from actionkit.delivery.channels import postal
from actionkit.delivery.fake_lob import FakeLob
from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.services import delivery_status
from actionkit.officials.models import OfficeType
from tests.factories import make_action, make_campaign, make_office

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
DC = "2368 Rayburn House Office Building Washington DC 20515-2402"


@pytest.fixture
def lob(app: Flask) -> Iterator[FakeLob]:
    with FakeLob(api_key="test_k", fax_secret=SECRET) as fake:
        app.config["LOB"].update(api_key="test_k", base_url=fake.url + "/v1", webhook_secret="lob-secret",
                                 from_name="Mississippi Rights", from_address="1 Example St, Jackson, MS 39201")
        app.config["FAX"].update(url=fake.url + "/fax", secret=SECRET)
        yield fake


def letter(delivery_id: int = 5, destination: str = DC, channel: Channel = Channel.POSTAL) -> Outgoing:
    return Outgoing(id=delivery_id, channel=channel, destination=destination, office_title="U.S. Representative",
                    subject="Please act", body="Dear Representative,\n\nPlease act.\n\nAna García",
                    supporter_email="ana@example.org", supporter_name="Ana García", withdrawn=False)


@pytest.mark.parametrize("text, expected", [
    (DC, postal.Address("2368 Rayburn House Office Building", "Washington", "DC", "20515-2402")),
    ("306 State Street, Natchez, MS 39120", postal.Address("306 State Street", "Natchez", "MS", "39120")),
    ("1 Main St, Bay St. Louis, MS 39520", postal.Address("1 Main St", "Bay St. Louis", "MS", "39520")),
    ("306 State Street, Natchez, MS", None),  # no ZIP: Lob cannot mail it
])
def test_one_line_addresses(text, expected):
    assert postal.parse_address(text) == expected


def test_postal_letter_is_created_once_per_delivery(app, lob):
    channel = postal.PostalChannel(app.config["LOB"])
    first, again = channel.send(letter()), channel.send(letter())
    assert first.result is Result.SENT and first.provider_ref.startswith("ltr_")
    assert again.provider_ref == first.provider_ref and len(lob.letters) == 1  # the idempotency key
    sent = next(iter(lob.letters.values()))
    assert sent["to"]["address_zip"] == "20515-2402" and sent["from"]["address_city"] == "Jackson"
    assert "Please act." in sent["file"] and sent["use_type"] == "operational"


def test_postal_errors_are_classified(app, lob):
    channel = postal.PostalChannel(app.config["LOB"])
    bad = channel.send(letter(6, destination="1 Nowhere Rd, Jackson, MS 3920"))
    assert bad.result is Result.PERMANENT and "not a US address" in bad.reason
    app.config["LOB"]["from_address"] = "1 Example St, Jackson, MS 39201"
    lob.mode = "500"
    assert channel.send(letter(7)).result is Result.TRANSIENT
    lob.mode, lob.delay = "timeout", 2.0
    app.config["LOB"]["timeout"] = 0.3
    assert channel.send(letter(8)).reason == "postal: Lob timeout"
    lob.mode = "ok"
    app.config["LOB"]["api_key"] = "wrong"
    assert "(check ACTIONKIT_LOB__api_key)" in channel.send(letter(9)).reason


def _signed_lob(body: dict, secret: str = "lob-secret", ts: str | None = None) -> dict:
    raw = json.dumps(body).encode()
    ts = ts or str(int(time.time()))
    return {"data": raw, "content_type": "application/json",
            "headers": {"Lob-Signature-Timestamp": ts, "Lob-Signature": postal.sign(secret, ts, raw)}}


def _sent_postal(app, ref: str) -> Delivery:
    rep = make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None,
                      postal_address=DC)
    action = make_action(make_campaign(target_types=[OfficeType.US_REPRESENTATIVE]), offices=[rep])
    delivery = action.letters[0].delivery
    delivery.channel, delivery.destination, delivery.status = Channel.POSTAL, DC, DeliveryStatus.SENT
    delivery.provider_ref, delivery.attempts = ref, 1
    db.session.commit()
    return delivery


def test_lob_webhooks_track_the_letter_and_duplicates_are_harmless(app, lob, caplog):
    delivery = _sent_postal(app, "ltr_abc")
    client = app.test_client()
    event = {"id": "evt_1", "event_type": {"id": "letter.in_transit"}, "body": {"id": "ltr_abc"}}
    forged = _signed_lob(event, secret="not-ours")
    with caplog.at_level(logging.WARNING):
        assert client.post("/hooks/lob", **forged).status_code == 401
    assert "lob callback refused: bad or missing signature" in caplog.text
    stale = _signed_lob(event, ts=str(int(time.time()) - 3600))
    assert client.post("/hooks/lob", **stale).status_code == 401
    assert client.post("/hooks/lob", **_signed_lob(event)).get_json() == {"result": "updated"}
    assert client.post("/hooks/lob", **_signed_lob(event)).get_json() == {"result": "duplicate"}
    mailed = {**event, "event_type": {"id": "letter.mailed"}}
    assert client.post("/hooks/lob", **_signed_lob(mailed)).get_json() == {"result": "duplicate"}  # never back
    db.session.expire_all()
    row = db.session.get(Delivery, delivery.id)
    assert row.tracking == "in_transit" and delivery_status(row) == "postal_in_transit"


def test_a_returned_letter_moves_to_hand_delivery(app, lob):
    delivery = _sent_postal(app, "ltr_ret")
    event = {"id": "evt_2", "event_type": {"id": "letter.returned_to_sender"}, "body": {"id": "ltr_ret"}}
    client = app.test_client()
    assert client.post("/hooks/lob", **_signed_lob(event)).get_json() == {"result": "moved"}
    assert client.post("/hooks/lob", **_signed_lob(event)).get_json() == {"result": "unknown"}
    db.session.expire_all()
    row = db.session.get(Delivery, delivery.id)
    assert (row.channel, row.status, row.provider_ref, row.sent_at) == (Channel.PRINT, DeliveryStatus.PENDING,
                                                                        None, None)
    assert "postal: failed: postal returned: letter.returned_to_sender" in row.channel_notes
    assert delivery_status(row) == "print_queued"  # never shown as sent


def test_fax_is_signed_and_the_providers_callback_reports_the_outcome(app, lob):
    channel = fax_channel.FaxChannel(app.config["FAX"])
    outcome = channel.send(letter(11, destination="+16015550123", channel=Channel.FAX))
    assert outcome.result is Result.SENT and outcome.provider_ref == fax_channel.reference(11)
    assert lob.faxes[0]["to"] == "+16015550123" and lob.faxes[0]["delivery"] == outcome.provider_ref
    app.config["FAX"]["secret"] = "whsec_" + base64.b64encode(b"another secret, not the provider's").decode()
    refused = fax_channel.FaxChannel(app.config["FAX"]).send(letter(12, destination="+16015550123",
                                                                      channel=Channel.FAX))
    assert refused.result is Result.TRANSIENT and refused.reason == "fax: provider 401"
    lob.fax_status = 500
    app.config["FAX"]["secret"] = SECRET
    assert channel.send(letter(13, destination="+16015550123", channel=Channel.FAX)).result is Result.TRANSIENT


def test_fax_callback_failed_falls_back_and_bad_signatures_are_refused(app, lob):
    sheriff = make_office(OfficeType.SHERIFF, county="Madison", email=None, fax="601-555-0123",
                          postal_address="2 Sheriff Rd, Canton, MS 39046")
    chain = chain_for(sheriff, app.config)
    assert [h.channel for h in chain.hops] == [Channel.FAX, Channel.POSTAL, Channel.PRINT]
    action = make_action(make_campaign(), offices=[sheriff])
    delivery = action.letters[0].delivery
    ref = fax_channel.reference(delivery.id)
    delivery.channel, delivery.destination, delivery.status, delivery.provider_ref = (
        Channel.FAX, "+16015550123", DeliveryStatus.SENT, ref)
    db.session.commit()
    client = app.test_client()
    payload = json.dumps({"type": "fax.failed", "delivery": ref, "reason": "busy line"}).encode()
    bad = fax_channel.signed("whsec_" + base64.b64encode(b"someone else's secret!!").decode(), payload, "msg_1")
    assert client.post("/hooks/fax", data=payload, headers=bad).status_code == 401
    good = fax_channel.signed(SECRET, payload, "msg_1")
    assert client.post("/hooks/fax", data=payload, headers=good).get_json() == {"result": "moved"}
    db.session.expire_all()
    row = db.session.get(Delivery, delivery.id)
    assert (row.channel, row.destination) == (Channel.POSTAL, "2 Sheriff Rd, Canton, MS 39046")
    assert row.status is DeliveryStatus.PENDING and delivery_status(row) == "postal_queued"


def test_postal_and_fax_through_the_send_path(app, lob, monkeypatch):
    monkeypatch.setattr(services, "enqueue", lambda ids: len(list(ids)))
    rep = make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None,
                      postal_address=DC)
    values = services.delivery_values(rep)  # CWC not configured: postal comes next
    assert (values["channel"], values["destination"]) == (Channel.POSTAL, DC)
    action = make_action(make_campaign(target_types=[OfficeType.US_REPRESENTATIVE]), offices=[rep])
    delivery = action.letters[0].delivery
    delivery.channel, delivery.destination = Channel.POSTAL, DC
    db.session.commit()
    held = services.claim(delivery.id)
    db.session.commit()
    assert services.attempt(held) is DeliveryStatus.SENT
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Delivery, delivery.id)
    assert row.provider_ref in lob.letters and delivery_status(row) == "postal_sent"
