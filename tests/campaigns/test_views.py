"""The staff campaign editor: create, edit, clone, publish, close; every validation error (nothing saved); sandbox
escapes refused within a second; previews without JavaScript and as JSON, equal to the letter a supporter sees."""
from __future__ import annotations

import html
import re
import time
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actionkit.campaigns import editor
from actionkit.campaigns.models import Campaign, CampaignStatus, LetterTemplate
from actionkit.extensions import db
from actionkit.letters import rendering
from actionkit.letters.models import Letter
from actionkit.officials import geocoders
from actionkit.officials.fake_geocoder import FakeCensusGeocoder
from actionkit.officials.models import OfficeType
from actionkit.staff.models import AuditEntry, Role
from tests.letters.conftest import GULFPORT, Directory, Journey, build_directory
from tests.officials.conftest import CENSUS_FIXTURES, geocoder_settings
from tests.staff.helpers import login_as

SHERIFF_BODY = """Dear {{ official.salutation }},

I live in {{ county }}.
{% if agreement_287g.active %}
Your office signed a 287(g) agreement ({{ agreement_287g.support_types|join(", ") }}) on {{ agreement_287g.signed }}.
{% else %}
Please keep our county out of 287(g).
{% endif %}

Sincerely,
{{ supporter.first_name }} {{ supporter.last_name }}, {{ supporter.city }}"""
SENATOR_BODY = """Dear {{ official.salutation }},

As a Mississippian in {{ supporter.county|default("Mississippi") }}, I ask you to end the 287(g) program.

{{ supporter.first_name }} {{ supporter.last_name }}"""


def campaign_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "end-287g-ms", "state": "ms", "target_types": ["sheriff", "us_senator"],
        "personalisation": "paragraph", "letter_language": "en", "goal": "500",
        "starts_at": "", "ends_at": "", "cwc_topics": ["Immigration"], "cwc_response_requested": "y",
        "text_en-title": "End 287(g) in Mississippi", "text_en-summary": "Write to your sheriff.",
        "text_en-body": "Why it matters.",
        "text_es-title": "Pongamos fin al 287(g)", "text_es-summary": "Escriba a su sheriff.", "text_es-body": "",
        "tpl_sheriff_en-subject": "Please end {{ county }}'s 287(g) agreement",
        "tpl_sheriff_en-body": SHERIFF_BODY,
        "tpl_us_senator_en-subject": "Please end the 287(g) program",
        "tpl_us_senator_en-body": SENATOR_BODY,
        "save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def editor_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_as(client, Role.EDITOR)
    assert client.get("/staff/campaigns/new").status_code == 200  # compiles the page once (timed tests)
    return client


def _campaigns() -> list[Campaign]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Campaign)))


def _create(client: FlaskClient, **overrides: Any) -> Campaign:
    resp = client.post("/staff/campaigns/new", data=campaign_form(**overrides))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    campaign_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    db.session.expire_all()
    campaign = editor.get(campaign_id)
    assert campaign is not None
    return campaign


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


# --- create, edit, clone, publish, close ------------------------------------------------------------------------

def test_create_a_campaign_with_two_templates(editor_client: FlaskClient) -> None:
    assert editor_client.get("/staff/campaigns/new").status_code == 200
    campaign = _create(editor_client)
    assert campaign.status is CampaignStatus.DRAFT and campaign.slug == "end-287g-ms"
    assert campaign.target_types == ["sheriff", "us_senator"] and campaign.goal == 500
    assert campaign.text("es").title == "Pongamos fin al 287(g)"
    assert sorted((t.office_type, t.lang) for t in campaign.templates) == [("sheriff", "en"), ("us_senator", "en")]
    assert "\r" not in campaign.template(OfficeType.SHERIFF, "en").body  # type: ignore[union-attr]
    created = _audit("campaign.create")
    assert len(created) == 1 and created[0].target_id == str(campaign.id)
    assert [e.details["office_type"] for e in _audit("template.create")] == ["sheriff", "us_senator"]
    listing = editor_client.get("/staff/campaigns/").get_data(as_text=True)
    assert "End 287(g) in Mississippi" in listing and "draft" in listing


def test_edit_records_what_changed(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client)
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert "End 287(g) in Mississippi" in page and html.escape("{{ official.salutation }}") in page
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        goal="900", **{"tpl_us_senator_en-subject": "End 287(g) now", "text_es-title": "", "text_es-summary": ""}))
    assert resp.status_code == 302
    db.session.expire_all()
    campaign = editor.get(campaign.id)  # type: ignore[assignment]
    assert campaign.goal == 900 and [t.lang for t in campaign.texts] == ["en"]
    update = _audit("campaign.update")[-1]
    assert "goal" in update.details["fields"] and "text_es" in update.details["fields"]
    template_updates = _audit("template.update")
    assert [(e.details["office_type"], e.details["lang"]) for e in template_updates] == [("us_senator", "en")]
    # Saving unchanged values records nothing new.
    editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        goal="900", **{"tpl_us_senator_en-subject": "End 287(g) now", "text_es-title": "", "text_es-summary": ""}))
    assert len(_audit("campaign.update")) == 1 and len(_audit("template.update")) == 1


def test_email_confirmation_is_off_by_default_and_stated_plainly(editor_client: FlaskClient) -> None:
    """Issue #11 item 7: the setting is off unless staff turn it on, and the editor says what each choice means."""
    page = editor_client.get("/staff/campaigns/new").get_data(as_text=True)
    assert "Confirm the email address before letters go out" in page
    assert "anyone can sign with someone else&#39;s email address" in page
    assert "checked" not in re.search(r'<input[^>]*id="confirm_email"[^>]*>', page).group(0)
    campaign = _create(editor_client)
    assert campaign.confirm_email is False
    editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(confirm_email="y"))
    db.session.expire_all()
    campaign = editor.get(campaign.id)  # type: ignore[assignment]
    assert campaign.confirm_email is True
    assert "confirm_email" in _audit("campaign.update")[-1].details["fields"]
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert "checked" in re.search(r'<input[^>]*id="confirm_email"[^>]*>', page).group(0)


def test_removing_a_template_deletes_it(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, **{"tpl_sheriff_es-subject": "Ponga fin", "tpl_sheriff_es-body": "Hola"})
    assert len(campaign.templates) == 3
    editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form())
    assert len(editor.get(campaign.id).templates) == 2  # type: ignore[union-attr]
    assert _audit("template.delete")[0].details == {"campaign_id": campaign.id, "office_type": "sheriff",
                                                     "lang": "es"}


def test_publish_close_and_the_public_page(editor_client: FlaskClient, app: Flask) -> None:
    campaign = _create(editor_client)
    public = app.test_client()
    assert public.get(f"/act/{campaign.slug}").status_code == 404
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}/publish")
    assert resp.status_code == 302
    assert editor.get(campaign.id).status is CampaignStatus.LIVE  # type: ignore[union-attr]
    assert public.get(f"/act/{campaign.slug}").status_code == 200
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert f"/act/{campaign.slug}" in page and f'href="/staff/campaigns/{campaign.id}/close"' in page
    # One click never closes: the button leads to a page that asks, and a POST without the answer asks again.
    asked = editor_client.get(f"/staff/campaigns/{campaign.id}/close").get_data(as_text=True)
    assert "Supporters will no longer be able to sign" in asked and 'name="confirm" value="yes"' in asked
    unconfirmed = editor_client.post(f"/staff/campaigns/{campaign.id}/close")
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"].endswith(f"/{campaign.id}/close")
    db.session.expire_all()
    assert editor.get(campaign.id).status is CampaignStatus.LIVE  # type: ignore[union-attr]
    editor_client.post(f"/staff/campaigns/{campaign.id}/close", data={"confirm": "yes"})
    db.session.expire_all()
    assert editor.get(campaign.id).status is CampaignStatus.CLOSED  # type: ignore[union-attr]
    ended = public.get(f"/act/{campaign.slug}")  # shared links keep working: the page says it has ended
    assert ended.status_code == 200 and "This campaign has ended" in ended.get_data(as_text=True)
    assert public.post(f"/act/{campaign.slug}", data={}).status_code in (400, 403, 404)  # no more signatures
    assert [e.action for e in _audit("campaign.publish") + _audit("campaign.close")] == ["campaign.publish",
                                                                                          "campaign.close"]
    # Closing twice is refused politely.
    again = editor_client.post(f"/staff/campaigns/{campaign.id}/close", data={"confirm": "yes"},
                               follow_redirects=True)
    assert "Only a live campaign can be closed" in again.get_data(as_text=True)


def test_the_editor_warns_about_letters_with_no_spanish_text(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, **{"tpl_sheriff_es-subject": "Ponga fin al 287(g)",
                                         "tpl_sheriff_es-body": "{{ official.salutation }}:\n\nPonga fin."})
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="untranslated"' in page
    assert "U.S. senators letter has no Spanish text" in html.unescape(page)
    assert "Sheriff letter has no Spanish text" not in html.unescape(page)
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        **{"tpl_sheriff_es-subject": "Ponga fin", "tpl_sheriff_es-body": "Hola",
           "tpl_us_senator_es-subject": "Ponga fin", "tpl_us_senator_es-body": "Hola"}), follow_redirects=True)
    assert 'id="untranslated"' not in resp.get_data(as_text=True)


def test_publish_needs_a_letter_for_each_target(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, **{"tpl_us_senator_en-subject": "", "tpl_us_senator_en-body": ""})
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}/publish")
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Not published" in text
    assert "U.S. senators is targeted, so it needs a letter in English" in text
    assert editor.get(campaign.id).status is CampaignStatus.DRAFT  # type: ignore[union-attr]


def test_a_live_campaign_keeps_its_slug_and_its_letters(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client)
    editor_client.post(f"/staff/campaigns/{campaign.id}/publish")
    moved = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(slug="another-slug"))
    assert moved.status_code == 422 and "cannot change" in moved.get_data(as_text=True)
    emptied = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        **{"tpl_sheriff_en-subject": "", "tpl_sheriff_en-body": ""}))
    assert emptied.status_code == 422 and "needs a letter" in emptied.get_data(as_text=True)
    assert editor.get(campaign.id).slug == "end-287g-ms"  # type: ignore[union-attr]
    assert len(editor.get(campaign.id).templates) == 2  # type: ignore[union-attr]


def test_clone_makes_a_draft_copy(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client)
    editor_client.post(f"/staff/campaigns/{campaign.id}/publish")
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}/clone")
    copy = editor.get(int(resp.headers["Location"].rsplit("/", 1)[1]))
    assert copy is not None and copy.slug == "end-287g-ms-copy" and copy.status is CampaignStatus.DRAFT
    assert copy.text("en").title == "End 287(g) in Mississippi (copy)"
    assert sorted((t.office_type, t.subject) for t in copy.templates) == sorted(
        (t.office_type, t.subject) for t in campaign.templates)
    second = editor_client.post(f"/staff/campaigns/{campaign.id}/clone")
    assert editor.get(int(second.headers["Location"].rsplit("/", 1)[1])).slug == "end-287g-ms-copy-2"  # type: ignore[union-attr]
    assert _audit("campaign.clone")[0].details["source_id"] == campaign.id


# --- validation: every error is shown and nothing is saved -----------------------------------------------------

INVALID = [
    ("empty slug", {"slug": ""}, "This field is required"),
    ("slug with spaces", {"slug": "End 287g"}, "lower-case letters"),
    ("slug with a double hyphen", {"slug": "end--287g"}, "lower-case letters"),
    ("slug too long", {"slug": "a" * 81}, "Field cannot be longer than 80 characters"),
    ("no target", {"target_types": []}, "Choose at least one kind of official"),
    ("unknown target", {"target_types": ["sheriff", "mayor"]}, "&#39;mayor&#39; is not a valid choice"),
    ("unknown state", {"state": "xx"}, "Not a valid choice"),
    ("unknown personalisation", {"personalisation": "anything"}, "Not a valid choice"),
    ("unknown letter language", {"letter_language": "fr"}, "Not a valid choice"),
    ("goal zero", {"goal": "0"}, "Number must be between 1 and 10000000"),
    ("goal not a number", {"goal": "many"}, "Not a valid integer value"),
    ("bad start date", {"starts_at": "tomorrow"}, "Not a valid datetime value"),
    ("end before start", {"starts_at": "2026-12-10T09:00", "ends_at": "2026-12-01T09:00"},
     "The end must be after the start"),
    ("no English title", {"text_en-title": ""}, "The English title is required"),
    ("Spanish text without a title", {"text_es-title": ""}, "Give a Spanish title"),
    ("title too long", {"text_en-title": "t" * 201}, "Field cannot be longer than 200 characters"),
    ("template subject without body", {"tpl_sheriff_en-body": ""}, "Sheriff, English, letter</a>: is empty"),
    ("template body without subject", {"tpl_sheriff_en-subject": ""}, "Sheriff, English, subject</a>: is empty"),
    ("two-line subject", {"tpl_sheriff_en-subject": "Hello\r\nBcc: x@example.org"}, "must be a single line"),
    ("unknown merge field", {"tpl_sheriff_en-body": "Dear {{ official.salutation }},\n\n{{ sheriff.name }}"},
     "line 3: unknown merge field &#39;sheriff&#39;"),
    ("unknown attribute", {"tpl_sheriff_en-body": "Hi\n{{ supporter.email }}"},
     "line 2: &#39;supporter&#39; has no field &#39;email&#39;"),
    ("syntax error", {"tpl_sheriff_en-body": "Dear\n\n{% if agreement_287g.active %}\nno end"},
     "syntax error: Unexpected end of template"),
    ("unclosed expression", {"tpl_sheriff_en-body": "Dear {{ official.salutation"}, "line 1: syntax error"),
    ("forbidden set", {"tpl_sheriff_en-body": "{% set x = 'y' %}{{ x }}"}, "{% set %} is not allowed"),
    ("forbidden call", {"tpl_sheriff_en-body": "{{ supporter.first_name.upper() }}"},
     "function and method calls are not allowed"),
    ("forbidden arithmetic", {"tpl_sheriff_en-body": "{{ agreement_287g.signed ~ 1 + 1 }}"},
     "arithmetic is not allowed"),
    ("forbidden filter", {"tpl_sheriff_en-body": "{{ supporter.first_name|safe }}"},
     "filter &#39;safe&#39; is not allowed"),
    ("forbidden include", {"tpl_sheriff_en-body": "{% include 'base.html' %}"}, "cannot include"),
    ("nested loop", {"tpl_sheriff_en-body": "{% for a in agreement_287g.support_types %}{% for b in "
                                            "agreement_287g.support_types %}{{ b }}{% endfor %}{% endfor %}"},
     "loops cannot be nested"),
    ("template too large", {"tpl_sheriff_en-body": "x" * (rendering.MAX_BODY_TEMPLATE + 1)}, "is too long"),
    ("subject too large", {"tpl_sheriff_en-subject": "x" * (rendering.MAX_SUBJECT_TEMPLATE + 1)}, "is too long"),
    ("bad Spanish template", {"tpl_us_senator_es-subject": "Hola", "tpl_us_senator_es-body": "{{ oops }}"},
     "unknown merge field &#39;oops&#39;"),
    ("bad untargeted template", {"tpl_state_senator_en-subject": "Hi", "tpl_state_senator_en-body": "{{ x.y }}"},
     "unknown merge field &#39;x&#39;"),
]


@pytest.mark.parametrize("overrides,message", [pytest.param(o, m, id=i) for i, o, m in INVALID])
def test_each_editor_error_is_shown_and_nothing_is_saved(editor_client: FlaskClient, overrides: dict[str, Any],
                                                         message: str) -> None:
    resp = editor_client.post("/staff/campaigns/new", data=campaign_form(**overrides))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Nothing was saved" in page
    assert message in page, re.findall(r'<div class="error-summary".*?</div>', page, re.S)
    assert _campaigns() == []
    assert db.session.scalar(db.select(db.func.count()).select_from(LetterTemplate)) == 0


def test_a_broken_template_leaves_the_saved_campaign_as_it_was(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client)
    before = {(t.office_type, t.lang): (t.subject, t.body) for t in campaign.templates}
    for name, overrides, message in [case for case in INVALID if next(iter(case[1])).startswith("tpl_")]:
        resp = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(goal="7", **overrides))
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), name
        db.session.expire_all()
        after = editor.get(campaign.id)
        assert after is not None and after.goal == 500, name
        assert {(t.office_type, t.lang): (t.subject, t.body) for t in after.templates} == before, name
    assert len(_audit("campaign.update")) == 0


def test_a_too_slow_template_is_refused(editor_client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "TIME_LIMIT_SECONDS", 0.0)
    resp = editor_client.post("/staff/campaigns/new", data=campaign_form())
    assert resp.status_code == 422 and "took longer than" in resp.get_data(as_text=True)
    assert _campaigns() == []


# --- sandbox escapes ---------------------------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__ }}",
    "{{ supporter.__class__ }}",
    "{{ supporter['__class__'] }}",
    "{{ supporter|attr('__class__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    # str.format / format_map (CVE-2016-10745, CVE-2019-10906) and their indirect forms (CVE-2024-56326,
    # CVE-2025-27516: the attr filter fetching format).
    "{{ '{0.__class__.__mro__}'.format(supporter) }}",
    "{{ '{x.__class__}'.format_map({'x': supporter}) }}",
    "{{ supporter.first_name.format }}",
    "{% for t in agreement_287g.support_types %}{{ t.upper }}{% endfor %}",
    "{{ '{0.__init__.__globals__}'|attr('format')(cycler) }}",
    "{{ ('{0.__class__}'|attr('format_map'))({'0': supporter}) }}",
    "{% for f in ['{0.__class__}'.format] %}{{ f(supporter) }}{% endfor %}",
    "{{ '%s'|format(supporter) }}",
    "{{ supporter.first_name|map('upper')|list }}",
    "{{ {'a b': 'c'}|xmlattr }}",
    # Resource exhaustion.
    "{{ 'x' * 10**9 }}",
    "{{ 'x' * 1000000000 }}",
    "{{ 10**10**10 }}",
    "{{ range(10**9)|list }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ supporter.first_name * 999999999 }}",
    "{{ supporter.first_name|center(1000000000) }}",
    "{{ supporter.first_name|indent(1000000000) }}",
    "{% for x in [1] recursive %}{{ loop([1,2]) }}{% endfor %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% set x = [] %}{% for i in agreement_287g.support_types %}{% do x.append(i) %}{% endfor %}",
    "{% extends 'base.html' %}",
    "{% import 'staff/_macros.html' as m %}{{ m.field }}",
    "{% from 'staff/_macros.html' import field %}",
    "{% raw %}{{ x }}{% endraw %}{{ supporter.__dict__ }}",
]


@contextmanager
def timed(what: str, limit: float = 1.0) -> Iterator[None]:
    """The request (validation, sandbox, page) must take under `limit` seconds of this thread's CPU time; wall
    time gets some slack for a loaded CI machine, but a hang would still fail."""
    wall, cpu = time.monotonic(), time.thread_time()
    yield
    cpu_used, wall_used = time.thread_time() - cpu, time.monotonic() - wall
    assert cpu_used < limit, f"{what}: {cpu_used:.2f} s of CPU"
    assert wall_used < 3 * limit, f"{what}: {wall_used:.2f} s"


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escapes_are_refused_quickly(editor_client: FlaskClient, payload: str) -> None:
    body = f"Dear {{{{ official.salutation }}}},\n\n{payload}\n\nAna"
    with timed(payload):
        resp = editor_client.post("/staff/campaigns/new", data=campaign_form(**{"tpl_sheriff_en-body": body}))
    assert resp.status_code == 422, payload
    page = html.unescape(resp.get_data(as_text=True))
    assert "Nothing was saved" in page and "line 3" in page
    for leak in ("uid=", "<class", "<function", "<built-in", "<module", "SECRET_KEY"):
        assert leak not in page, (payload, leak)
    assert _campaigns() == []
    # The JSON preview refuses it the same way, and as fast.
    data = campaign_form(**{"tpl_sheriff_en-body": body, "key": "tpl_sheriff_en"})
    with timed(payload):
        result = editor_client.post("/staff/campaigns/preview", data=data).get_json()
    assert result["ok"] is False and result["problems"] and result["body"] == ""


def test_escapes_through_the_subject_are_refused_too(editor_client: FlaskClient) -> None:
    for payload in ("{{ ''.__class__ }}", "{{ 'x' * 10**9 }}", "{{ cycler.__init__.__globals__ }}"):
        resp = editor_client.post("/staff/campaigns/new", data=campaign_form(**{"tpl_sheriff_en-subject": payload}))
        assert resp.status_code == 422 and "subject" in resp.get_data(as_text=True)
    assert _campaigns() == []


# --- previews ----------------------------------------------------------------------------------------------------

def _preview_box(page: str, key: str) -> str:
    found = re.search(rf'<div class="preview" id="preview-{key}".*?</div>', page, re.S)
    assert found, f"no preview for {key}"
    return html.unescape(found.group(0))


def test_preview_without_javascript_renders_and_saves_nothing(editor_client: FlaskClient) -> None:
    data = campaign_form(preview="tpl_sheriff_en")
    data.pop("save")
    resp = editor_client.post("/staff/campaigns/new", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    box = _preview_box(page, "tpl_sheriff_en")
    assert "made up" in box  # the directory is empty: a sample sheriff of Harrison County
    assert "Subject: Please end Harrison County's 287(g) agreement" in re.sub(r"<[^>]+>", "", box)
    assert "Dear Sheriff Doe," in box and "signed a 287(g) agreement (Jail Enforcement Model) on June 30, 2025" in box
    assert "Ana García, Gulfport" in box
    assert "Dear Senator Doe," in _preview_box(page, "tpl_us_senator_en")
    # The form comes back as typed.
    assert 'value="Please end {{ county }}\'s 287(g) agreement"' in html.unescape(page)
    assert _campaigns() == []


def test_preview_shows_problems_with_their_line(editor_client: FlaskClient) -> None:
    data = campaign_form(preview="tpl_sheriff_en", **{"tpl_sheriff_en-body": "Dear\n{{ official.nick }}"})
    data.pop("save")
    box = _preview_box(editor_client.post("/staff/campaigns/new", data=data).get_data(as_text=True),
                       "tpl_sheriff_en")
    assert "body, line 2: 'official' has no field 'nick'" in box


def test_json_preview(editor_client: FlaskClient) -> None:
    data = campaign_form(key="tpl_us_senator_en")
    result = editor_client.post("/staff/campaigns/preview", data=data).get_json()
    assert result["ok"] is True and result["subject"] == "Please end the 287(g) program"
    assert result["body"].startswith("Dear Senator Doe,")
    empty = editor_client.post("/staff/campaigns/preview", data=campaign_form(key="tpl_state_senator_es")).get_json()
    assert empty["empty"] is True
    unknown = editor_client.post("/staff/campaigns/preview", data=campaign_form(key="../../etc"))
    assert unknown.status_code == 400


def test_merge_fields_are_listed(editor_client: FlaskClient) -> None:
    page = html.unescape(editor_client.get("/staff/campaigns/new").get_data(as_text=True))
    for name, attrs in rendering.MERGE_FIELDS.items():
        for field in ([name] if attrs is None else [f"{name}.{a}" for a in attrs]):
            assert "{{ " + field + " }}" in page
    assert all(help_text for _, help_text in editor.merge_fields())


@pytest.fixture
def geocoded(app: Flask) -> Iterator[FakeCensusGeocoder]:
    geocoders.reset_breakers()
    with FakeCensusGeocoder([CENSUS_FIXTURES], delay=1.0) as fake:
        settings = {**app.config["GEOCODER"], **geocoder_settings(fake.url, retries=0)}
        app.config["GEOCODER"] = settings
        app.extensions["actionkit.geocoder"] = geocoders.from_config(settings)
        yield fake
    geocoders.reset_breakers()


@pytest.fixture
def directory(app: Flask) -> Directory:
    built = build_directory()
    db.session.commit()
    return built


def test_preview_uses_a_real_official_and_equals_the_supporters_letter(
        app: Flask, editor_client: FlaskClient, directory: Directory, geocoded: FakeCensusGeocoder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actionkit.letters.tasks._enqueue", lambda ids: None)
    monkeypatch.setattr("actionkit.letters.tasks.publish", lambda task, *args: True)
    campaign = _create(editor_client)
    editor_client.post(f"/staff/campaigns/{campaign.id}/publish", data={"confirm_unreachable": "1"})
    data = campaign_form(preview="1")
    data.pop("save")
    page = editor_client.post(f"/staff/campaigns/{campaign.id}", data=data).get_data(as_text=True)
    sheriff_box = _preview_box(page, "tpl_sheriff_en")
    assert "Sheriff of Harrison County (holder unknown), from the directory" in sheriff_box
    assert "Jail Enforcement Model agreement, signed 2025-06-30" in sheriff_box
    assert "Jail Enforcement Model, Warrant Service Officer) on June 30, 2025" in sheriff_box
    senator_box = _preview_box(page, "tpl_us_senator_en")
    assert "Roger F. Wicker" in senator_box and "Dear Senator Wicker," in senator_box

    # A supporter in Gulfport (Harrison County) named like the sample acts on the campaign.
    journey = Journey(app.test_client(), editor.get(campaign.id))  # type: ignore[arg-type]
    signed = journey.complete(GULFPORT)
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)
    letters = {letter.office_id: letter for letter in db.session.scalars(db.select(Letter))}
    assert len(letters) == 3  # the sheriff and both senators
    for kind, box in ((OfficeType.SHERIFF, sheriff_box), (OfficeType.US_SENATOR, senator_box)):
        letter = letters[editor.sample_for("ms", kind).office.id]
        body = re.search(r'<pre class="letter-text preview-body">(.*?)</pre>', box, re.S).group(1)  # type: ignore[union-attr]
        subject = re.search(r'<span class="value">(.*?)</span>', box, re.S).group(1)  # type: ignore[union-attr]
        assert letter.body == body
        assert letter.subject == subject
    # Same render function, same context builder: the service agrees with the page for every office type.
    direct = editor.render_for(editor.get(campaign.id), OfficeType.SHERIFF,  # type: ignore[arg-type]
                               editor.TemplateText(campaign_form()["tpl_sheriff_en-subject"], SHERIFF_BODY))
    assert direct.body == letters[directory.harrison_sheriff.id].body


def test_viewers_cannot_open_the_editor(app: Flask) -> None:
    client = app.test_client()
    login_as(client, Role.VIEWER)
    assert client.get("/staff/campaigns/").status_code == 403
    assert client.post("/staff/campaigns/new", data=campaign_form()).status_code == 403
    assert _campaigns() == []


def test_the_editor_says_how_pacing_spreads_letters_out(editor_client: FlaskClient, app: Flask) -> None:
    campaign = _create(editor_client)
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    note = " ".join(re.search(r'<p id="pacing-note">(.*?)</p>', page, re.S).group(1).split())
    assert "more than 30 an hour" in note and "over about 10.0 hours" in note
    app.config["DELIVERY"]["per_destination_per_hour"] = 0
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Pacing is off" in " ".join(page.split())


def test_the_editor_chooses_the_topics_statement_and_replies_of_letters_to_congress(editor_client: FlaskClient) -> None:
    page = editor_client.get("/staff/campaigns/new").get_data(as_text=True)
    assert re.search(r'<input checked id="cwc_topics-\d+" name="cwc_topics" type="checkbox" value="Immigration">',
                     page)  # preselected
    campaign = _create(editor_client, cwc_topics=["Immigration", "Civil Rights and Liberties, Minority Issues"],
                       cwc_statement="Mississippi Rights asks Congress to defund 287(g).", cwc_response_requested=None)
    saved = editor.get(campaign.id)
    assert sorted(saved.cwc_topics) == ["Civil Rights and Liberties, Minority Issues", "Immigration"]
    assert saved.cwc_statement == "Mississippi Rights asks Congress to defund 287(g)."
    assert saved.cwc_response_requested is False
    bad = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(cwc_topics=None))
    assert bad.status_code == 422 and "Library of Congress policy area" in bad.get_data(as_text=True)
    wrong = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(cwc_topics=["Pizza"]))
    assert wrong.status_code == 422


def test_editor_lists_the_new_target_types_with_templates_and_previews(editor_client: FlaskClient) -> None:
    page = html.unescape(editor_client.get("/staff/campaigns/new").get_data(as_text=True))
    for kind, label in (("governor", "Governor"), ("lieutenant_governor", "Lieutenant governor"),
                        ("attorney_general", "Attorney general"), ("secretary_of_state", "Secretary of state"),
                        ("police_chief", "City police chief"), ("fixed_target", "Fixed targets")):
        assert f'value="{kind}"' in page and label in page
        assert f'name="tpl_{kind}_en-body"' in page and f'name="tpl_{kind}_es-body"' in page
    for key, greeting in (("tpl_governor_en", "Dear Governor Doe,"), ("tpl_police_chief_en", "Dear Chief Doe,"),
                          ("tpl_fixed_target_en", "Dear Pat Doe,")):
        data = campaign_form(key=key, **{f"{key}-subject": "End 287(g)",
                                         f"{key}-body": "Dear {{ official.salutation }},\n{{ official.title }}"})
        result = editor_client.post("/staff/campaigns/preview", data=data).get_json()
        assert result["ok"] is True and result["body"].startswith(greeting), result
