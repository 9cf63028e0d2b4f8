"""The confirmation e-mail staff write per campaign and language: checked in the letters' sandbox at save time
(with the line and the reason), previewed, sent with the status, deletion and withdrawal links always added."""
from __future__ import annotations

import re

from flask import Flask

from actionkit.extensions import db
from actionkit.letters import tasks
from actionkit.letters.models import Action
from actionkit.staff.models import AuditEntry, Role
from tests.letters.conftest import JACKSON, Journey
from tests.letters.test_tasks import read_outbox
from tests.staff.helpers import login_as

BODY = "Dear {{ supporter.first_name }},\n\nThank you from all of us in {{ supporter.county|default('Mississippi') }}."


def _form(campaign, **emails: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"ask_consent": "y", "embed_origins": "", **emails}


def test_editor_writes_previews_and_sends_a_custom_email(journey: Journey, queued: dict, app: Flask) -> None:
    client = journey.client
    login_as(client, Role.EDITOR)
    url = f"/staff/toolkit/campaigns/{journey.campaign.id}"
    broken = client.post(url, data=_form(journey.campaign, email_subject_en="Thanks {{ supporter.first_name }}",
                                         email_body_en="Hi\n{{ official.name }}\n{% for x in y %}"))
    html = broken.get_data(as_text=True)
    assert broken.status_code == 422 and "body, line 3" in html
    db.session.expire_all()
    assert journey.campaign.text("en").email_body is None  # nothing saved
    half = client.post(url, data=_form(journey.campaign, email_subject_en="Thanks"))
    assert half.status_code == 422 and "Write both a subject and a text" in half.get_data(as_text=True)
    preview = client.post(url, data=_form(journey.campaign, email_subject_en="Thanks, {{ supporter.first_name }}!",
                                          email_body_en=BODY, preview="1"))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="email-preview-en"' in page and "Thanks, Ana!" in page
    assert "Thank you from all of us in Harrison County." in page
    db.session.expire_all()
    assert journey.campaign.text("en").email_body is None  # a preview saves nothing
    saved = client.post(url, data=_form(journey.campaign, email_subject_en="Thanks, {{ supporter.first_name }}!",
                                        email_body_en=BODY))
    assert saved.status_code == 303
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "campaign.toolkit"))
    assert "confirmation_email_en" in entry.details["changed"]

    journey.complete(JACKSON, opt_in="y")
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    [msg] = read_outbox(app)
    body = msg.get_content().replace("\r\n", "\n")
    assert msg["Subject"] == "Thanks, Ana!"
    assert body.startswith("Dear Ana,\n\nThank you from all of us in Hinds County.")
    # The links are always added, whatever the campaign wrote.
    assert re.search(r"/act/\S+/thanks/\S+", body) and "/privacy/delete/" in body and "/consent/withdraw/" in body


def test_a_language_without_its_own_text_gets_the_default(journey: Journey, queued: dict, app: Flask) -> None:
    text = journey.campaign.text("en")
    text.email_subject, text.email_body = "Thanks!", "Custom English text."
    db.session.commit()
    journey.lang = "es"
    journey.complete(JACKSON)
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    [msg] = read_outbox(app)
    assert "Custom English text." not in msg.get_content() and msg["Subject"].startswith("Sus cartas")
    assert "/privacy/delete/" in msg.get_content()
