"""What both browser tests need: Chromium, the app served on loopback, and the fake Census geocoder."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from actionkit.extensions import db
from actionkit.officials import geocoders
from actionkit.officials.fake_geocoder import FakeCensusGeocoder
from tests.conftest import ON_CI
from tests.officials.conftest import CENSUS_FIXTURES, geocoder_settings

CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if ON_CI:
            pytest.fail(f"{CHROMIUM} is required on CI (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get update && apt-get install -y chromium)")


@contextmanager
def fake_geocoding(app: Flask) -> Iterator[FakeCensusGeocoder]:
    """Point the app's geocoder at a fake Census server for the duration."""
    geocoders.reset_breakers()
    with FakeCensusGeocoder([CENSUS_FIXTURES], delay=1.0) as fake:
        settings = {**app.config["GEOCODER"], **geocoder_settings(fake.url, retries=0)}
        app.config["GEOCODER"] = settings
        app.extensions["actionkit.geocoder"] = geocoders.from_config(settings)
        try:
            yield fake
        finally:
            geocoders.reset_breakers()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve the app with werkzeug in a thread on 127.0.0.1 (random port); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


class RecordingWorker:
    """Stands in for the Celery worker's letters.process_submission in a thread of the test process: it records
    every signature the app received, a tenth of a second apart, so a browser sees the thank-you page go from
    "being prepared" to the recorded letters. Deliveries it queues go to the (unconsumed) broker, so their
    statuses stay put for the assertions. pause() holds signatures as received, for a look at that page."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.running = threading.Event()
        self.running.set()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from tests.letters.conftest import process_received

        while not self.stopped.wait(0.1):
            if self.running.is_set():
                with self.app.app_context():
                    process_received()
                    db.session.remove()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def __enter__(self) -> "RecordingWorker":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
