"""Calls instead of letters, or as well: the call page after matching (tel: links, the script per office type and
language), the outcome reports (only campaign, office, outcome, day, language), and campaigns of each mode."""
from __future__ import annotations

import re

import pytest

from actionkit.campaigns.models import CallScript, CampaignMode
from actionkit.extensions import db
from actionkit.letters import calls
from actionkit.letters.models import CallReport, Letter
from actionkit.letters.services import Plan, Target
from actionkit.officials.models import OfficeType
from tests.factories import make_campaign
from tests.letters.conftest import JACKSON, Journey, hidden

TYPES = [OfficeType.SHERIFF, OfficeType.US_SENATOR]


@pytest.fixture
def call_campaign(app, directory):  # type: ignore[no-untyped-def]
    """Calls only: the Hinds sheriff and both senators have numbers (the sheriff's holder only)."""
    campaign = make_campaign(slug="call-them", target_types=TYPES)
    campaign.mode = CampaignMode.CALLS
    campaign.call_scripts = [
        CallScript(office_type="sheriff", lang="en",
                   body="Hello, my name is {{ supporter.first_name }} and I live in {{ supporter.county }}. "
                        "I ask {{ official.salutation }} to end the 287(g) agreement."),
        CallScript(office_type="sheriff", lang="es",
                   body="Hola, me llamo {{ supporter.first_name }} y vivo en {{ supporter.county }}."),
        CallScript(office_type="us_senator", lang="en",
                   body="I am a constituent from {{ supporter.city }} calling {{ official.salutation }}."),
    ]
    directory.hinds_sheriff.phone = "(601) 974-2900"
    for senator, number in zip(directory.senators, ("202-224-6253", "202.224.5054")):
        senator.phone = number
    db.session.commit()
    return campaign


def _card(html: str, office_id: int) -> str:
    found = re.search(rf'<article[^>]*id="card-{office_id}".*?</article>', html, re.S)
    assert found, html
    return found.group(0)


def test_a_calls_only_campaign_goes_from_the_address_to_the_call_page(client, geocoded, call_campaign,
                                                                        directory):  # type: ignore[no-untyped-def]
    page = Journey(client, call_campaign, fake=geocoded).find(JACKSON)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert page.request.path == "/act/call-them/call"
    sheriff = _card(html, directory.hinds_sheriff.id)
    assert 'href="tel:+16019742900"' in sheriff and "Call (601) 974-2900" in sheriff
    assert "Hello, my name is Ana and I live in Hinds County. I ask Sheriff Jones to end the 287(g)" in sheriff
    wicker = _card(html, directory.senators[0].id)
    assert 'href="tel:+12022246253"' in wicker and "Washington, DC office" in wicker
    assert "I am a constituent from Jackson calling Senator Wicker." in wicker
    assert 'href="tel:+12022245054"' in _card(html, directory.senators[1].id)
    assert 'id="compose-form"' not in html  # no letters in a calls-only campaign
    assert "601-555" not in html and "ana@" not in html.lower()  # nothing the supporter typed but their name


def test_the_call_page_in_spanish_uses_the_spanish_script_and_falls_back_to_english(
        client, geocoded, call_campaign, directory):  # type: ignore[no-untyped-def]
    html = Journey(client, call_campaign, lang="es", fake=geocoded).find(JACKSON).get_data(as_text=True)
    assert "Llame a sus funcionarios" in html
    assert "Hola, me llamo Ana y vivo en Hinds County." in _card(html, directory.hinds_sheriff.id)
    assert "I am a constituent from Jackson" in _card(html, directory.senators[0].id)  # no Spanish script: English
    assert "Hablé con el personal" in html


def _report(client, campaign, html, office_id, outcome, lang="en"):  # type: ignore[no-untyped-def]
    assert f'name="office" value="{office_id}"' in _card(html, office_id)
    return client.post(f"/act/{campaign.slug}/call/report", headers={"Origin": "http://localhost"},
                       data={"office": str(office_id), "outcome": outcome, "lang": lang})


def test_reporting_an_outcome_stores_only_campaign_office_outcome_day_and_language(
        client, geocoded, call_campaign, directory):  # type: ignore[no-untyped-def]
    html = Journey(client, call_campaign, lang="es", fake=geocoded).find(JACKSON).get_data(as_text=True)
    resp = _report(client, call_campaign, html, directory.hinds_sheriff.id, "voicemail", lang="es")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    [report] = db.session.scalars(db.select(CallReport)).all()
    assert (report.campaign_id, report.office_id, report.outcome.value, report.lang) == (
        call_campaign.id, directory.hinds_sheriff.id, "voicemail", "es")
    assert set(CallReport.__table__.columns.keys()) == {"id", "campaign_id", "office_id", "outcome", "day", "lang"}
    page = client.get(resp.headers["Location"])
    card = _card(page.get_data(as_text=True), directory.hinds_sheriff.id)
    assert "su llamada está contada" in card and 'name="outcome"' not in card
    # A second tap on the same card (reload, Back) is not counted twice.
    again = _report(client, call_campaign, html, directory.hinds_sheriff.id, "talked", lang="es")
    assert again.status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 1
    assert calls.calls_by_office(call_campaign.id) == {directory.hinds_sheriff.id: 1}


@pytest.mark.parametrize("data, status", [
    ({"outcome": "hung_up"}, 422),                # not one of the three outcomes
    ({"outcome": ""}, 422),
    ({"office": "not-a-number"}, 422),
])
def test_a_bad_report_is_refused_with_a_message_and_counts_nothing(client, geocoded, call_campaign, directory,
                                                                   data, status):  # type: ignore[no-untyped-def]
    html = Journey(client, call_campaign, fake=geocoded).find(JACKSON).get_data(as_text=True)
    assert 'name="outcome"' in _card(html, directory.hinds_sheriff.id)
    form = {"office": str(directory.hinds_sheriff.id), "outcome": "talked", "lang": "en", **data}
    resp = client.post(f"/act/{call_campaign.slug}/call/report", data=form, headers={"Origin": "http://localhost"})
    assert resp.status_code == status
    assert "Choose how your call went." in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 0


def test_an_office_the_supporter_was_not_shown_is_not_counted(client, geocoded, call_campaign,
                                                              directory):  # type: ignore[no-untyped-def]
    html = Journey(client, call_campaign, fake=geocoded).find(JACKSON).get_data(as_text=True)
    assert 'name="outcome"' in _card(html, directory.hinds_sheriff.id)
    form = {"office": str(directory.harrison_sheriff.id), "outcome": "talked", "lang": "en"}
    resp = client.post(f"/act/{call_campaign.slug}/call/report", data=form, headers={"Origin": "http://localhost"})
    assert resp.status_code == 422 and "could not be counted" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 0


def test_reports_need_the_step_state(client, geocoded, call_campaign, directory):  # type: ignore[no-untyped-def]
    resp = client.post(f"/act/{call_campaign.slug}/call/report", headers={"Origin": "http://localhost"},
                       data={"office": str(directory.hinds_sheriff.id), "outcome": "talked"})
    assert resp.status_code == 400 and "expired" in resp.get_data(as_text=True).lower()
    assert client.get(f"/act/{call_campaign.slug}/call").status_code == 303  # no state: back to the campaign
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 0


def test_reports_need_csrf_and_our_origin(app, client, geocoded, call_campaign, directory):  # type: ignore[no-untyped-def]
    html = Journey(client, call_campaign, fake=geocoded).find(JACKSON).get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = True
    html = client.get(f"/act/{call_campaign.slug}/call").get_data(as_text=True)
    card = _card(html, directory.hinds_sheriff.id)
    form = {"office": str(directory.hinds_sheriff.id), "outcome": "talked", "lang": "en"}
    url = f"/act/{call_campaign.slug}/call/report"
    assert client.post(url, data=form, headers={"Origin": "http://localhost"}).status_code == 400
    assert client.post(url, data={**form, "csrf_token": hidden(card, "csrf_token")},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 0
    ok = client.post(url, data={**form, "csrf_token": hidden(card, "csrf_token")},
                     headers={"Origin": "http://localhost"})
    assert ok.status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(CallReport)) == 1


def test_a_both_campaign_offers_the_call_page_on_the_letters_page_and_the_receipt(
        client, geocoded, call_campaign, directory, queued):  # type: ignore[no-untyped-def]
    call_campaign.mode = CampaignMode.BOTH
    db.session.commit()
    journey = Journey(client, call_campaign, fake=geocoded)
    page = journey.find(JACKSON)
    html = page.get_data(as_text=True)
    assert page.request.path == "/act/call-them/letters" and 'id="call-offer"' in html
    resp = journey.sign(page)
    assert resp.status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(Letter)) == 3
    receipt = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="call-offer"' in receipt
    call = client.get(f"/act/{call_campaign.slug}/call")
    assert call.status_code == 200 and "Hello, my name is Ana" in call.get_data(as_text=True)
    # The letters page is not shown again after the signature.
    assert client.get(f"/act/{call_campaign.slug}/letters").status_code == 303


def test_a_letters_only_campaign_has_no_call_page(client, geocoded, campaign):  # type: ignore[no-untyped-def]
    page = Journey(client, campaign, fake=geocoded).find(JACKSON)
    assert 'id="call-offer"' not in page.get_data(as_text=True)
    assert client.get(f"/act/{campaign.slug}/call").status_code == 303


def test_a_calls_only_campaign_refuses_letters(client, geocoded, call_campaign, directory):  # type: ignore[no-untyped-def]
    page = Journey(client, call_campaign, fake=geocoded).find(JACKSON)
    resp = client.post(f"/act/{call_campaign.slug}/sign", headers={"Origin": "http://localhost"},
                       data={"state": "x", "include": [str(directory.hinds_sheriff.id)]})
    assert resp.status_code in (303, 400)
    assert db.session.scalar(db.select(db.func.count()).select_from(Letter)) == 0
    assert page.status_code == 200


@pytest.mark.parametrize("number, tel", [("(601) 974-2900", "tel:+16019742900"), ("1-202-224-6253", "tel:+12022246253"),
                                         ("202-224-5054 ext. 12", "tel:+12022245054"), ("call us", None)])
def test_numbers_become_tel_links(directory, number, tel):  # type: ignore[no-untyped-def]
    assert calls.CallCard(Target(directory.hinds_sheriff, None), number, "office").tel == tel


def test_a_script_that_fails_leaves_the_number(app, directory):  # type: ignore[no-untyped-def]
    campaign = make_campaign(target_types=[OfficeType.SHERIFF])
    campaign.call_scripts = [CallScript(office_type="sheriff", lang="en", body="{{ supporter.nope }}")]
    directory.hinds_sheriff.phone = "601-974-2900"
    plan = Plan(accuracy="rooftop", divisions={"county": directory.hinds_sheriff.division.ocd_id})
    [card] = calls.call_cards(campaign, plan, first_name="A", last_name="B", city="Jackson", lang="en")
    assert card.error == "render" and card.tel == "tel:+16019742900" and card.script == ""
