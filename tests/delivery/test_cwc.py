"""The CWC channel: the XML 2.0 document, the strict stand-in, classified answers, maintenance windows, the chain
from CWC to print, and `flask delivery cwc-validate`. Names and addresses are made up."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Iterator

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.config import ConfigError
from actionkit.delivery import services
from actionkit.delivery.channels import Channel, Constituent, Outgoing, Result, chain_for, cwc
from actionkit.delivery.fake_cwc import FakeCwc, validate
from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from tests.conftest import _config
from tests.factories import make_action, make_campaign, make_office, make_supporter

AGENT = {"delivery_agent": "actionkit test", "delivery_agent_ack_email": "ack@example.org",
         "delivery_agent_contact_name": "Ops Person", "delivery_agent_contact_email": "ops@example.org",
         "delivery_agent_contact_phone": "601-555-0199"}
WHO = Constituent(prefix="Ms.", first_name="Ana", last_name="García", street="400 High St", city="Jackson",
                  state="MS", zip="39201", email="ana@example.org", phone="(601) 555-0100")


def letter(delivery_id: int = 7, *, who: Constituent = WHO, code: str = "HMS02",
           office_type: str = "us_representative") -> Outgoing:
    return Outgoing(id=delivery_id, channel=Channel.CWC, destination=code, office_title="U.S. Representative",
                    subject="Please stop funding 287(g)",
                    body="Dear Representative Thompson,\n\nPlease act.\n\nSincerely,\nAna García\nJackson",
                    supporter_email=who.email, supporter_name="Ana García", withdrawn=False, campaign_id=3,
                    office_type=office_type, constituent=who)


@pytest.fixture
def cfg(app: Flask) -> dict:
    app.config["CWC"].update(AGENT)
    return app.config["CWC"]


@pytest.fixture
def house(app: Flask, cfg: dict) -> Iterator[FakeCwc]:
    with FakeCwc(chamber="house", api_key="k-house", agent=AGENT["delivery_agent"],
                 offices=["HMS01", "HMS02", "HMS03", "HMS04"]) as fake:
        cfg.update(house_url=fake.url, api_key="k-house", house_maintenance="")
        yield fake


def test_document_is_cwc_2_0_in_order_and_passes_the_strict_stand_in(app, cfg):
    xml = cwc.build_xml(letter(), cfg, chamber="house", office_code="HMS02", today=dt.date(2026, 12, 3))
    errors, root = validate(xml, chamber="house", agent=AGENT["delivery_agent"])
    assert errors == []
    assert [e.tag for e in root] == ["CWCVersion", "Delivery", "Recipient", "Constituent", "Message"]
    assert [e.tag for e in root.find("Constituent")] == [
        "Prefix", "FirstName", "LastName", "Address1", "City", "StateAbbreviation", "Zip", "Phone", "Email"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", root.findtext("Delivery/DeliveryId"))
    assert root.findtext("Delivery/DeliveryDate") == "20261203"
    assert root.findtext("Recipient/MemberOffice") == "HMS02"
    assert root.findtext("Constituent/Phone") == "601-555-0100"
    assert [t.text for t in root.iter("LibraryOfCongressTopic")] == ["Immigration"]
    message = root.findtext("Message/ConstituentMessage")
    assert message.endswith("Sincerely,") and "García" not in message and "Jackson" not in message


def test_ids_are_stable_per_letter_and_campaign(app, cfg):
    first = ET.fromstring(cwc.build_xml(letter(7), cfg, chamber="house", office_code="HMS02"))
    again = ET.fromstring(cwc.build_xml(letter(7), cfg, chamber="house", office_code="HMS02"))
    other = ET.fromstring(cwc.build_xml(letter(8), cfg, chamber="house", office_code="HMS02"))
    assert first.findtext("Delivery/DeliveryId") == again.findtext("Delivery/DeliveryId")
    assert first.findtext("Delivery/DeliveryId") != other.findtext("Delivery/DeliveryId")
    assert first.findtext("Delivery/CampaignId") == other.findtext("Delivery/CampaignId")


@pytest.mark.parametrize("change, message", [
    ({"zip": "3920"}, "ZIP is not 5 digits"),
    ({"street": None}, "street address is missing"),
    ({"prefix": None}, "no title the House accepts"),
])
def test_incomplete_constituent_is_undeliverable(app, cfg, change, message):
    who = Constituent(**{**WHO.__dict__, **change})
    with pytest.raises(cwc.Undeliverable, match=message):
        cwc.build_xml(letter(who=who), cfg, chamber="house", office_code="HMS02")


def test_prefix_is_mapped_per_chamber_and_never_guessed():
    assert cwc.prefix_for(None, "house") == "Mx."  # the neutral choice
    assert cwc.prefix_for("none", "senate") is None  # the Senate has no neutral title
    assert cwc.prefix_for("mx", "senate") is None
    assert cwc.prefix_for("dr", "senate") == "Dr."


def test_stand_in_lists_every_problem_and_order_matters():
    body = (b"<CWC><CWCVersion>2.0</CWCVersion><Delivery><DeliveryId>short</DeliveryId></Delivery>"
            b"<Constituent/><Recipient><MemberOffice>HMS02</MemberOffice></Recipient></CWC>")
    errors, _ = validate(body, chamber="house", agent="x")
    text = " ".join(errors)
    assert "'DeliveryId' element is invalid" in text and "missing child element 'DeliveryDate'" in text
    assert "missing child element 'Recipient' (found 'Constituent' instead)" in text


def test_send_through_the_stand_in(app, house):
    outcome = cwc.CwcChannel(app.config["CWC"]).send(letter())
    assert outcome.result is Result.SENT and outcome.provider_ref == cwc.delivery_id(7)
    assert list(house.delivered) == [cwc.delivery_id(7)]


def test_400_is_permanent_with_every_server_error_and_no_personal_data(app, house):
    house.disabled.append("HMS02")
    outcome = cwc.CwcChannel(app.config["CWC"]).send(letter())
    assert outcome.result is Result.PERMANENT
    assert outcome.reason == "cwc house 400: Message delivery is not enabled for HMS02"
    bad_email = Constituent(**{**WHO.__dict__, "email": "ana@example"})
    outcome = cwc.CwcChannel(app.config["CWC"]).send(letter(9, who=bad_email))
    assert outcome.result is Result.PERMANENT and "Email" in outcome.reason and "ana@" not in outcome.reason


def test_503_and_timeouts_back_off(app, house):
    house.mode = "503"
    assert cwc.CwcChannel(app.config["CWC"]).send(letter()).result is Result.TRANSIENT
    house.mode, house.delay = "timeout", 2.0
    app.config["CWC"]["timeout"] = 0.3
    outcome = cwc.CwcChannel(app.config["CWC"]).send(letter())
    assert (outcome.result, outcome.reason) == (Result.TRANSIENT, "cwc house timeout")


def test_senate_409_means_already_delivered(app, cfg):
    with FakeCwc(chamber="senate", api_key="k-sen", agent=AGENT["delivery_agent"], offices=["SMS01"]) as fake:
        cfg.update(senate_url=fake.url, senate_api_key="k-sen", senate_maintenance="")
        channel = cwc.CwcChannel(cfg)
        sen = letter(code="SMS01", office_type="us_senator")
        first, second = channel.send(sen), channel.send(sen)
        assert [fake.requests[-2][1], fake.requests[-1][1]] == [201, 409]
        assert first.result is Result.SENT and second.result is Result.SENT


def test_maintenance_window_defers_without_calling(app, house):
    app.config["CWC"]["house_maintenance"] = "Mon-Sun 00:00-06:00"
    at_night = dt.datetime(2026, 12, 3, 7, 30, tzinfo=dt.timezone.utc)  # 02:30 Eastern
    outcome = cwc.CwcChannel(app.config["CWC"]).send(letter(), now=at_night)
    assert outcome.result is Result.TRANSIENT and outcome.retry_at == dt.datetime(2026, 12, 3, 11, 0,
                                                                                  tzinfo=dt.timezone.utc)
    assert house.requests == []
    wednesday = dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.timezone.utc)  # Wed 06:00 Eastern
    assert cwc.maintenance_until(wednesday, "Sun 00:00-06:00;Wed 05:00-07:00") is not None
    assert cwc.maintenance_until(wednesday, "Sun 00:00-06:00") is None


def test_congress_chain_is_cwc_then_print_and_a_400_falls_back(app, house, monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda ids: published.extend(ids) or len(published))
    rep = make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None)
    chain = chain_for(rep, app.config)
    assert [(h.channel, h.destination) for h in chain.hops] == [(Channel.CWC, "HMS02"), (Channel.PRINT, None)]
    campaign = make_campaign(target_types=[OfficeType.US_REPRESENTATIVE])
    action = make_action(campaign, make_supporter(first_name="Ana", last_name="García"), offices=[rep])
    delivery = action.letters[0].delivery
    delivery.channel, delivery.destination = Channel.CWC, "HMS02"
    db.session.commit()

    house.disabled.append("HMS02")
    held = services.claim(delivery.id)
    db.session.commit()
    assert services.attempt(held) is DeliveryStatus.PENDING
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Delivery, delivery.id)
    assert row.channel is Channel.PRINT and row.attempts == 0
    assert row.channel_notes.splitlines() == [
        "cwc: failed: cwc house 400: Message delivery is not enabled for HMS02",
        "email: the office has no email address", "postal: Lob is not configured (ACTIONKIT_LOB__api_key)",
        "moved to print"]

    house.disabled.clear()
    other = make_action(campaign, make_supporter(first_name="Luis", last_name="Pérez"), offices=[rep])
    second = other.letters[0].delivery
    second.channel, second.destination = Channel.CWC, "HMS02"
    db.session.commit()
    held = services.claim(second.id)
    db.session.commit()
    assert services.attempt(held) is DeliveryStatus.SENT
    sent = ET.fromstring(next(iter(house.delivered.values())))
    assert sent.findtext("Constituent/LastName") == "Pérez" and sent.findtext("Constituent/Address1") == "400 High St"


def test_new_deliveries_start_on_cwc_only_when_configured(app, cfg):
    rep = make_office(OfficeType.US_REPRESENTATIVE, number=3, holder="Michael Guest", email=None)
    values = services.delivery_values(rep)
    assert (values["channel"], values["destination"]) == (Channel.PRINT, None)
    assert "cwc: House CWC is not configured (ACTIONKIT_CWC__house_url)" in values["channel_notes"]
    cfg.update(house_url="http://127.0.0.1:9", api_key="k")
    values = services.delivery_values(rep)
    assert (values["channel"], values["destination"], values["channel_notes"]) == (Channel.CWC, "HMS03", None)


def test_cwc_validate_command(app, house):
    make_office(OfficeType.US_REPRESENTATIVE, number=1, holder="Trent Kelly", email=None)
    make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["delivery", "cwc-validate"])
    assert result.exit_code == 0, result.output
    assert "HMS01: ok" in result.output and "HMS02: ok" in result.output
    assert house.delivered == {}  # validation delivers nothing
    house.disabled.append("HMS02")
    result = runner.invoke(args=["delivery", "cwc-validate", "--office", "HMS02"])
    assert result.exit_code == 1
    assert "HMS02: FAILED cwc house 400: Message delivery is not enabled for HMS02" in result.output
    house.agent = "someone else"
    result = runner.invoke(args=["delivery", "cwc-validate", "--office", "HMS01"])
    assert result.exit_code == 1 and "does not match the owner of the API key" in result.output


@pytest.mark.parametrize("given, message", [
    ({"house_url": "https://cwc.example"}, "ACTIONKIT_CWC__api_key is required"),
    ({"house_url": "https://cwc.example", "api_key": "k"}, "ACTIONKIT_CWC__delivery_agent,"),
    ({"house_url": "https://cwc.example", "api_key": "k", **AGENT, "delivery_agent_contact_phone": "6015550100"},
     "like 601-555-0100"),
    ({"house_maintenance": "nightly"}, "'nightly' is not like"),
])
def test_bad_cwc_settings_stop_start_up_with_a_clear_message(tmp_path, given, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app(_config("sqlite://", tmp_path, CWC=given))


def test_the_campaigns_topics_statement_and_reply_request_go_into_the_message(app, cfg):
    chosen = dataclasses.replace(letter(), topics=("Immigration", "Crime and Law Enforcement"),
                                 statement="We ask Congress to defund 287(g).", response_requested=False)
    root = ET.fromstring(cwc.build_xml(chosen, cfg, chamber="house", office_code="HMS02"))
    assert [t.text for t in root.iter("LibraryOfCongressTopic")] == ["Immigration", "Crime and Law Enforcement"]
    assert root.findtext("Message/OrganizationStatement") == "We ask Congress to defund 287(g)."
    assert root.findtext("Recipient/IsResponseRequested") == "N"
    assert validate(ET.tostring(root), chamber="house", agent=AGENT["delivery_agent"])[0] == []
    with pytest.raises(cwc.Undeliverable, match="not Pizza"):
        cwc.build_xml(dataclasses.replace(letter(), topics=("Pizza",)), cfg, chamber="house", office_code="HMS02")


def test_senate_codes_come_from_the_cached_active_office_list(app, cfg):
    details = [{"code": "SMS11", "state": "MS", "class": "1", "bioguide": "W000437"},
               {"code": "SMS22", "state": "MS", "class": "2"}]
    wicker = make_office(OfficeType.US_SENATOR, seat="1", holder="Roger Wicker", email=None,)
    wicker.holder.bioguide_id = "W000437"
    hyde = make_office(OfficeType.US_SENATOR, seat="2", holder="Cindy Hyde-Smith", email=None)
    db.session.commit()
    with FakeCwc(chamber="senate", api_key="k-sen", agent=AGENT["delivery_agent"], offices=["SMS11", "SMS22"],
                 office_details=details) as fake:
        cfg.update(senate_url=fake.url, senate_api_key="k-sen")
        assert "cwc: the office has no Senate CWC office code" in services.delivery_values(wicker)["channel_notes"]
        assert services.refresh_cwc_offices() == {"senate": "2 offices"}
        db.session.commit()
        assert services.delivery_values(wicker)["destination"] == "SMS11"  # by bioguide id
        assert services.delivery_values(hyde)["destination"] == "SMS22"  # by state and class
        fake.mode = "503"
        assert services.refresh_cwc_offices() == {"senate": "unavailable (HTTPError); kept the cached list"}
        db.session.commit()
        assert services.delivery_values(hyde)["destination"] == "SMS22"  # an outage of the list changes nothing
    assert len(fake.requests) == 2  # listed twice, never per letter


def _cwc_letters(n: int, office_type: OfficeType, code: str) -> list[int]:
    """n pending CWC deliveries to one office of Congress, committed."""
    office = make_office(office_type, number=2, holder="Pat Member", email=None)
    campaign = make_campaign(target_types=[office_type])
    ids = []
    for i in range(n):
        delivery = make_action(campaign, make_supporter(first_name="Ana", last_name=f"Ceiling{i}"),
                               offices=[office]).letters[0].delivery
        delivery.channel, delivery.destination = Channel.CWC, code
        db.session.flush()
        ids.append(delivery.id)
    db.session.commit()
    return ids


def test_senate_rate_ceiling_defers_letters_over_it_without_an_attempt(app, cfg, monkeypatch):
    published: list[tuple[list[int], float]] = []
    monkeypatch.setattr(services, "publish_many",
                        lambda name, args, countdown=None: published.append(([a[0] for a in args], countdown)) or 1)
    cfg.update(senate_url="http://127.0.0.1:9", senate_api_key="k", senate_max_per_second=2, house_max_per_second=None)
    senate = _cwc_letters(3, OfficeType.US_SENATOR, "SMS01")
    house = _cwc_letters(3, OfficeType.US_REPRESENTATIVE, "HMS02")
    now = dt.datetime.now(dt.timezone.utc)
    assert services.claim(senate[0], now) and services.claim(senate[1], now)  # two in flight: the ceiling
    db.session.commit()
    assert services.claim(senate[2], now) is None
    db.session.commit()
    row = db.session.get(Delivery, senate[2])
    assert (row.status, row.attempts, row.first_attempt_at) == (DeliveryStatus.PENDING, 0, None)
    waits = (services._aware(row.next_attempt_at) - now).total_seconds()
    assert 1 <= waits <= 2
    assert published == [([senate[2]], pytest.approx(waits, abs=0.1))]  # woken in seconds, not by the sweeper
    # The House has no ceiling here: its letters are not held back by the Senate's.
    assert all(services.claim(i, now) for i in house)
    db.session.commit()

    # Once the two are sent and a second has passed, the third leaves.
    for i in senate[:2]:
        db.session.get(Delivery, i).status = DeliveryStatus.SENT
        db.session.get(Delivery, i).sent_at = now + dt.timedelta(seconds=0.5)
    db.session.commit()
    assert services.claim(senate[2], now + dt.timedelta(seconds=1.2)) is None  # sent 0.7 s ago: still too many
    db.session.commit()
    later = now + dt.timedelta(seconds=3)
    assert services.claim(senate[2], later) is not None


def test_house_ceiling_counts_only_house_letters(app, cfg, monkeypatch):
    monkeypatch.setattr(services, "publish_many", lambda *a, **k: 1)
    cfg.update(house_url="http://127.0.0.1:9", api_key="k", house_max_per_second=1, senate_max_per_second=None)
    house = _cwc_letters(2, OfficeType.US_REPRESENTATIVE, "HMS02")
    senate = _cwc_letters(2, OfficeType.US_SENATOR, "SMS01")
    now = dt.datetime.now(dt.timezone.utc)
    assert all(services.claim(i, now) for i in senate)
    assert services.claim(house[0], now) is not None
    assert services.claim(house[1], now) is None


def test_ceilings_default_to_five_for_the_senate_and_none_for_the_house(tmp_path):
    app = create_app(_config("sqlite://", tmp_path))
    assert (app.config["CWC"]["senate_max_per_second"], app.config["CWC"]["house_max_per_second"]) == (5, None)
    app = create_app(_config("sqlite://", tmp_path, CWC={"senate_max_per_second": "10", "house_max_per_second": "0"}))
    assert (app.config["CWC"]["senate_max_per_second"], app.config["CWC"]["house_max_per_second"]) == (10, None)


@pytest.mark.parametrize("value", ["fast", "-1", "2.5"])
def test_bad_ceiling_stops_start_up_with_a_clear_message(tmp_path, value):
    with pytest.raises(ConfigError, match="ACTIONKIT_CWC__senate_max_per_second must be a whole number"):
        create_app(_config("sqlite://", tmp_path, CWC={"senate_max_per_second": value}))


def test_a_house_refusal_of_only_the_delivery_id_means_it_already_took_the_letter(app, house):
    """A worker killed after the House accepted a letter retries it with the same DeliveryId: that is sent, not
    a permanent failure moving the letter to a second channel (a second copy)."""
    channel = cwc.CwcChannel(app.config["CWC"])
    assert channel.send(letter(41)).result is Result.SENT
    again = channel.send(letter(41))
    assert (again.result, again.provider_ref) == (Result.SENT, cwc.delivery_id(41))
    assert house.received[cwc.delivery_id(41)] == 2 and len(house.delivered) == 1
    mixed = cwc.classify(400, b"<Errors><Error>The 'DeliveryId' element is invalid</Error>"
                              b"<Error>Invalid email</Error></Errors>", "house", "x")
    assert mixed.result is Result.PERMANENT
