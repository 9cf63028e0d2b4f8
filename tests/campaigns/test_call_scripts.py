"""The editor's calls settings: letters / calls / both, a call script per office type and language (the letters'
sandbox, checked at save time with the line and reason), previews with and without JavaScript, publishing rules."""
from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from actionkit.campaigns import editor
from actionkit.campaigns.models import CampaignMode, CampaignStatus
from actionkit.extensions import db
from actionkit.staff.models import AuditEntry
from tests.campaigns.test_views import _campaigns, _create, _preview_box, campaign_form, editor_client  # noqa: F401

SCRIPT = ("Hello, my name is {{ supporter.first_name }} from {{ supporter.city }}. I am calling "
          "{{ official.salutation }} to ask for an end to the 287(g) agreement.")


def test_a_calls_campaign_is_saved_with_its_scripts_and_audited(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, mode="calls", script_sheriff_en=SCRIPT, script_sheriff_es="Hola, soy "
                       "{{ supporter.first_name }}.", script_us_senator_en="I am a constituent.")
    assert campaign.mode is CampaignMode.CALLS
    assert campaign.call_script("sheriff", "es").body == "Hola, soy {{ supporter.first_name }}."
    assert campaign.call_script("us_senator", "es").body == "I am a constituent."  # English fallback
    actions = [(e.action, e.details["office_type"], e.details["lang"]) for e in db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action.like("call_script.%")).order_by(AuditEntry.id))]
    assert actions == [("call_script.create", "sheriff", "en"), ("call_script.create", "sheriff", "es"),
                       ("call_script.create", "us_senator", "en")]
    page = editor_client.get(f"/staff/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'value="calls" checked' in page or 'checked id="mode-1"' in page or re.search(
        r'<input[^>]*checked[^>]*value="calls"|<input[^>]*value="calls"[^>]*checked', page)
    assert "Hola, soy {{ supporter.first_name }}." in html.unescape(page)
    # Emptying a script deletes it.
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        mode="calls", script_sheriff_en=SCRIPT, script_us_senator_en="I am a constituent."))
    assert resp.status_code == 302
    db.session.expire_all()
    assert editor.get(campaign.id).call_script("sheriff", "es").lang == "en"  # type: ignore[union-attr]


def test_a_broken_script_is_refused_with_its_line_and_nothing_is_saved(editor_client: FlaskClient) -> None:
    resp = editor_client.post("/staff/campaigns/new", data=campaign_form(
        mode="both", script_sheriff_en="Hello\n{{ official.nick }}"))
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Nothing was saved" in text
    assert "line 2: 'official' has no field 'nick'" in text
    assert _campaigns() == []
    escape = editor_client.post("/staff/campaigns/new", data=campaign_form(
        script_sheriff_en="{{ supporter.__class__.__mro__ }}"))
    assert escape.status_code == 422 and _campaigns() == []


def test_publishing_a_calls_campaign_needs_an_english_script_per_target_not_letters(
        editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, mode="calls", script_sheriff_en=SCRIPT,
                       **{"tpl_us_senator_en-subject": "", "tpl_us_senator_en-body": ""})
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}/publish")
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert "U.S. senators is targeted and supporters are asked to call, so it needs a call script in English" in text
    assert "needs a letter" not in text  # a calls-only campaign sends no letters
    editor_client.post(f"/staff/campaigns/{campaign.id}", data=campaign_form(
        mode="calls", script_sheriff_en=SCRIPT, script_us_senator_en="Please end 287(g).",
        **{"tpl_us_senator_en-subject": "", "tpl_us_senator_en-body": ""}))
    assert editor_client.post(f"/staff/campaigns/{campaign.id}/publish").status_code == 302
    db.session.expire_all()
    assert editor.get(campaign.id).status is CampaignStatus.LIVE  # type: ignore[union-attr]


def test_script_previews_without_and_with_javascript(editor_client: FlaskClient) -> None:
    data = campaign_form(preview="script_sheriff_en", script_sheriff_en=SCRIPT)
    data.pop("save")
    page = editor_client.post("/staff/campaigns/new", data=data).get_data(as_text=True)
    box = _preview_box(page, "script_sheriff_en")
    assert "Hello, my name is Ana from Gulfport. I am calling Sheriff Doe to ask for an end" in box
    assert _campaigns() == []
    result = editor_client.post("/staff/campaigns/preview", data=campaign_form(
        key="script_sheriff_en", script_sheriff_en=SCRIPT)).get_json()
    assert result["ok"] is True and result["subject"] == "" and result["body"].startswith("Hello, my name is Ana")
    broken = editor_client.post("/staff/campaigns/preview", data=campaign_form(
        key="script_sheriff_en", script_sheriff_en="{% for %}")).get_json()
    assert broken["ok"] is False and broken["problems"]


def test_clone_keeps_mode_and_scripts(editor_client: FlaskClient) -> None:
    campaign = _create(editor_client, mode="both", script_sheriff_en=SCRIPT)
    resp = editor_client.post(f"/staff/campaigns/{campaign.id}/clone")
    assert resp.status_code == 302
    copy = max(_campaigns(), key=lambda c: c.id)
    assert copy.mode is CampaignMode.BOTH and copy.call_script("sheriff", "en").body == SCRIPT
