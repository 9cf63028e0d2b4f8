"""Real browser (headless Chromium through Playwright) against the app served on a file database: an editor logs
in, writes a campaign with two letters, previews them (with and without the live-preview script) and publishes it;
then a supporter acts on it. Skipped without Chromium, except on CI. Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Iterator

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.campaigns import editor
from actionkit.campaigns.models import Campaign, CampaignStatus
from actionkit.extensions import db
from actionkit.letters.models import Letter
from actionkit.staff import services as staff
from actionkit.staff.models import Role
from tests.conftest import PG_URL, REPO, _config
from tests.e2e.live import RecordingWorker, chromium, fake_geocoding, require_chromium, serving
from tests.letters.conftest import GULFPORT, build_directory
from tests.staff.helpers import FAST_HASH, PASSWORD

ARTIFACTS = REPO / "test-artifacts"
SLUG = "e2e-end-287g"
EDITOR_EMAIL = "editor@example.org"
SHERIFF_SUBJECT = "Please end {{ county }}'s 287(g) agreement"
SHERIFF_BODY = """Dear {{ official.salutation }},

I live in {{ county }}.{% if agreement_287g.active %} Your office signed a 287(g) agreement on {{ agreement_287g.signed }}.{% endif %}

Please stop holding people on ICE detainers.

Sincerely,
{{ supporter.first_name }} {{ supporter.last_name }}"""
SENATOR_SUBJECT = "Please end the 287(g) program"
SENATOR_BODY = """Dear {{ official.salutation }},

As a constituent in {{ supporter.county }}, I ask you to end the 287(g) program.

{{ supporter.first_name }} {{ supporter.last_name }}"""

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")


@dataclass
class Live:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def live(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app with CSRF on, a small Mississippi directory, the fake Census geocoder and an editor account,
    served by werkzeug in a thread on 127.0.0.1 (random port)."""
    require_chromium()
    root = tmp_path_factory.mktemp("e2e")
    database = root / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(f"sqlite:///{database}", root / "instance", WTF_CSRF_ENABLED=True,
                             PASSWORD_HASH=dict(FAST_HASH), PUBLIC_RATE_LIMIT="100/minute"))
    with fake_geocoding(app):
        with app.app_context():
            build_directory()
            staff.create_user(EDITOR_EMAIL, Role.EDITOR, PASSWORD, name="Eddie Editor")
            db.session.commit()
        with serving(app) as url, RecordingWorker(app):
            yield Live(app, url)


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context per test; console errors (CSP violations included) are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ensure_published_campaign(app: Flask) -> None:
    """The campaign the editor test publishes; made through the same editor service when that test did not run."""
    with app.app_context():
        if db.session.scalar(db.select(Campaign).where(Campaign.slug == SLUG)) is not None:
            return
        draft = editor.CampaignDraft(
            slug=SLUG, state="ms", target_types=["sheriff", "us_senator"],
            texts={"en": {"title": "End 287(g) in Mississippi", "summary": "Write to your sheriff and senators.",
                          "body": ""}},
            templates={"tpl_sheriff_en": editor.TemplateText(SHERIFF_SUBJECT, SHERIFF_BODY),
                       "tpl_us_senator_en": editor.TemplateText(SENATOR_SUBJECT, SENATOR_BODY)})
        campaign = editor.save(draft, None, staff.find_user(EDITOR_EMAIL))
        editor.publish(campaign, None)
        db.session.commit()


def test_editor_creates_and_publishes_a_campaign(live: Live, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/staff/campaigns/")
    assert page.url.startswith(f"{live.url}/staff/login")
    page.fill("#email", EDITOR_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{live.url}/staff/campaigns/")
    page.click("#new-campaign")
    page.wait_for_url(f"{live.url}/staff/campaigns/new")

    page.fill("#slug", SLUG)
    page.fill("#goal", "250")
    page.fill("#text_en-title", "End 287(g) in Mississippi")
    page.fill("#text_en-summary", "Write to your sheriff and your U.S. senators.")
    page.fill("#text_es-title", "Pongamos fin al 287(g) en Mississippi")
    page.check("input[name=target_types][value=us_senator]")
    assert page.is_checked("input[name=target_types][value=sheriff]")
    page.fill("#tpl_sheriff_en-subject", SHERIFF_SUBJECT)
    page.fill("#tpl_sheriff_en-body", SHERIFF_BODY)
    page.fill("#tpl_us_senator_en-subject", SENATOR_SUBJECT)

    # The live preview (our script, over the JSON endpoint) follows the typing.
    page.fill("#tpl_us_senator_en-body", SENATOR_BODY)
    senator_preview = page.locator("#preview-tpl_us_senator_en")
    senator_preview.locator(".preview-body").wait_for()
    assert "Dear Senator Wicker," in senator_preview.inner_text()
    page.fill("#tpl_us_senator_en-body", SENATOR_BODY + "\n{{ supporter.email }}")
    senator_preview.locator(".preview-problems").wait_for()  # (no wait_for_function: our CSP forbids eval)
    assert "has no field 'email'" in senator_preview.inner_text()
    page.fill("#tpl_us_senator_en-body", SENATOR_BODY)
    senator_preview.locator(".preview-body").wait_for()

    # The Preview button works without the script: the form comes back with the letter.
    page.click("#tpl_sheriff_en button[name=preview]")
    page.wait_for_load_state()
    sheriff_preview = page.locator("#preview-tpl_sheriff_en").inner_text()
    assert "Sheriff of Harrison County" in sheriff_preview and "from the directory" in sheriff_preview
    assert "Dear Sheriff," in sheriff_preview
    assert "Your office signed a 287(g) agreement on June 30, 2025." in sheriff_preview
    assert page.input_value("#slug") == SLUG  # nothing typed was lost
    shot(page, "editor-preview")

    page.click("#save")
    page.wait_for_url(re.compile(rf"{re.escape(live.url)}/staff/campaigns/\d+$"))
    assert "Campaign saved." in page.inner_text("main")
    assert page.inner_text("#campaign-status") == "draft"
    page.click("form[action$='/publish'] button")
    page.wait_for_load_state()
    # Sheriffs with no email or address can only be reached by hand: publishing shows who and asks to confirm.
    assert "can only be" in page.inner_text("main") and page.locator("#reach-unreachable").count() == 1
    shot(page, "editor-publish-reach")
    page.click("button:has-text(\"Publish anyway\")")
    page.wait_for_load_state()
    assert page.inner_text("#campaign-status") == "live"
    shot(page, "editor-published")
    assert not [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e], \
        page.console_errors

    with live.app.app_context():
        campaign = db.session.scalar(db.select(Campaign).where(Campaign.slug == SLUG))
        assert campaign is not None and campaign.status is CampaignStatus.LIVE
        assert sorted(t.office_type for t in campaign.templates) == ["sheriff", "us_senator"]
        assert campaign.goal == 250


def test_supporter_acts_on_the_published_campaign(live: Live, page) -> None:  # type: ignore[no-untyped-def]
    ensure_published_campaign(live.app)
    page.goto(f"{live.url}/act/{SLUG}")
    assert "End 287(g) in Mississippi" in page.inner_text("h1")
    page.fill("#first_name", "Ana")
    page.fill("#last_name", "García")
    page.fill("#email", "ana.e2e@example.org")
    page.fill("#street", GULFPORT["street"])
    page.fill("#city", GULFPORT["city"])
    page.fill("#zip", GULFPORT["zip"])
    page.click("#find-officials")
    page.wait_for_load_state()
    if page.locator("#confirm-officials").count():
        page.click("#confirm-officials")
        page.wait_for_load_state()
    page.locator("#compose-form").wait_for()
    letters = page.locator("#letters").text_content() or ""  # each letter is folded: read the whole text
    assert "Dear Sheriff," in letters and "I live in Harrison County." in letters
    assert "Your office signed a 287(g) agreement on June 30, 2025." in letters
    assert "Dear Senator Wicker," in letters and "Dear Senator Hyde-Smith," in letters
    shot(page, "supporter-letters")
    page.click("#send-letters")
    page.wait_for_url(re.compile(r".*/thanks/.*"))
    assert "Thank you" in page.inner_text("h1")
    page.locator("#chosen").wait_for()  # the worker has recorded the letters: the receipt lists the officials
    assert page.locator("#chosen li").count() == 3
    shot(page, "supporter-thanks")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors

    with live.app.app_context():
        bodies = [letter.body for letter in db.session.scalars(db.select(Letter))]
        assert any(b.startswith("Dear Sheriff,\n\nI live in Harrison County.") for b in bodies)
