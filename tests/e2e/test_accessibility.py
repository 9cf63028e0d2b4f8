"""axe-core (the copy bundled with axe-playwright-python; nothing is fetched) on every supporter page in English
and Spanish and on the main staff pages, in headless Chromium: zero violations. Also the staff tables' layout:
no word split mid-word at 1280 px, no sideways scrolling of the page at 320 px.
Skipped without Chromium, except on CI."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign, CampaignStatus, CampaignText
from actionkit.extensions import db
from actionkit.letters.models import Action
from actionkit.letters.services import find_supporter
from actionkit.officials.models import Office
from actionkit.staff import services as staff
from actionkit.staff.models import Role
from tests.conftest import PG_URL, _config
from tests.e2e.live import RecordingWorker, chromium, fake_geocoding, require_chromium, serving
from tests.letters.conftest import GULFPORT, UNKNOWN_STREET, build_directory, emailed_link
from tests.staff.helpers import FAST_HASH, PASSWORD

SLUG = campaigns.DEMO_SLUG
CLOSED = "an-earlier-campaign"
ADMIN = "admin@example.org"
PHONE = {"width": 360, "height": 740}

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")


@dataclass
class Live:
    app: Flask
    url: str
    campaign_id: int
    office_id: int


@pytest.fixture(scope="module")
def live(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    require_chromium()
    root = tmp_path_factory.mktemp("e2e-axe")
    database = root / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(f"sqlite:///{database}", root / "instance", WTF_CSRF_ENABLED=True,
                             PASSWORD_HASH=dict(FAST_HASH), PUBLIC_RATE_LIMIT="100/minute"))
    with fake_geocoding(app):
        with app.app_context():
            build_directory()
            campaign, _ = campaigns.create_demo_campaign()
            closed = Campaign(slug=CLOSED, state="ms", status=CampaignStatus.CLOSED, target_types=["sheriff"],
                              letter_language="en")
            closed.texts = [CampaignText(lang="en", title="An earlier campaign", summary="It is over.", body=""),
                            CampaignText(lang="es", title="Una campaña anterior", summary="Terminó.", body="")]
            db.session.add(closed)
            staff.create_user(ADMIN, Role.ADMIN, PASSWORD, name="Ada Admin")
            db.session.commit()
            ids = campaign.id, db.session.scalar(db.select(Office.id).order_by(Office.id))
        with serving(app) as url, RecordingWorker(app):
            yield Live(app, url, *ids)


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _context(browser: Any, **options: Any) -> Any:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context


def assert_accessible(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, f"{name} ({page.url}):\n{results.generate_report()}"


def submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def fill(page: Any, email: str, address: dict[str, str] = GULFPORT) -> None:
    page.fill("#first_name", "Ana")
    page.fill("#last_name", "García")
    page.fill("#email", email)
    page.fill("#street", address["street"])
    page.fill("#city", address["city"])
    page.fill("#zip", address["zip"])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_supporter_page_has_no_axe_violations(live: Live, browser: Any, lang: str) -> None:
    context = _context(browser, viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live.url}/act/{SLUG}?lang={lang}")
        assert_accessible(page, "campaign page")
        fill(page, f"ana.{lang}@example")  # a mistake: the page with the error summary
        submit(page, "#find-officials")
        assert page.locator("#error-summary").count() == 1
        assert_accessible(page, "campaign page with errors")
        page.fill("#email", f"ana.axe.{lang}@example.org")
        submit(page, "#find-officials")
        if page.locator("#confirm-officials").count():
            assert_accessible(page, "confirm page")
            submit(page, "#confirm-officials")
        page.locator("#compose-form").wait_for()
        assert_accessible(page, "letters page")
        page.locator(".letter-details summary").first.click()  # an open letter too
        assert_accessible(page, "letters page, a letter open")
        submit(page, "#send-letters")
        assert_accessible(page, "thank-you page (being prepared)")
        page.locator("#chosen").wait_for(timeout=15_000)
        assert_accessible(page, "receipt")
        with live.app.app_context():  # the statuses are on the page the e-mailed link opens
            action_id = db.session.scalar(db.select(Action.id).where(
                Action.supporter_id == find_supporter(f"ana.axe.{lang}@example.org").id))
            status_path = emailed_link(action_id)
            db.session.remove()
        page.goto(f"{live.url}{status_path}")
        page.locator("#statuses:not([data-preparing])").wait_for(timeout=15_000)
        assert_accessible(page, "status page")
        delete = page.locator("#delete-link").get_attribute("href")
        page.goto(f"{live.url}{delete}")
        assert_accessible(page, "delete page")
        page.goto(f"{live.url}/act/no-such-campaign?lang={lang}")
        assert_accessible(page, "not found page")
        page.goto(f"{live.url}/act/{CLOSED}?lang={lang}")
        assert page.locator("#ended-notice").count() == 1
        assert_accessible(page, "a campaign that has ended")
        page.goto(f"{live.url}/act/{SLUG}?lang={lang}")
        fill(page, f"ana.zip.{lang}@example.org", UNKNOWN_STREET)  # a ZIP-level match: officials to choose
        submit(page, "#find-officials")
        assert page.locator("#confirm-form").count() == 1
        assert_accessible(page, "officials page")
        submit(page, "#confirm-officials")  # nothing chosen: the page with its errors
        assert page.locator("#error-summary").count() == 1
        assert_accessible(page, "officials page with errors")
    finally:
        context.close()


STAFF_PAGES = ["/staff/", "/staff/campaigns/", "/staff/campaigns/new", "/staff/campaigns/{campaign_id}",
               "/staff/campaigns/{campaign_id}/close", f"/act/{SLUG}/preview",
               "/staff/officials/", "/staff/officials/{office_id}", "/staff/deliveries/", "/staff/stats",
               f"/staff/stats/{SLUG}", "/staff/users", "/staff/audit", "/staff/settings", "/staff/account"]


def _log_in(live: Live, page: Any) -> None:
    page.goto(f"{live.url}/staff/login")
    assert_accessible(page, "staff login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    submit(page, "#submit")


def test_the_main_staff_pages_have_no_axe_violations(live: Live, browser: Any) -> None:
    context = _context(browser, viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        _log_in(live, page)
        for path in STAFF_PAGES:
            resp = page.goto(live.url + path.format(campaign_id=live.campaign_id, office_id=live.office_id))
            assert resp is not None and resp.status == 200, path
            assert_accessible(page, path)
    finally:
        context.close()


# Words in a table cell that the browser laid out on more than one line: split mid-word.
SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll("table th, table td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(match[0]);
      }
    }
  }
  return split;
}"""


def test_staff_tables_keep_words_whole_and_the_page_never_scrolls_sideways(live: Live, browser: Any) -> None:
    context = _context(browser, viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        _log_in(live, page)
        for path in ("/staff/deliveries/", "/staff/officials/", "/staff/stats", "/staff/campaigns/",
                     "/staff/users", "/staff/audit"):
            page.goto(live.url + path)
            split = [w for w in page.evaluate(SPLIT_WORDS) if re.search(r"[A-Za-z]{4}", w) and "@" not in w
                     and "/" not in w]
            assert not split, f"{path}: words split mid-word at 1280 px: {split}"
        page.set_viewport_size({"width": 320, "height": 740})
        for path in ("/staff/officials/", "/staff/deliveries/"):
            page.goto(live.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(e =>
                e.getBoundingClientRect().right > 321 && !e.closest('.table-region, .table-scroll'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
            assert width <= 320, f"{path} is {width}px wide at 320 px: {wide}"
    finally:
        context.close()
