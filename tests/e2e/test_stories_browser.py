"""Stories and the public progress page in a real browser at phone size, in Spanish and English, with and without
JavaScript, scanned with axe-core: a supporter writes a story in Spanish with consent (b), a moderator redacts a
phone number and approves it in the staff pages, it appears without name or county, the storyteller deletes it
with the code; the progress page shows the 287(g) map, the list and the recorded responses. Every request stays
on the app's own host. Skipped without Chromium, except on CI."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit import create_app
from actionkit.extensions import db
from actionkit.officials import responses
from actionkit.officials.models import Agreement287g, AgreementStatus, Position
from actionkit.staff.models import Role
from actionkit.stats import services as stats
from actionkit.stories.models import Story
from tests.conftest import PG_URL, SHARED_DATA, _config, missing_service
from tests.e2e.live import chromium, require_chromium, serving
from tests.e2e.test_supporter_browser import PHONE, Phone, _open, assert_fits
from tests.factories import make_action, make_campaign, make_office
from tests.staff.helpers import PASSWORD, make_staff
from tests.stats.conftest import load_county_boundaries

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")
SLUG = "stories-e2e"
STORY_ES = ("Me robaron en Canton y no llamé a la policía por miedo.\nMi número es 601-555-0199.\n"
            "<b>No</b> confiamos en el sheriff.")


@dataclass
class Live:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def live(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    require_chromium()
    if not SHARED_DATA.is_dir():
        missing_service(f"shared data folder {SHARED_DATA}")
    root = tmp_path_factory.mktemp("e2e-stories")
    database = root / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(f"sqlite:///{database}", root / "instance", WTF_CSRF_ENABLED=True,
                             PUBLIC_RATE_LIMIT="100/minute", STORY_RATE_LIMIT="100/hour"))
    with app.app_context():
        madison = make_office(county="Madison", holder="Randy Tucker", email="s@madison.example.org")
        hinds = make_office(county="Hinds", holder="Tyree Jones", email="s@hinds.example.org")
        campaign = make_campaign(slug=SLUG, goal=100)
        for _ in range(6):
            action = make_action(campaign, offices=[madison])
            action.county_id = madison.division_id
        db.session.add(Agreement287g(office_id=madison.id, state="ms", agency="Madison County Sheriff's Office",
                                     support_type="Task Force Model", status=AgreementStatus.PARTICIPATING,
                                     signed_on=dt.date(2025, 6, 30), source="test"))
        db.session.add(Agreement287g(office_id=hinds.id, state="ms", agency="Hinds County Sheriff's Office",
                                     support_type="Warrant Service Officer", status=AgreementStatus.PENDING,
                                     source="test"))
        responses.record(madison, Position.OPPOSES, dt.date(2026, 11, 2), note="Refused at the board meeting.",
                         source_url="https://news.example.org/madison", source_label="News story")
        db.session.commit()
        load_county_boundaries(SHARED_DATA)
        stats.refresh(full=True)
        db.session.commit()
        make_staff(Role.EDITOR, "editor@example.org")
        db.session.remove()
    with serving(app) as url:
        yield Live(app, url)


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _phone(browser: Any, run: str, javascript: bool) -> tuple[Any, Phone]:
    context, phone = _open(browser, f"stories-{run}", javascript=javascript)
    phone.javascript = javascript  # type: ignore[attr-defined]
    return context, phone


def assert_axe_clean(phone: Phone, name: str) -> None:
    """axe-core finds no violation. axe runs as a script with timers, so only where JavaScript is on: the
    no-JavaScript runs load the same server-rendered markup."""
    from axe_playwright_python.sync_playwright import Axe

    if not phone.javascript:  # type: ignore[attr-defined]
        return
    results = Axe().run(phone.page)
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"


def assert_home_only(live: Live, phone: Phone) -> None:
    elsewhere = [u for u in phone.requests if not u.startswith(f"{live.url}/")]
    assert not elsewhere and not phone.csp and not phone.errors, (elsewhere, phone.csp, phone.errors)


def _go(phone: Phone, selector: str) -> None:
    with phone.page.expect_navigation():
        phone.page.click(selector)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_spanish_story_moderated_published_and_deleted(live: Live, browser: Any, javascript: bool) -> None:
    context, phone = _phone(browser, f"journey-{'js' if javascript else 'nojs'}", javascript)
    page = phone.page
    try:
        page.goto(f"{live.url}/act/{SLUG}/story?lang=es")
        assert "estatus migratorio" in phone.text("#safety-notice")
        assert_axe_clean(phone, "story form")
        assert_fits(phone, "story form")
        page.fill("#text", STORY_ES)
        if javascript:
            page.locator("#text-count", has_text=f"{len(STORY_ES)} de 5,000").wait_for()
        page.fill("#name", "Rosa")
        page.select_option("#county", label="Madison County")
        page.check("#consent-1")  # (b) publish without my name
        _go(phone, "#send-story")
        assert "Gracias por su historia" in phone.text()
        code = phone.text("#delete-code").strip()
        assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", code)
        assert_axe_clean(phone, "story thanks")
        assert_fits(phone, "story thanks")
        with live.app.app_context():
            story_id = db.session.scalar(sa.select(sa.func.max(Story.id)))
            db.session.remove()

        # The moderator, in the staff pages of another browser context.
        staff_context, staff = _phone(browser, "moderator", True)
        try:
            staff.page.goto(f"{live.url}/staff/login")
            staff.page.fill("#email", "editor@example.org")
            staff.page.fill("#password", PASSWORD)
            _go(staff, "#submit")
            staff.page.goto(f"{live.url}/staff/stories/{story_id}")
            assert "phone number" in staff.text("#hints")
            text = staff.page.input_value("#published_text")
            assert "601-555-0199" in text
            staff.page.fill("#published_text", text.replace("601-555-0199", "[…]"))
            assert staff.page.locator("#level option[value=named]").count() == 0
            _go(staff, "#approve")
            assert "approved" in staff.text("#story-status")
        finally:
            staff_context.close()

        page.goto(f"{live.url}/act/{SLUG}/stories?lang=es")
        shown = phone.text("#stories")
        assert "Me robaron en Canton" in shown and "[…]" in shown and "601-555-0199" not in shown
        assert "Rosa" not in shown and "Madison" not in shown and "<b>No</b> confiamos" in shown
        assert_axe_clean(phone, "stories page")
        assert_fits(phone, "stories page")

        page.goto(f"{live.url}/stories/delete?lang=es")
        page.fill("#code", code.lower())
        _go(phone, "#delete-story")
        assert "Su historia ha sido borrada" in phone.text()
        page.goto(f"{live.url}/act/{SLUG}/stories?lang=es")
        assert "Me robaron" not in phone.text()
        with live.app.app_context():
            assert db.session.get(Story, story_id) is None
            db.session.remove()
        assert_home_only(live, phone)
    finally:
        context.close()


@pytest.mark.parametrize("lang,javascript", [("en", True), ("es", True), ("es", False)])
def test_progress_page_on_a_phone(live: Live, browser: Any, lang: str, javascript: bool) -> None:
    context, phone = _phone(browser, f"progress-{lang}", javascript)
    page = phone.page
    try:
        page.goto(f"{live.url}/act/{SLUG}/progress?lang={lang}")
        assert page.locator("#progress-map path.g-participating").count() == 1
        assert page.locator("#progress-map path.g-pending").count() == 1
        madison = page.locator("#county-table tr", has_text="Madison County").inner_text()
        assert ("287(g) agreement in force" if lang == "en" else "Acuerdo 287(g) vigente") in madison
        assert "6" in madison
        official = page.locator("#officials-table tr", has_text="Randy Tucker").inner_text()
        assert "Refused at the board meeting." in official and "2026-11-02" in official
        _go(phone, "#sort-status")
        first = page.locator("#county-table tbody tr").first.inner_text()
        assert "Madison County" in first
        assert_axe_clean(phone, f"progress {lang}")
        assert_fits(phone, f"progress {lang}")
        _go(phone, "#print-link")
        assert page.locator("#officials-table").count() == 1
        assert_axe_clean(phone, f"progress print {lang}")
        assert_home_only(live, phone)
    finally:
        context.close()


def test_english_story_form_errors_are_announced_and_keep_the_text(live: Live, browser: Any) -> None:
    context, phone = _phone(browser, "errors-en", True)
    page = phone.page
    try:
        page.goto(f"{live.url}/act/{SLUG}/story?lang=en")
        page.fill("#text", "A story with no consent choice yet.")
        _go(phone, "#send-story")
        assert page.locator("#error-summary").is_visible()
        assert "Choose who may read your story." in phone.text("#error-summary")
        assert page.input_value("#text") == "A story with no consent choice yet."
        assert_axe_clean(phone, "story form with errors")
        assert_fits(phone, "story form with errors")
        phone.errors = [e for e in phone.errors if "status of 422" not in e]  # the form's own answer
        assert_home_only(live, phone)
    finally:
        context.close()
