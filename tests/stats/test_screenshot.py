"""The stats page in a real headless Chromium: it renders with the CSP (no inline style, no third-party
request), the map shows every county, and a screenshot is kept in test-artifacts/ for people to look at."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from actionkit.extensions import db
from actionkit.officials.models import Division, DivisionType, OfficeType
from actionkit.staff.models import Role
from actionkit.stats import services
from tests.conftest import REPO, missing_service
from tests.factories import make_campaign, make_office
from tests.stats.conftest import bulk_actions, load_county_boundaries, make_staff, session_data

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
USER_AGENT = "actionkit-stats-test (HeadlessChrome)"


def test_stats_page_in_chromium(app, shared_data):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        missing_service(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    load_county_boundaries(shared_data)
    counties = db.session.scalars(db.select(Division).where(Division.type == DivisionType.COUNTY,
                                                            Division.state == "ms").order_by(Division.name)).all()
    sheriffs = {d.id: make_office(OfficeType.SHERIFF, county=d.name, holder=f"Sheriff of {d.name}")
                for d in counties[::3]}
    campaign = make_campaign(slug="end-287g", title="End 287(g) in Mississippi", goal=1500)
    ids = [d.id for d in counties]
    bulk_actions(campaign, ids[7:] + ids[:7], sheriffs, n=700, seed=7)
    services.refresh()
    db.session.commit()
    admin = make_staff(Role.ADMIN)
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        session_data(app, admin, user_agent=USER_AGENT))

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    problems: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            context = browser.new_context(user_agent=USER_AGENT, viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie,
                                  "domain": "127.0.0.1", "path": "/"}])
            page = context.new_page()
            page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning")
                    and not msg.text.startswith("Failed to load resource") else None)  # CSP violations land here
            page.on("request", lambda req: None if req.url.startswith(base) else problems.append(req.url))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400
                    and not r.url.endswith("/favicon.ico") else None)
            response = page.goto(f"{base}/staff/stats/{campaign.slug}")
            assert response is not None and response.status == 200
            assert page.locator("#chart-map path.county").count() == len(counties)
            assert page.locator("#chart-per-day rect.mark").count() > 10
            box = page.locator("#chart-map").bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 300  # a portrait state, drawn
            fill = page.locator("#chart-map path.q4").first.evaluate("e => getComputedStyle(e).fill")
            assert fill not in ("", "none", "rgb(0, 0, 0)")  # shading comes from app.css
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "stats-campaign.png"), full_page=True)
            page.locator("#counties-h").locator("xpath=..").screenshot(path=str(ARTIFACTS / "stats-map.png"))
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert problems == []
