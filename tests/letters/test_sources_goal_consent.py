"""The organizer's toolkit on the supporter's journey: the source code kept from the link to the action, the
public goal, and the consent (its exact words, the phone with it, and no phone field when it is not asked)."""
from __future__ import annotations

import re

import pytest

from actionkit.extensions import db
from actionkit.campaigns import sources
from actionkit.letters.models import Action, Consent, ConsentWording, Supporter
from tests.letters.conftest import JACKSON, Journey, hidden


@pytest.mark.parametrize("raw, code", [
    ("Newsletter", "newsletter"),
    ("  fb ad/2026 <script>", "fb-ad-2026-script"),
    ("https://evil.example/path?x=1", "https-evil.example-path-x-1"),
    ("x" * 200, "x" * sources.MAX_LENGTH),
    ("---", None),
    ("", None),
    ("ñandú", "and"),
])
def test_source_codes_are_cut_to_a_safe_charset_and_length(raw, code):
    assert sources.clean(raw) == code


def test_utm_parameters_make_a_code_when_there_is_no_source():
    assert sources.from_args({"utm_source": "Mailchimp", "utm_medium": "email"}) == "mailchimp-email"
    assert sources.from_args({"source": "whatsapp", "utm_source": "x"}) == "whatsapp"
    assert sources.from_args({"utm_campaign": "spring"}) == "spring"
    assert sources.from_args({}) is None


def test_source_is_kept_through_the_journey_and_stored_on_the_action(journey: Journey, queued: dict) -> None:
    page = journey.client.get(f"{journey.base}?source=WhatsApp%20Group&utm_source=ignored")
    html = page.get_data(as_text=True)
    assert hidden(html, "source") == "whatsapp-group"
    assert "source=whatsapp-group" in html  # the language switch keeps it
    journey.complete(JACKSON, source=hidden(html, "source"))
    action = db.session.scalar(db.select(Action))
    assert action.source == "whatsapp-group"


def test_a_forged_source_field_is_cleaned_before_it_is_stored(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON, source="https://referrer.example/a/very/long/path?with=query&and=more&more=yes")
    action = db.session.scalar(db.select(Action))
    assert action.source is not None and len(action.source) <= sources.MAX_LENGTH
    assert "/" not in action.source and ":" not in action.source


def test_goal_progress_is_shown_from_five_signatures(journey: Journey, queued: dict) -> None:
    journey.campaign.goal = 200
    db.session.commit()
    html = journey.client.get(journey.base).get_data(as_text=True)
    assert "Help us reach 200 signatures." in html and "<progress" not in html
    for n in range(5):
        journey.complete(JACKSON, email=f"signer{n}@example.org")
    html = journey.client.get(journey.base).get_data(as_text=True)
    assert "5 of 200 signatures" in html
    assert re.search(r'<progress id="goal-progress" max="200" value="5"', html)
    journey.campaign.goal = None
    db.session.commit()
    assert 'id="goal"' not in journey.client.get(journey.base).get_data(as_text=True)


def test_consent_keeps_the_exact_words_and_the_phone(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON, opt_in="y")
    supporter = db.session.scalar(db.select(Supporter))
    consent = db.session.scalar(db.select(Consent))
    assert supporter.opt_in is True and supporter.phone == "601-555-0142"
    assert consent.supporter_id == supporter.id and consent.campaign_id == journey.campaign.id
    assert consent.wording.lang == "en"
    assert consent.wording.text == "Yes, the organizers may contact me again about this campaign and related work."


def test_consent_in_spanish_is_a_wording_version_of_its_own(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON, opt_in="y")
    journey.lang = "es"
    journey.complete(JACKSON, opt_in="y", email="otra@example.org")
    wordings = db.session.scalars(db.select(ConsentWording).order_by(ConsentWording.lang)).all()
    assert [w.lang for w in wordings] == ["en", "es"]
    assert wordings[1].text.startswith("Sí")


def test_no_consent_no_phone_kept_on_the_supporter(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON)
    supporter = db.session.scalar(db.select(Supporter))
    assert supporter.opt_in is False and supporter.phone is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Consent)) == 0


def test_campaign_without_the_consent_box_asks_no_phone(journey: Journey, queued: dict) -> None:
    journey.campaign.ask_consent = False
    db.session.commit()
    html = journey.client.get(journey.base).get_data(as_text=True)
    assert 'id="phone"' not in html and 'id="opt_in"' not in html
    journey.complete(JACKSON, opt_in="y")  # a forged box and phone are ignored
    action = db.session.scalar(db.select(Action))
    assert action.phone is None and action.supporter.opt_in is False and action.supporter.phone is None
