"""In a real browser: a form sent while the database is down answers with the 503 page in the supporter's
language; nothing typed is lost (Try again re-sends it, Back shows the filled form) and the language switch
keeps it too."""
from __future__ import annotations

import shutil
from typing import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from actionkit.extensions import db
from tests.conftest import PG_URL, _config
from tests.e2e.live import chromium, fake_geocoding, require_chromium, serving
from tests.letters.conftest import GULFPORT, build_directory

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")
SLUG = "end-ice-detainers-ms"


@pytest.fixture
def site(migrated_database: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    require_chromium()
    database = tmp_path / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(f"sqlite:///{database}", tmp_path / "instance", WTF_CSRF_ENABLED=True,
                             PUBLIC_RATE_LIMIT="100/minute"))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with fake_geocoding(app):
        with app.app_context():
            build_directory()
            campaigns.create_demo_campaign()
            db.session.commit()
        with serving(app) as url:
            yield url


def test_a_form_sent_during_a_database_outage_is_kept(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with chromium() as browser:
        context = browser.new_context(locale="es-MX", viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(f"{site}/act/{SLUG}")
        for field, value in (("#first_name", "Ana"), ("#last_name", "García"), ("#email", "ana.e2e@example.org"),
                             ("#street", GULFPORT["street"]), ("#city", GULFPORT["city"]), ("#zip", GULFPORT["zip"])):
            page.fill(field, value)

        real = campaigns.live_or_404

        def database_down(slug: str):  # type: ignore[no-untyped-def]
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

        monkeypatch.setattr(campaigns, "live_or_404", database_down)
        with page.expect_navigation():
            page.click("#find-officials")
        assert page.inner_text("h1") == "Tenemos un problema técnico"
        assert "No se envió nada" in page.inner_text("main")
        assert page.locator("html").get_attribute("lang") == "es"

        monkeypatch.setattr(campaigns, "live_or_404", real)  # the database is back for a moment
        page.go_back()
        assert page.input_value("#last_name") == "García"  # Back: the form as it was filled
        assert page.input_value("#email") == "ana.e2e@example.org"
        monkeypatch.setattr(campaigns, "live_or_404", database_down)
        with page.expect_navigation():
            page.click("#find-officials")
        assert page.inner_text("h1") == "Tenemos un problema técnico"

        with page.expect_navigation():
            page.click("#lang-en")  # the switch re-sends the kept form with set_lang
        assert page.inner_text("h1") == "We are having a technical problem"
        assert page.locator('#retry-form input[name="email"]').get_attribute("value") == "ana.e2e@example.org"

        monkeypatch.setattr(campaigns, "live_or_404", real)  # the database is back
        with page.expect_navigation():
            page.click("#try-again")
        # The supporter's officials and letters, from what was typed before the outage.
        assert page.locator("#confirm-officials, #letters").count() > 0, page.inner_text("main")[:500]
        context.close()
