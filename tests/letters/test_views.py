"""The supporter's journey through the test client: campaign page -> officials -> letters -> signature ->
thank-you page, and every way it can go wrong (bad input, out of state, ambiguity, geocoder down, duplicate,
robots, other sites, too many tries)."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from actionkit.campaigns.models import CampaignStatus, Personalisation
from actionkit.campaigns.services import DEMO_TEMPLATES
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, MatchAccuracy, Supporter
from actionkit.officials.models import OfficeType
from tests.letters.conftest import EMAIL, GULFPORT, JACKSON, MEMPHIS, NORTHSIDE, UNKNOWN_STREET, Journey, \
    emailed_link, hidden


def count(model: type) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def thanks_token(resp) -> str:  # type: ignore[no-untyped-def]
    assert resp.status_code == 303, text(resp)
    return re.search(r"/thanks/([^?]+)", resp.headers["Location"]).group(1)


# --- the happy path ------------------------------------------------------------------------------------------

def test_campaign_page_has_the_form_and_no_third_party_anything(journey: Journey) -> None:
    resp = journey.client.get(journey.base)
    html = text(resp)
    assert resp.status_code == 200
    assert "<h1>End ICE detainer agreements in Mississippi</h1>" in html
    for name in ("first_name", "last_name", "email", "street", "city", "zip", "phone"):
        assert f'<label for="{name}">' in html and f'id="{name}"' in html
    assert re.search(r'<option selected value="MS">Mississippi</option>', html)
    assert 'id="opt_in"' in html and "checked" not in re.search(r"<input[^>]*id=\"opt_in\"[^>]*>", html).group(0)
    assert 'id="find-officials"' in html
    assert not re.search(r"<script(?![^>]*src=\"/static/)", html)  # no inline or third-party scripts
    assert not re.search(r"src=\"https?://|<link[^>]*href=\"https?://", html)  # nothing loaded from elsewhere
    assert all(a.startswith(("https://wa.me/", "https://www.facebook.com/sharer/"))  # only plain share links
               for a in re.findall(r"<a[^>]*href=\"(https?://[^\"]*)", html))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_whole_journey_in_english(journey: Journey, queued: dict) -> None:
    page = journey.find(JACKSON)
    html = text(page)
    assert page.status_code == 200 and 'id="compose-form"' in html
    assert "Send to: Tyree Jones" in html and "Sheriff of Hinds County" in html
    assert "No 287(g) agreement on ICE&#39;s list" in html
    assert "Dear Sheriff Jones," in html and "I live in Hinds County" in html
    assert "Please keep Hinds County out of ICE detainers and 287(g)" in html  # the sheriff letter's subject
    assert EMAIL not in html and "400 High St" not in html  # personal data only inside the sealed state

    resp = journey.sign(page, personal="My cousin was held for weeks on a detainer.")
    token = thanks_token(resp)
    assert "lang=en" in resp.headers["Location"] and EMAIL not in resp.headers["Location"]

    action = db.session.scalar(db.select(Action))
    assert action.street == "400 High St" and action.zip == "39201" and action.city == "Jackson"
    assert action.phone == "601-555-0142" and action.accuracy is MatchAccuracy.STREET
    assert action.county.name == "Hinds County" and action.pending_types == [] and action.language == "en"
    assert "ocd-division/country:us/state:ms/cd:2" in action.division_ids
    assert action.token_hash != token and len(token) >= 43
    letters = {l.office_type: l for l in action.letters}
    assert sorted(letters) == sorted(t.value for t in DEMO_TEMPLATES)  # the demo campaign's five office types
    assert len(action.letters) == 6  # both U.S. senators
    sheriff = letters["sheriff"]
    assert sheriff.addressed_to == "Tyree Jones"
    assert "My cousin was held for weeks on a detainer.\n\nSincerely," in sheriff.body
    channels = {l.addressed_to: (l.delivery.channel, l.delivery.destination) for l in action.letters}
    assert channels["Tyree Jones"] == (Channel.EMAIL, "sheriff@hinds.example.org")
    assert channels["Bennie G. Thompson"] == (Channel.PRINT, None)
    assert sorted(queued["deliveries"]) == sorted(l.delivery.id for l in action.letters
                                                  if l.delivery.channel is Channel.EMAIL)  # print waits for a batch
    assert queued["confirmations"] == [action.id]
    supporter = action.supporter
    assert (supporter.email, supporter.first_name, supporter.opt_in) == (EMAIL, "Ana", False)

    # The sign redirect's page is a receipt of the officials chosen (the same for a repeat signature)...
    receipt = text(journey.client.get(resp.headers["Location"]))
    assert "Your signature has reached us" in receipt and receipt.count('class="status-item"') == 6
    assert "Tyree Jones" in receipt and "Queued" not in receipt and "/privacy/delete/" not in receipt
    assert "https://wa.me/?text=" in receipt and 'id="story-link"' in receipt
    # ...the e-mailed link opens the letters and their live statuses.
    link = emailed_link(action.id)
    emailed = re.search(r"/thanks/([^?]+)", link).group(1)
    assert emailed != token
    thanks = journey.client.get(link)
    html = text(thanks)
    assert thanks.status_code == 200 and "Thank you, Ana!" in html
    assert html.count('class="status-item"') == 6
    assert "Queued" in html and "Waiting to be printed for hand delivery" in html
    assert re.search(r'src="/static/js/status\.[0-9a-f]{12}\.js"', html) and f"/thanks/{emailed}/status" in html
    assert f"/privacy/delete/{emailed}" in html
    assert "https://wa.me/?text=" in html and "utm_" not in html


def test_thanks_page_and_json_show_live_statuses(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON)
    location = emailed_link()
    action = db.session.scalar(db.select(Action))
    first, second, third = (l.delivery for l in action.letters[:3])
    first.status = DeliveryStatus.SENT
    second.attempts, second.last_error = 2, "smtp 451 try later"
    third.status = DeliveryStatus.HELD
    db.session.commit()
    html = text(journey.client.get(location))
    for label in ("Sent", "Not delivered yet; trying again", "Held for review"):
        assert label in html
    data = journey.client.get(location.replace("?", "/status?")).get_json()
    by_id = {d["id"]: d for d in data["letters"]}
    assert by_id[first.letter_id]["status"] == "sent"
    assert by_id[second.letter_id] == {"id": second.letter_id, "status": "retrying",
                                       "label": "Not delivered yet; trying again"}
    assert by_id[third.letter_id]["status"] == "held" and data["final"] is False
    for delivery in db.session.scalars(db.select(Delivery)):
        delivery.status = DeliveryStatus.SENT
    db.session.commit()
    assert journey.client.get(location.replace("?", "/status?")).get_json()["final"] is True


def test_thanks_needs_the_right_token_and_campaign(journey: Journey, queued: dict) -> None:
    token = thanks_token(journey.complete(JACKSON))
    assert journey.client.get(f"{journey.base}/thanks/{token[:-1]}x").status_code == 404
    assert journey.client.get(f"/act/other-campaign/thanks/{token}").status_code == 404
    assert journey.client.get(f"{journey.base}/thanks/{'x' * 500}/status").status_code == 404


def test_gulfport_shows_the_287g_agreement_and_the_sheriff_letter_names_it(journey: Journey, queued: dict) -> None:
    page = journey.find(GULFPORT)
    html = text(page)
    assert ("Harrison County Sheriff&#39;s Office: 287(g) Jail Enforcement Model agreement, signed June 30, 2025; "
            "287(g) Warrant Service Officer agreement, signed July 2, 2025") in html
    assert "Name not on file" in html  # no sheriff name in the directory: the letter goes to the office
    assert "Dear Sheriff," in html
    assert "your office signed a 287(g) agreement (Jail Enforcement Model, Warrant Service Officer) on June 30, 2025" \
        in html
    assert "Please end Harrison County&#39;s 287(g) agreement with ICE" in html
    assert "In my county, the Harrison County Sheriff&#39;s Office has signed 287(g) agreements" in html  # others
    thanks_token(journey.sign(page))
    sheriff = db.session.scalar(db.select(Letter).where(Letter.office_type == "sheriff"))
    assert sheriff.addressed_to == "Sheriff of Harrison County" and sheriff.delivery.channel is Channel.PRINT


def test_supporter_can_leave_out_targets(journey: Journey, queued: dict, directory) -> None:  # type: ignore[no-untyped-def]
    page = journey.find(JACKSON)
    thanks_token(journey.sign(page, include=[directory.hinds_sheriff.id, directory.cd2.id]))
    assert sorted(l.office_type for l in db.session.scalars(db.select(Letter))) == ["sheriff", "us_representative"]


def test_leaving_out_everyone_is_refused(journey: Journey, queued: dict) -> None:
    page = journey.find(JACKSON)
    resp = journey.sign(page, include=[])
    assert resp.status_code == 422
    assert 'role="alert"' in text(resp) and 'href="#letters"' in text(resp)
    assert "Choose at least one official to write to." in text(resp)
    assert count(Action) == 0


def test_spanish_journey_from_the_url(journey: Journey, queued: dict) -> None:
    journey.lang = "es"
    html = text(journey.client.get(f"{journey.base}?lang=es"))
    assert '<html lang="es">' in html
    assert "Pongamos fin a los acuerdos de detención con ICE en Mississippi" in html
    assert "Buscar a mis funcionarios" in html and "Nombre" in html and "Correo electrónico" in html
    assert "Las cartas a los funcionarios se envían en inglés." in html
    page = journey.find(JACKSON)
    html = text(page)
    assert "Sus cartas" in html and "Sheriff del Condado de Hinds" in html
    assert "Enviar mis cartas" in html
    assert "Dear Sheriff Jones," in html  # the letter itself stays in English for the official
    resp = journey.sign(page, personal="Mi primo estuvo detenido semanas.")
    assert "lang=es" in resp.headers["Location"]
    receipt = text(journey.client.get(resp.headers["Location"]))
    assert "Hemos recibido su firma" in receipt and "Usted eligió escribir a" in receipt
    assert "Sheriff del Condado de Hinds" in receipt and "Borrar mis datos" not in receipt
    link = emailed_link()
    assert "lang=es" in link  # the e-mail speaks the supporter's language, and so does its link
    thanks = text(journey.client.get(link))
    assert "¡Gracias, Ana!" in thanks and "En cola de envío" in thanks and "Borrar mis datos" in thanks
    action = db.session.scalar(db.select(Action))
    assert action.language == "es" and action.supporter.language == "es"
    assert "Mi primo estuvo detenido semanas." in action.letters[0].body


def test_a_spanish_supporter_reads_each_letter_in_spanish_and_is_told_the_official_gets_english(
        journey: Journey, queued: dict) -> None:
    journey.lang = "es"
    html = text(journey.find(JACKSON))
    jones = html.split('id="letter-details-', 2)[1]  # the first letter: the Hinds County sheriff
    assert "Dear Sheriff Jones," in jones  # what the official receives
    assert "Lo que dice su carta" in jones and "Sheriff Jones:" in jones and "Vivo en Hinds County" in jones
    assert "Tyree Jones recibe esta carta en inglés." in jones
    journey.lang = "en"
    html = text(journey.find(JACKSON))
    assert "What your letter says" not in html and "receives this letter in" not in html


def test_each_letter_is_folded_to_its_first_lines_and_send_is_in_reach(journey: Journey, queued: dict) -> None:
    html = text(journey.find(JACKSON))
    letters = re.findall(r'<details class="letter-details"[^>]*>', html)
    assert len(letters) == html.count('<article class="letter"') > 1
    assert not any(" open" in tag for tag in letters)  # folded; the summary shows the first lines
    assert re.search(r'<span class="letter-excerpt"[^>]*>Dear Sheriff Jones,', html)
    assert 'class="actions actions-sticky"' in html and 'id="send-letters"' in html


def test_dates_are_written_the_way_each_language_writes_them(journey: Journey, queued: dict) -> None:
    journey.lang = "es"
    html = text(journey.find(GULFPORT))
    assert "firmado el 30 de junio de 2025" in html and "2025-06-30" not in html.split('id="letters"')[1].split(
        "<details")[0]
    translation = html.split('class="translation"', 1)[1].split("</section>", 1)[0]
    assert "firmó un acuerdo 287(g) (Jail Enforcement Model, Warrant Service Officer) el 30 de junio de 2025" \
        in translation


def test_language_follows_the_browser_and_the_switch_keeps_the_page(journey: Journey, queued: dict) -> None:
    html = text(journey.client.get(journey.base, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}))
    assert '<html lang="es">' in html and f'href="{journey.base}?lang=en"' in html
    page = journey.find(JACKSON)
    assert 'name="set_lang" value="es"' in text(page) and 'form="compose-form"' in text(page)
    switched = journey.post("sign", page, set_lang="es", personal="Mis palabras", include=["1"])
    html = text(switched)
    assert switched.status_code == 200 and '<html lang="es">' in html and "Sus cartas" in html
    assert "Mis palabras" in html  # what was typed survives the switch
    assert count(Action) == 0
    assert 'name="set_lang" value="en"' in html


# --- input errors ---------------------------------------------------------------------------------------------

def test_invalid_email_is_announced_and_linked(journey: Journey) -> None:
    resp = journey.find(JACKSON, email="ana@@example")
    html = text(resp)
    assert resp.status_code == 422
    assert 'role="alert"' in html and '<a href="#email">Enter an email address like name@example.com.</a>' in html
    field = re.search(r"<input[^>]*id=\"email\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in field and "email-error" in field
    assert 'value="400 High St"' in html  # nothing typed is lost
    assert count(Action) == 0


@pytest.mark.parametrize("email", ["ñoño@example.net", "JOSÉ@example.org", "ana\u00e9@xn--bcher-kva.de"])
def test_non_ascii_mailbox_names_are_refused_with_a_clear_message(journey: Journey, email: str) -> None:
    """Issue #11 item 15: no mail server we rely on takes them (SMTPUTF8), so the form says so instead of
    accepting an address whose confirmation cannot be sent and whose Reply-To would be dropped."""
    resp = journey.find(JACKSON, email=email)
    html = text(resp)
    assert resp.status_code == 422
    assert "We cannot send email to addresses with accents or other special letters before the @" in html
    assert 'value="400 High St"' in html and count(Action) == 0


def test_international_domains_are_kept_in_their_ascii_form(journey: Journey, queued: dict, app: Flask) -> None:
    """An internationalised domain is sendable everywhere once IDNA-encoded: the confirmation e-mail and the
    officials' Reply-To both carry the address."""
    from actionkit.delivery import services as delivery_services
    from actionkit.delivery.channels import build_message
    from actionkit.letters import confirmation

    thanks_token(journey.complete(JACKSON, email="Ana@Bücher.example"))
    supporter = db.session.scalar(db.select(Supporter))
    assert supporter.email == "Ana@xn--bcher-kva.example"
    action = db.session.scalar(db.select(Action))
    confirmation.transmit(confirmation.build(action, "t" * 43))  # serialisable for any mail server
    sheriff = next(l for l in action.letters if l.office_type == "sheriff")
    data = build_message(delivery_services._load(sheriff.delivery.id), app.config["MAIL"]).data.decode("ascii")
    assert "<Ana@xn--bcher-kva.example>" in data.split("Reply-To:")[1].split("\r\n")[0]


@pytest.mark.parametrize("missing, message", [
    ("first_name", "Enter your first name."), ("last_name", "Enter your last name."),
    ("street", "Enter your street address."), ("city", "Enter your city or town."), ("zip", "Enter your ZIP code."),
    ("email", "Enter your email address."),
])
def test_missing_fields(journey: Journey, missing: str, message: str) -> None:
    resp = journey.find(JACKSON, **{missing: ""})
    assert resp.status_code == 422
    assert f'<a href="#{missing}">{message}</a>' in text(resp)


def test_bad_zip_phone_and_control_characters(journey: Journey) -> None:
    html = text(journey.find(JACKSON, zip="3920", phone="12", first_name="Ana\u0000"))
    assert "Enter a 5-digit ZIP code, like 39201." in html
    assert "Enter a 10-digit US phone number" in html
    assert "Please use only letters, numbers and ordinary punctuation." in html


def test_out_of_state_address(journey: Journey) -> None:
    resp = journey.find(MEMPHIS)  # the geocoder places it in Tennessee
    assert resp.status_code == 422
    assert "This address is outside Mississippi. This campaign is for people who live in Mississippi." in text(resp)
    chosen = journey.find(MEMPHIS, state="TN")  # refused before any geocoding
    assert chosen.status_code == 422 and "outside Mississippi" in text(chosen)
    spanish = journey.client.post(journey.base, data=journey.details(MEMPHIS, lang="es"), headers=journey.headers)
    assert "Esta dirección está fuera de Mississippi." in text(spanish)


def test_wtforms_own_messages_follow_the_page_language(journey: Journey) -> None:
    """A tampered state select gets WTForms' built-in message, in each page's language (catalogs cached per
    language, so one language's catalog never answers for the other)."""
    for lang, message in (("es", "Opción inválida."), ("en", "Not a valid choice."), ("es", "Opción inválida.")):
        resp = journey.client.post(journey.base, data=journey.details(JACKSON, state="XX", lang=lang),
                                   headers=journey.headers)
        assert resp.status_code == 422 and message in text(resp), lang


def test_po_box_is_refused_with_a_next_step(journey: Journey) -> None:
    resp = journey.find({"street": "PO Box 123", "city": "Jackson", "zip": "39201"})
    assert resp.status_code == 422 and "P.O. box" in text(resp)


# --- matches that need the supporter ----------------------------------------------------------------------------

def test_ambiguous_zip_offers_the_candidates(journey: Journey, queued: dict, directory) -> None:  # type: ignore[no-untyped-def]
    page = journey.find(UNKNOWN_STREET)  # no street match; ZIP 39211 spans Hinds/Madison and CD 2/3
    html = text(page)
    assert 'id="confirm-form"' in html
    assert "We could not find your street address, so we used your ZIP code." in html
    assert "Which county do you live in?" in html and "Which congressional district do you live in?" in html
    assert "Hinds County — Tyree Jones" in html and "Congressional District 3 — Michael Guest" in html
    assert "Roger F. Wicker" in html  # the senators are certain
    missing = journey.post("confirm", page, confirm="yes",
                           **{"division-county": "ocd-division/country:us/state:ms/county:madison"})
    assert missing.status_code == 422 and 'href="#cd"' not in text(missing)
    assert '<a href="#division-cd">Which congressional district do you live in?</a>' in text(missing)
    assert 'value="ocd-division/country:us/state:ms/county:madison"\n             checked' in text(missing)
    forged = journey.post("confirm", page, confirm="yes", **{"division-county": "ocd-division/country:us/state:ms/county:harrison",
                                                             "division-cd": "ocd-division/country:us/state:ms/cd:3"})
    assert forged.status_code == 422
    chosen = journey.post("confirm", page, confirm="yes",
                          **{"division-county": "ocd-division/country:us/state:ms/county:madison",
                             "division-cd": "ocd-division/country:us/state:ms/cd:3"})
    html = text(chosen)
    assert 'id="compose-form"' in html and "Randy Tucker" in html and "Michael Guest" in html
    assert "Tyree Jones" not in html
    assert "We could not find your state senator and your state representative" in html  # not retryable
    thanks_token(journey.sign(chosen))
    action = db.session.scalar(db.select(Action))
    assert action.accuracy is MatchAccuracy.ZIP and action.county.name == "Madison County"
    assert action.pending_types == []  # the street was not found: retrying would not help
    assert sorted(l.addressed_to for l in action.letters) == ["Cindy Hyde-Smith", "Michael Guest", "Randy Tucker",
                                                            "Roger F. Wicker"]


def test_several_addresses_let_the_supporter_pick_theirs(journey: Journey, queued: dict) -> None:
    page = journey.find(NORTHSIDE)
    html = text(page)
    assert "Which one is your address?" in html
    assert "1500 E NORTHSIDE DR, JACKSON, MS, 39211" in html and "1500 W NORTHSIDE DR, JACKSON, MS, 39209" in html
    assert journey.post("confirm", page, confirm="yes").status_code == 422
    chosen = journey.post("confirm", page, confirm="yes", address_option="1")
    html = text(chosen)
    assert 'id="compose-form"' in html and "Sollie Norwood" in html and "Shanda Yates" in html
    assert "Bennie G. Thompson" in html and "Michael Guest" not in html
    thanks_token(journey.sign(chosen))
    action = db.session.scalar(db.select(Action))
    assert action.accuracy is MatchAccuracy.STREET and "ocd-division/country:us/state:ms/sldu:28" in action.division_ids


def test_correct_my_address_goes_back_to_a_filled_form(journey: Journey) -> None:
    page = journey.find(NORTHSIDE)
    back = journey.post("edit", page)
    html = text(back)
    assert back.status_code == 200 and 'id="signup-form"' in html
    assert 'value="1500 Northside Dr"' in html and f'value="{EMAIL}"' in html and 'value="39211"' in html


def test_geocoder_down_accepts_the_signature_with_pending_targets(journey: Journey, queued: dict) -> None:
    journey.fake.mode = "500"
    page = journey.find(JACKSON)
    html = text(page)
    assert 'id="confirm-form"' in html
    assert "Our address service is not answering right now." in html
    assert "Your letters to your state senator and your state representative will be written" in html
    assert "We placed you by your ZIP code only. Are these your officials?" in html
    assert journey.post("confirm", page).status_code == 422  # must confirm (or correct the address)
    compose = journey.post("confirm", page, confirm="yes")
    html = text(compose)
    assert "Tyree Jones" in html and "Bennie G. Thompson" in html and "David Blount" not in html
    location = journey.sign(compose).headers["Location"]
    action = db.session.scalar(db.select(Action))
    assert action.pending_types == ["state_senator", "state_representative"]
    assert action.accuracy is MatchAccuracy.ZIP and len(action.letters) == 4
    assert "Bennie G. Thompson" in text(journey.client.get(location))  # the receipt lists the chosen ones
    link = emailed_link()
    thanks = text(journey.client.get(link))
    assert "Your letters to your state senator and your state representative will be written and sent" in thanks
    assert journey.client.get(link.replace("?", "/status?")).get_json()["pending"] == [
        "state_senator", "state_representative"]
    assert journey.client.get(location.replace("?", "/status?")).get_json()["pending"] == []  # receipt only


def test_geocoder_down_and_zip_unknown_still_reaches_the_senators(journey: Journey, queued: dict) -> None:
    journey.fake.mode = "500"
    page = journey.find({**JACKSON, "zip": "39000"})
    html = text(page)
    assert 'id="compose-form"' in html and "Roger F. Wicker" in html
    assert "Tyree Jones" not in html
    thanks_token(journey.sign(page))
    action = db.session.scalar(db.select(Action))
    assert action.accuracy is MatchAccuracy.NONE
    assert action.pending_types == ["sheriff", "state_senator", "state_representative", "us_representative"]


# --- repeat and abuse -------------------------------------------------------------------------------------------

def test_a_second_signature_sends_nothing_new(journey: Journey, queued: dict) -> None:
    """The answer is the one a first signature gets (tests/letters/test_trust.py); the owner is told by e-mail."""
    thanks_token(journey.complete(JACKSON))
    deliveries = count(Delivery)
    again = journey.complete(GULFPORT, email=EMAIL.upper())  # same person, e-mail in another case
    thanks_token(again)
    assert (count(Action), count(Supporter), count(Delivery)) == (1, 1, deliveries)
    assert len(queued["confirmations"]) == 2  # the confirmation, then the owner's repeat notice


def test_a_returning_supporter_on_another_campaign_is_recognised(journey: Journey, queued: dict, app: Flask) -> None:
    from tests.factories import make_campaign

    thanks_token(journey.complete(JACKSON))
    other = make_campaign(slug="second", target_types=[OfficeType.SHERIFF])
    db.session.commit()
    second = Journey(journey.client, other)
    thanks_token(second.complete(JACKSON, opt_in="y", first_name="Ana María"))
    actions = db.session.scalars(db.select(Action).order_by(Action.id)).all()
    assert [a.is_returning for a in actions] == [False, True]
    assert count(Supporter) == 1
    supporter = actions[1].supporter
    assert supporter.first_name == "Ana María" and supporter.opt_in is True


def test_honeypot(journey: Journey) -> None:
    resp = journey.find(JACKSON, website="http://spam.example")
    assert resp.status_code == 400 and "Your form could not be sent" in text(resp)
    assert count(Action) == 0


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Referer": "https://evil.example/page"}])
def test_posts_from_other_sites_are_refused(journey: Journey, queued: dict, headers: dict) -> None:
    page = journey.find(JACKSON)
    journey.headers = headers
    assert journey.find(JACKSON).status_code == 403
    resp = journey.sign(page)
    assert resp.status_code == 403 and "This form was sent from another website" in text(resp)
    assert count(Action) == 0


def test_same_site_referer_without_origin_is_accepted(journey: Journey, queued: dict) -> None:
    journey.headers = {"Referer": f"http://localhost{journey.base}"}
    thanks_token(journey.complete(JACKSON))


def test_rate_limit(journey: Journey, app: Flask) -> None:
    app.config["PUBLIC_RATE_LIMIT"] = "3/minute"
    statuses = [journey.find(JACKSON, email="bad").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    resp = journey.find(JACKSON, email="bad")
    assert resp.status_code == 429 and "Too many tries" in text(resp)
    assert journey.client.get(journey.base).status_code == 200  # reading is not limited


def test_tampered_or_expired_state_starts_again(journey: Journey, queued: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    page = journey.find(JACKSON)
    state = hidden(text(page), "state")
    resp = journey.client.post(f"{journey.base}/sign", data={"state": state[:-4] + "AAAA", "include": ["1"]},
                               headers=journey.headers)
    assert resp.status_code == 400 and "waited too long" in text(resp)
    import actionkit.letters.forms as forms

    monkeypatch.setattr(forms, "STATE_MAX_AGE_SECONDS", -1)
    assert journey.sign(page).status_code == 400
    assert count(Action) == 0


def test_state_from_another_campaign_is_refused(journey: Journey, queued: dict) -> None:
    from tests.factories import make_campaign

    page = journey.find(JACKSON)
    other = make_campaign(slug="other", target_types=[OfficeType.SHERIFF])
    db.session.commit()
    resp = journey.client.post("/act/other/sign", data={"state": hidden(text(page), "state"), "include": ["1"]},
                               headers=journey.headers)
    assert resp.status_code == 400 and count(Action) == 0
    assert other.id


def test_drafts_are_not_found(journey: Journey) -> None:
    journey.campaign.status = CampaignStatus.DRAFT
    db.session.commit()
    resp = journey.client.get(journey.base)
    assert resp.status_code == 404 and "Page not found" in text(resp)
    assert journey.find(JACKSON).status_code == 404
    assert journey.client.get("/act/nope").status_code == 404


def _another_live_campaign() -> None:
    from actionkit.campaigns.models import Campaign, CampaignText

    other = Campaign(slug="second-campaign", state="ms", status=CampaignStatus.LIVE, target_types=["sheriff"],
                     letter_language="en")
    other.texts = [CampaignText(lang="en", title="Second campaign", summary="", body=""),
                   CampaignText(lang="es", title="Segunda campaña", summary="", body="")]
    db.session.add(other)
    db.session.commit()


@pytest.mark.parametrize("lang, ended, few, many, link", [
    ("en", "This campaign has ended", "Fewer than 5 supporters wrote to their officials.",
     "5 letters were sent.", "Second campaign"),
    ("es", "Esta campaña ha terminado", "Menos de 5 personas escribieron a sus funcionarios.",
     "Se enviaron 5 cartas.", "Segunda campaña"),
])
def test_a_closed_campaign_says_it_has_ended_and_what_it_achieved(journey: Journey, queued: dict, lang: str,
                                                                  ended: str, few: str, many: str,
                                                                  link: str) -> None:
    journey.complete(JACKSON)  # one supporter, their letters (more than five)
    _another_live_campaign()
    journey.campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    resp = journey.client.get(f"{journey.base}?lang={lang}")
    html = text(resp)
    assert resp.status_code == 200 and ended in html
    letters = count(Letter)
    assert letters >= 5 and few in html  # one supporter: shown as "fewer than 5", never the exact number
    assert many.replace("5", str(letters)) in html, re.findall(r"<li>[^<]*</li>", html)
    assert f'href="/act/second-campaign?lang={lang}"' in html and link in html
    assert journey.find(JACKSON).status_code == 404  # no more signatures


def test_a_campaign_past_its_end_date_says_it_has_ended(journey: Journey) -> None:
    import datetime as dt

    journey.campaign.ends_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    db.session.commit()
    html = text(journey.client.get(journey.base))
    assert "This campaign has ended" in html and "Fewer than 5 letters were sent." in html
    assert "There is no other campaign open right now." in html


def test_staff_preview_a_draft_exactly_as_supporters_see_it(journey: Journey, app: Flask) -> None:
    from actionkit.staff.models import Role
    from tests.staff.helpers import login_as

    journey.campaign.status = CampaignStatus.DRAFT
    db.session.commit()
    preview = f"{journey.base}/preview"
    assert journey.client.get(preview).status_code in (302, 401)  # supporters cannot see drafts
    login_as(journey.client, Role.EDITOR)
    html = text(journey.client.get(f"{preview}?lang=es"))
    assert "Vista previa para el equipo" in html
    assert "Pongamos fin a los acuerdos de detención con ICE en Mississippi" in html
    assert re.search(r'id="find-officials" disabled', html)
    assert journey.client.get(journey.base).status_code == 404  # the public page is still not there


# --- escaping and personalisation ------------------------------------------------------------------------------

def test_html_in_names_and_letters_is_escaped_on_pages_and_kept_verbatim_in_letters(journey: Journey,
                                                                                    queued: dict) -> None:
    evil = "<script>alert(1)</script>"
    page = journey.find(JACKSON, first_name=f"Ana{evil}")
    html = text(page)
    assert evil not in html and "Ana&lt;script&gt;alert(1)&lt;/script&gt;" in html
    location = journey.sign(page, personal=f"<b>bold</b> & {evil}").headers["Location"]
    letter = db.session.scalar(db.select(Letter).where(Letter.office_type == "sheriff"))
    assert f"<b>bold</b> & {evil}" in letter.body
    assert f"Ana{evil} García" in letter.body
    assert "\n" not in letter.subject
    assert evil not in text(journey.client.get(location))
    thanks = text(journey.client.get(emailed_link()))
    assert evil not in thanks and "Thank you, Ana&lt;script&gt;" in thanks


def test_locked_letters_ignore_edits(journey: Journey, queued: dict, directory) -> None:  # type: ignore[no-untyped-def]
    journey.campaign.personalisation = Personalisation.LOCKED
    db.session.commit()
    page = journey.find(JACKSON)
    assert 'name="personal"' not in text(page) and "<textarea" not in text(page)
    office = directory.hinds_sheriff.id
    thanks_token(journey.sign(page, personal="sneaky", **{f"body-{office}": "Replaced"}))
    letter = db.session.scalar(db.select(Letter).where(Letter.office_id == office))
    assert "sneaky" not in letter.body and letter.body.startswith("Dear Sheriff Jones,")


def test_editable_letters_keep_the_supporters_text(journey: Journey, queued: dict, directory) -> None:  # type: ignore[no-untyped-def]
    journey.campaign.personalisation = Personalisation.EDITABLE
    db.session.commit()
    page = journey.find(JACKSON)
    office = directory.hinds_sheriff.id
    assert f'<textarea id="body-{office}" name="body-{office}"' in text(page)
    empty = journey.sign(page, **{f"body-{office}": "   "})
    assert empty.status_code == 422 and f'href="#body-{office}"' in text(empty)
    thanks_token(journey.sign(page, **{f"body-{office}": "Dear Sheriff,\r\n\r\nMy own <words>.\r\n"}))
    letter = db.session.scalar(db.select(Letter).where(Letter.office_id == office))
    assert letter.body == "Dear Sheriff,\n\nMy own <words>."
    other = db.session.scalar(db.select(Letter).where(Letter.office_id == directory.cd2.id))
    assert other.body.startswith("Dear Representative Thompson,")  # untouched letters keep the template text


def test_personal_paragraph_is_limited(journey: Journey, queued: dict) -> None:
    page = journey.find(JACKSON)
    resp = journey.sign(page, personal="x" * 2001)
    assert resp.status_code == 422 and 'href="#personal"' in text(resp)


def test_every_step_survives_back_and_reload(journey: Journey, queued: dict) -> None:
    """Each step that succeeded redirects to a page fetched with GET (no 'confirm form resubmission'); the state
    rides in an HttpOnly cookie scoped to the campaign, never in the URL; the signature clears it."""
    found = journey.client.post(journey.base, data=journey.details(UNKNOWN_STREET), headers=journey.headers)
    assert found.status_code == 303
    location = found.headers["Location"]
    assert location.endswith("/officials?lang=en") and "state" not in location  # a ZIP-level match: confirm
    cookie = found.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and f"Path={journey.base}" in cookie and "SameSite=Lax" in cookie
    assert "Garc" not in cookie and "High" not in cookie  # sealed: encrypted
    page = journey.client.get(location)
    assert page.status_code == 200 and 'id="confirm-form"' in text(page)
    assert 'id="confirm-form"' in text(journey.client.get(location))  # reload: the same page again
    confirmed = journey.post("confirm", page, confirm="yes",
                             **{"division-county": "ocd-division/country:us/state:ms/county:madison",
                                "division-cd": "ocd-division/country:us/state:ms/cd:3"})
    assert confirmed.status_code == 200 and 'id="compose-form"' in text(confirmed) and "Randy Tucker" in text(
        confirmed)
    assert confirmed.request.method == "GET" and confirmed.request.path == f"{journey.base}/letters"
    direct = journey.client.post(journey.base, data=journey.details(JACKSON), headers=journey.headers)
    assert direct.status_code == 303 and direct.headers["Location"].endswith("/letters?lang=en")
    again = journey.client.get(f"{journey.base}/letters?lang=en")  # reload of the letters page
    assert again.status_code == 200 and "Dear Sheriff Jones," in text(again)
    signed = journey.sign(again)
    assert signed.status_code == 303 and "/thanks/" in signed.headers["Location"]
    back = journey.client.get(f"{journey.base}/letters?lang=en")  # Back from the thank-you page
    assert back.status_code == 303 and back.headers["Location"].endswith(f"{journey.base}?lang=en")
    assert count(Action) == 1  # nothing was sent twice


def test_a_step_page_without_its_state_goes_back_to_the_campaign_page(journey: Journey) -> None:
    for step in ("officials", "letters"):
        resp = journey.client.get(f"{journey.base}/{step}?lang=es")
        assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{journey.base}?lang=es")
    journey.client.set_cookie("actionkit_step", "forged", path=journey.base)
    assert journey.client.get(f"{journey.base}/letters").status_code == 303


def test_csrf_is_enforced_when_enabled(journey: Journey, queued: dict, app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    refused = journey.find(JACKSON)
    assert refused.status_code == 400 and "Your session has expired" in text(refused)
    form = text(journey.client.get(journey.base))
    token = hidden(form, "csrf_token")
    page = journey.client.post(journey.base, data={**journey.details(JACKSON), "csrf_token": token},
                               headers=journey.headers, follow_redirects=True)
    assert page.status_code == 200 and 'id="compose-form"' in text(page)
    html = text(page)
    include = re.findall(r'name="include" value="(\d+)"', html)
    resp = journey.client.post(f"{journey.base}/sign", headers=journey.headers, data={
        "state": hidden(html, "state"), "csrf_token": hidden(html, "csrf_token"), "include": include})
    thanks_token(resp)
    no_token = journey.client.post(f"{journey.base}/sign", headers=journey.headers, data={
        "state": hidden(html, "state"), "include": include})
    assert no_token.status_code == 400


def test_origin_may_be_the_public_url_behind_a_proxy(journey: Journey, queued: dict, app: Flask) -> None:
    journey.headers = {"Origin": "https://act.example.org"}
    assert journey.find(JACKSON).status_code == 403
    app.config["PUBLIC_URL"] = "https://act.example.org"
    assert journey.find(JACKSON).status_code == 200


def test_spanish_errors_choices_and_pending_targets(journey: Journey, queued: dict) -> None:
    journey.lang = "es"
    html = text(journey.find(JACKSON, email="ana@", zip=""))
    assert "Hay un problema" in html and "Escriba un correo electrónico como nombre@ejemplo.com." in html
    assert "Escriba su código postal." in html
    html = text(journey.find(UNKNOWN_STREET))
    assert "¿En qué condado vive?" in html and "Condado de Madison — Randy Tucker" in html
    assert "No encontramos su dirección, así que usamos su código postal." in html
    journey.fake.mode = "500"
    page = journey.find(JACKSON)
    html = text(page)
    assert "Nuestro servicio de direcciones no responde en este momento." in html
    assert "Le ubicamos solo por su código postal. ¿Son estos sus funcionarios?" in html
    assert "Sí, son mis funcionarios" in html and "No, corregir mi dirección" in html
    compose = journey.post("confirm", page, confirm="yes")
    assert "Sus cartas a su senador o senadora estatal y su representante estatal se escribirán" in text(compose)
    journey.sign(compose)
    thanks = text(journey.client.get(emailed_link()))
    assert "Sus cartas a su senador o senadora estatal" in thanks and "¡Gracias, Ana!" in thanks


def test_thanks_names_an_office_without_a_known_holder_once(app, client):
    """A sheriff's office with no known holder is addressed by its title: shown once, in the page's language."""
    from actionkit.letters.services import token_hash
    from tests.factories import make_action, make_campaign, make_office

    campaign = make_campaign()
    action = make_action(campaign, offices=[make_office(county="Harrison", holder=None)])
    action.email_token_hash = token_hash("thanks-token-for-test")  # the e-mailed link
    db.session.commit()
    page = client.get(f"/act/{campaign.slug}/thanks/thanks-token-for-test?lang=es").get_data(as_text=True)
    assert page.count("Sheriff of Harrison County") == 0
    assert page.count("Sheriff del Condado de Harrison") == 1


def test_cancelled_and_expired_deliveries_are_not_failed_for_the_supporter(app: Flask) -> None:
    from flask_babel import force_locale

    from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
    from actionkit.letters import labels
    from actionkit.letters import services as letter_services

    delivery = Delivery(channel=Channel.PRINT, status=DeliveryStatus.CANCELLED, attempts=0, last_error=None)
    assert letter_services.delivery_status(delivery) == "cancelled"
    delivery.status = DeliveryStatus.EXPIRED
    assert letter_services.delivery_status(delivery) == "expired"
    with app.test_request_context("/"), force_locale("es"):
        assert labels.status_label("expired") == "No se entregó a tiempo; ya no se enviará"
        assert labels.status_label("cancelled") == "Cancelada"
def test_the_title_question_appears_only_when_a_letter_goes_through_cwc(journey: Journey, queued: dict,
                                                                          app: Flask) -> None:
    page = journey.find(JACKSON)
    if 'id="confirm-form"' in page.get_data(as_text=True):
        page = journey.post("confirm", page, confirm="yes")
    assert 'id="cwc-title"' not in page.get_data(as_text=True)  # CWC not configured: no letter goes through it
    app.config["CWC"].update(house_url="http://127.0.0.1:9", api_key="k")
    page = journey.find(JACKSON)
    if 'id="confirm-form"' in page.get_data(as_text=True):
        page = journey.post("confirm", page, confirm="yes")
    html = page.get_data(as_text=True)
    assert 'id="cwc-title"' in html and '<option selected value="none">No title</option>' in html
    bad = journey.sign(page, title="sir")
    assert bad.status_code == 422
    journey.sign(page, title="dr")
    action = db.session.scalar(db.select(Action))
    assert action.cwc_title == "dr"
    rep = next(l.delivery for l in action.letters if l.office_type == "us_representative")
    assert rep.channel.value == "cwc" and rep.destination.startswith("HMS")
