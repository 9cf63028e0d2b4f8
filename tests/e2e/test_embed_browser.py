"""The embeddable action in a real browser: a partner page on an allowed https origin frames /act/<slug>/embed,
the frame grows to its content through postMessage, and a supporter goes through the journey inside the frame
(CSRF on: the embedded session and step cookies must reach the app from a cross-site frame); a page on another
origin is refused by the browser. The app is served over https (a throw-away self-signed certificate) as
act.example.org (Chromium's host resolver maps it to loopback); the partner pages come from Playwright's request
routing."""
from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from actionkit.extensions import db
from actionkit.letters.models import Action
from tests.conftest import PG_URL, _config
from werkzeug.serving import make_server

from tests.e2e.live import CHROMIUM, RecordingWorker, fake_geocoding, require_chromium
from tests.letters.conftest import GULFPORT, build_directory

APP_HOST = "act.example.org"
PARTNER = "https://partner.example.net"  # another site than the app (SameSite applies)
STRANGER = "https://stranger.example.com"
SLUG = campaigns.DEMO_SLUG

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the browser tests serve a private SQLite file")


def self_signed(directory: Path) -> tuple[str, str]:
    """A certificate for APP_HOST, valid for a day (the browser is told to accept it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, APP_HOST)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(APP_HOST)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def partner_page(frame_src: str, app_origin: str) -> str:
    """What an organization pastes on its site: the iframe and the listener from the editor's snippet."""
    return f"""<!doctype html><html><head><title>Partner</title></head><body>
<h1>Our campaign</h1>
<iframe src="{frame_src}" id="actionkit-frame" title="Act" width="360" height="150" style="border:0"></iframe>
<script>
window.addEventListener("message", function (e) {{
  if (e.origin !== "{app_origin}" || !e.data || e.data.type !== "actionkit:height") return;
  document.getElementById("actionkit-frame").height = e.data.height;
}});
</script></body></html>"""


@pytest.fixture(scope="module")
def live(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_chromium()
    root = tmp_path_factory.mktemp("e2e-embed")
    database = root / "actionkit.sqlite"
    shutil.copyfile(migrated_database, database)
    server = None
    app = create_app(_config(f"sqlite:///{database}", root / "instance", WTF_CSRF_ENABLED=True,
                             PUBLIC_RATE_LIMIT="100/minute"))
    with fake_geocoding(app):
        with app.app_context():
            build_directory()
            campaign, _created = campaigns.create_demo_campaign()
            campaign.embed_origins = [PARTNER]
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=self_signed(root))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        origin = f"https://{APP_HOST}:{server.server_port}"
        app.config["PUBLIC_URL"] = origin
        try:
            with RecordingWorker(app):
                yield app, origin, server.server_port
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def browser_context(live: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _app, origin, port = live
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--host-resolver-rules=MAP {APP_HOST} 127.0.0.1", "--ignore-certificate-errors",
            # act.example.org resolves to loopback here: let a public page frame it as if it were public
            "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
            "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults"])
        context = browser.new_context(viewport={"width": 800, "height": 900}, ignore_https_errors=True)
        context.route(f"{PARTNER}/**", lambda route: route.fulfill(
            content_type="text/html", body=partner_page(f"{origin}/act/{SLUG}/embed?source=partner", origin)))
        context.route(f"{STRANGER}/**", lambda route: route.fulfill(
            content_type="text/html", body=partner_page(f"{origin}/act/{SLUG}/embed", origin)))
        try:
            yield context
        finally:
            context.close()
            browser.close()


def _frame(page: Any) -> Any:
    page.wait_for_selector("#actionkit-frame")
    return page.frame_locator("#actionkit-frame")


def test_embed_on_an_allowed_site_grows_and_signs(live: Any, browser_context: Any) -> None:
    app = live[0]
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
    frame.locator("#letters-title").wait_for(timeout=20_000)  # the receipt, still inside the frame
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
