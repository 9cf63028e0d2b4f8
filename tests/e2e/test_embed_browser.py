"""The embeddable action in a real browser: a partner page on an allowed https origin frames /act/<slug>/embed,
the frame grows to its content through postMessage, and a supporter goes through the journey inside the frame
(CSRF on: the embedded session cookie must reach the app from a cross-site frame); a page on another origin is
refused by the browser. Both sites are served through Playwright's request routing (real https origins without
certificates): the partner page from a string, the app's pages proxied to the live server."""
from __future__ import annotations

import shutil
import time
from typing import Any, Iterator

import pytest

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from actionkit.extensions import db
from actionkit.letters.models import Action
from tests.conftest import PG_URL, _config
from tests.e2e.live import RecordingWorker, chromium, fake_geocoding, require_chromium, serving
from tests.letters.conftest import GULFPORT, build_directory

APP_ORIGIN = "https://act.example.org"
PARTNER = "https://partner.example.org"
STRANGER = "https://stranger.example.net"
SLUG = campaigns.DEMO_SLUG

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")


def partner_page(frame_src: str) -> str:
    """What an organization pastes on its site: the iframe and the listener from the editor's snippet."""
    return f"""<!doctype html><html><head><title>Partner</title></head><body>
<h1>Our campaign</h1>
<iframe src="{frame_src}" id="actionkit-frame" title="Act" width="360" height="150" style="border:0"></iframe>
<script>
window.addEventListener("message", function (e) {{
  if (e.origin !== "{APP_ORIGIN}" || !e.data || e.data.type !== "actionkit:height") return;
  document.getElementById("actionkit-frame").height = e.data.height;
}});
</script></body></html>"""


@pytest.fixture(scope="module")
def live(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_chromium()
    root = tmp_path_factory.mktemp("e2e-embed")
    database = root / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(f"sqlite:///{database}", root / "instance", WTF_CSRF_ENABLED=True,
                             PUBLIC_RATE_LIMIT="100/minute", PUBLIC_URL=APP_ORIGIN))
    with fake_geocoding(app):
        with app.app_context():
            build_directory()
            campaign, _created = campaigns.create_demo_campaign()
            campaign.embed_origins = [PARTNER]
            db.session.commit()
        with serving(app) as url, RecordingWorker(app):
            yield app, url


@pytest.fixture
def browser_context(live: Any) -> Iterator[Any]:
    app, url = live
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 800, "height": 900})

        def proxy(route: Any) -> None:
            response = route.fetch(url=route.request.url.replace(APP_ORIGIN, url, 1), max_redirects=0)
            location = response.headers.get("location")
            if response.status in (302, 303) and location:
                # Chromium does not route the request a routed redirect leads to: follow it here (GET), until
                # the worker has recorded the signature (the thank-you page then lists the letters).
                target = (url + location) if location.startswith("/") else location.replace(APP_ORIGIN, url, 1)
                assert "embed=1" in target  # the journey stays embedded after the redirect
                for _try in range(50):
                    response = route.fetch(url=target, method="GET", max_redirects=0)
                    if b'id="statuses"' in response.body():
                        break
                    time.sleep(0.2)
            route.fulfill(response=response)

        context.route(f"{APP_ORIGIN}/**", proxy)
        context.route(f"{PARTNER}/**", lambda route: route.fulfill(
            content_type="text/html", body=partner_page(f"{APP_ORIGIN}/act/{SLUG}/embed?source=partner")))
        context.route(f"{STRANGER}/**", lambda route: route.fulfill(
            content_type="text/html", body=partner_page(f"{APP_ORIGIN}/act/{SLUG}/embed")))
        try:
            yield context
        finally:
            context.close()


def _frame(page: Any) -> Any:
    page.wait_for_selector("#actionkit-frame")
    return page.frame_locator("#actionkit-frame")


def test_embed_on_an_allowed_site_grows_and_signs(live: Any, browser_context: Any) -> None:
    app, _url = live
    page = browser_context.new_page()
    page.goto(f"{PARTNER}/campaign")
    frame = _frame(page)
    frame.locator("#signup-form").wait_for()
    deadline = time.monotonic() + 10
    while int(page.get_attribute("#actionkit-frame", "height")) <= 150 and time.monotonic() < deadline:
        time.sleep(0.1)
    height = int(page.get_attribute("#actionkit-frame", "height"))
    assert height > 600  # told by postMessage: the whole form shows without a scroll bar
    frame.locator("#first_name").fill("Ana")
    frame.locator("#last_name").fill("García")
    frame.locator("#email").fill("embedded@example.org")
    frame.locator("#street").fill(GULFPORT["street"])
    frame.locator("#city").fill(GULFPORT["city"])
    frame.locator("#zip").fill(GULFPORT["zip"])
    frame.locator("#find-officials").click()
    frame.locator("#compose-form").wait_for(timeout=20_000)  # CSRF passed: the embedded cookie came back
    frame.locator("#send-letters").click()
    frame.locator("#statuses").wait_for(timeout=20_000)
    with app.app_context():
        deadline = time.monotonic() + 10
        action = None
        while action is None and time.monotonic() < deadline:
            action = db.session.scalar(db.select(Action))
            db.session.remove()
            time.sleep(0.1) if action is None else None
        assert action is not None and action.source == "partner"
    assert page.url.startswith(PARTNER)  # the partner page stayed; the journey happened in the frame


def test_embed_is_refused_on_another_site(live: Any, browser_context: Any) -> None:
    page = browser_context.new_page()
    page.goto(f"{STRANGER}/campaign")
    page.wait_for_selector("#actionkit-frame")
    time.sleep(1.5)
    frame = page.frame(url=lambda u: "/act/" in u)
    assert frame is None or frame.query_selector("#signup-form") is None
    assert int(page.get_attribute("#actionkit-frame", "height")) == 150  # no height message came
