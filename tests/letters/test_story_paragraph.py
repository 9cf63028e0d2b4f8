"""A story offered as the personal paragraph of the storyteller's letters: only when they tick the box, only on
campaigns whose letters take a paragraph, in either order (story then letters, or letters page -> story -> back),
carried in a sealed cookie (never the URL), shown and editable on the letters page, cleared by the signature."""
from __future__ import annotations

import logging
import re

import pytest

from actionkit.campaigns.models import Campaign, Personalisation
from actionkit.extensions import db
from actionkit.letters.forms import paragraph_fits, seal_paragraph, unseal_paragraph
from actionkit.letters.models import Action
from tests.letters.conftest import JACKSON, Journey

STORY = "Me robaron en Canton y no llamé a la policía.\nTenía miedo de que compartieran mi estatus."


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _story(journey: Journey, **extra: str):  # type: ignore[no-untyped-def]
    data = {"text": STORY, "consent": "private", "county": "", "lang": journey.lang, **extra}
    return journey.client.post(f"{journey.base}/story?lang={journey.lang}", data=data, headers=journey.headers)


def _paragraph_field(html: str) -> str:
    found = re.search(r'<textarea[^>]*name="personal"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, "no paragraph field"
    return found.group(1).strip()


def test_story_first_then_letters_with_the_story_as_paragraph(journey: Journey, queued: dict, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    journey.lang = "es"
    form = text(journey.client.get(f"{journey.base}/story?lang=es"))
    assert "Añadir también mi historia a mis cartas" in form and 'name="use_in_letters"' in form
    assert 'name="use_in_letters" type="checkbox" value="y" checked' not in form  # off by default
    sent = _story(journey, use_in_letters="y")
    html = text(sent)
    assert sent.status_code == 200 and 'id="write-letters-with-story"' in html
    cookie = next(v for v in sent.headers.getlist("Set-Cookie") if v.startswith("actionkit_paragraph="))
    assert "HttpOnly" in cookie and f"Path={journey.base}" in cookie and "SameSite=Lax" in cookie
    assert "Canton" not in cookie and "robaron" not in cookie  # sealed: encrypted
    link = re.search(r'href="([^"]+)" id="write-letters-with-story"', html)
    assert link.group(1) == f"{journey.base}/letters?lang=es"  # no text in the URL
    page = journey.find(JACKSON)
    page_html = text(page)
    assert page.status_code == 200 and 'id="story-paragraph-notice"' in page_html
    assert _paragraph_field(page_html) == "Me robaron en Canton y no llamé a la policía.\nTenía miedo de que " \
                                          "compartieran mi estatus."
    resp = journey.sign(page, personal="Me robaron en Canton y no llamé a la policía.")  # they edited it
    assert resp.status_code == 303 and "Canton" not in resp.headers["Location"]
    cleared = [v for v in resp.headers.getlist("Set-Cookie") if v.startswith("actionkit_paragraph=")]
    assert cleared and ("Max-Age=0" in cleared[0] or "expires=Thu, 01 Jan 1970" in cleared[0])
    action = db.session.scalar(db.select(Action))
    sheriff = next(l for l in action.letters if l.office_type == "sheriff")
    assert "Me robaron en Canton y no llamé a la policía." in sheriff.body and "estatus" not in sheriff.body
    assert not any("Canton" in r.getMessage() for r in caplog.records)  # never in logs


def test_no_story_in_letters_unless_the_box_is_ticked(journey: Journey) -> None:
    sent = _story(journey)
    assert sent.status_code == 200 and 'id="write-letters-with-story"' not in text(sent)
    assert not any(v.startswith("actionkit_paragraph=") for v in sent.headers.getlist("Set-Cookie"))
    page = text(journey.find(JACKSON))
    assert _paragraph_field(page) == "" and 'id="story-paragraph-notice"' not in page
    assert 'id="share-story-for-letters"' in page  # the other order is offered


def test_letters_page_then_story_then_back_to_the_letters(journey: Journey) -> None:
    page = text(journey.find(JACKSON))
    link = re.search(r'href="([^"]+)" id="share-story-for-letters"', page).group(1)
    assert journey.client.get(link.replace("&amp;", "&")).status_code == 200
    sent = _story(journey, use_in_letters="y")
    back = journey.client.get(f"{journey.base}/letters?lang=en")  # the step state is still there
    assert back.status_code == 200 and _paragraph_field(text(back)).startswith("Me robaron en Canton")
    assert sent.status_code == 200


def test_a_story_longer_than_a_paragraph_is_refused_for_letters_and_kept(journey: Journey) -> None:
    journey.lang = "es"
    long_story = "Palabra " * 300  # 2,400 characters: a fine story, too long for a letter's paragraph
    refused = _story(journey, text=long_story, use_in_letters="y")
    html = text(refused)
    assert refused.status_code == 422 and "El párrafo de una carta puede tener hasta 2,000 caracteres" in html
    assert long_story.strip() in html  # nothing typed is lost
    assert _story(journey, text=long_story).status_code == 200  # without the box it is accepted


@pytest.mark.parametrize("personalisation", [Personalisation.LOCKED, Personalisation.EDITABLE])
def test_no_option_when_the_letters_take_no_paragraph(journey: Journey, campaign: Campaign,
                                                      personalisation: Personalisation) -> None:
    campaign.personalisation = personalisation
    db.session.commit()
    assert 'name="use_in_letters"' not in text(journey.client.get(f"{journey.base}/story"))
    sent = _story(journey, use_in_letters="y")  # a forged tick changes nothing
    assert sent.status_code == 200 and 'id="write-letters-with-story"' not in text(sent)
    assert not any(v.startswith("actionkit_paragraph=") for v in sent.headers.getlist("Set-Cookie"))


def test_sealed_paragraph_is_bound_to_its_campaign_and_its_key(journey: Journey, campaign: Campaign) -> None:
    spanish = "".join(f"{w}{i % 97} " for i, w in enumerate(("ñandú", "acción", "niño", "corazón") * 80))[:2000]
    assert paragraph_fits(spanish)
    token = seal_paragraph(campaign.id, spanish)
    assert len(token) < 3500  # compressed and sealed, fits a cookie
    assert unseal_paragraph(token, campaign.id) == spanish
    assert not paragraph_fits("x" * 2001)
    assert not paragraph_fits("".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(1900)))  # would not fit
    assert unseal_paragraph(token, campaign.id + 1) is None
    assert unseal_paragraph("forged", campaign.id) is None
    step_state = re.search(r'name="state"[^>]*value="([^"]*)"', text(journey.find(JACKSON))).group(1)
    assert unseal_paragraph(step_state, campaign.id) is None  # a step's state is not a paragraph
    journey.client.set_cookie("actionkit_paragraph", "forged", path=journey.base)
    assert _paragraph_field(text(journey.client.get(f"{journey.base}/letters"))) == ""


def test_after_the_letters_are_sent_the_story_is_not_offered_as_their_paragraph(journey: Journey, queued: dict) -> None:
    signed = journey.complete(JACKSON)
    thanks = text(journey.client.get(signed.headers["Location"]))
    link = re.search(r'href="([^"]+)" id="story-link"', thanks).group(1).replace("&amp;", "&")
    assert "signed=1" in link
    form = text(journey.client.get(link))
    assert 'name="use_in_letters"' not in form and "signed=1" in re.search(r'<form[^>]+id="story-form"', form).group(0)
    sent = journey.client.post(link, data={"text": STORY, "consent": "private", "county": "", "use_in_letters": "y"},
                               headers=journey.headers)
    assert sent.status_code == 200 and 'id="write-letters-with-story"' not in text(sent)
    assert not any(v.startswith("actionkit_paragraph=") for v in sent.headers.getlist("Set-Cookie"))
    assert 'name="use_in_letters"' in text(journey.client.get(f"{journey.base}/story"))  # a story first: offered
