"""Error pages: the database unreachable gives supporters a 503 page in their language that keeps what they
typed; an unexpected error a 500 page; staff get plain pages; logs carry no values."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from tests.conftest import _config, free_port

SLUG = "end-ice-detainers-ms"
SECRET = "gro.elpmaxe@aicrag.ana"[::-1]  # a value known only at run time (source lines may be logged)


@pytest.fixture
def database_down(tmp_path: Path) -> Flask:
    """The app on a PostgreSQL address where nothing listens (a stopped server refuses connections)."""
    return create_app(_config(f"postgresql://postgres@127.0.0.1:{free_port()}/actionkit", tmp_path / "instance"))


def test_database_down_gives_a_503_page_in_the_supporters_language_within_a_second(database_down):
    client = database_down.test_client()
    started = time.monotonic()
    resp = client.get(f"/act/{SLUG}", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert time.monotonic() - started < 1.0
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "60"
    html = resp.get_data(as_text=True)
    assert '<html lang="es">' in html and "Tenemos un problema técnico" in html and "No se envió nada" in html
    assert f'href="/act/{SLUG}?lang=en"' in html  # the language switch
    assert "Internal Server Error" not in html and resp.headers["Cache-Control"] == "no-store"


def test_a_form_sent_while_the_database_is_down_is_kept_on_the_page(database_down, caplog):
    client = database_down.test_client()
    caplog.set_level(logging.INFO)
    form = {"first_name": "Ana", "last_name": "García", "email": "ana.garcia@example.org", "street": "400 High St",
            "city": "Jackson", "zip": "39201", "state": "MS", "lang": "en", "csrf_token": "t0ken"}
    resp = client.post(f"/act/{SLUG}", data=form, headers={"Origin": "http://localhost"})
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert "We are having a technical problem" in html and "Nothing was sent" in html
    retry = re.search(r'<form method="post" action="/act/end-ice-detainers-ms" id="retry-form".*?</form>', html, re.S)
    assert retry, html
    kept = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', retry.group(0)))
    assert kept["email"] == "ana.garcia@example.org" and kept["last_name"] == "García"
    assert kept["csrf_token"] == "t0ken"  # re-posted as it came, so "Try again" passes the CSRF check
    assert 'form="retry-form" name="set_lang" value="es"' in html

    switched = client.post(f"/act/{SLUG}", data={**form, "set_lang": "es"}, headers={"Origin": "http://localhost"})
    spanish = switched.get_data(as_text=True)
    assert switched.status_code == 503 and "Tenemos un problema técnico" in spanish
    assert 'value="ana.garcia@example.org"' in spanish and 'name="set_lang" value="es"' not in spanish.split(
        'id="retry-form"')[1]
    assert "ana.garcia" not in caplog.text and "400 High" not in caplog.text


def test_staff_pages_get_a_plain_503(database_down):
    resp = database_down.test_client().post("/staff/login", data={"email": "admin@example.org",
                                                                   "password": "correct horse battery"})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "60"
    assert "The database cannot be reached right now" in resp.get_data(as_text=True)


@pytest.fixture
def failing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An unexpected bug behind the campaign page, with Flask's error handling as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def bug(slug: str):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"a bug that mentions {SECRET}")

    monkeypatch.setattr(campaigns, "by_slug", bug)
    return app


def test_an_unexpected_error_gives_a_500_page_and_logs_no_values(failing, caplog):
    caplog.set_level(logging.INFO)
    resp = failing.test_client().get(f"/act/{SLUG}?lang=es")
    assert resp.status_code == 500
    html = resp.get_data(as_text=True)
    assert "Algo salió mal de nuestro lado" in html and "Internal Server Error" not in html
    assert "RuntimeError" in caplog.text and "letters.campaign" in caplog.text
    assert SECRET not in caplog.text


def test_staff_pages_get_a_plain_500(failing, monkeypatch):
    from actionkit.staff import views

    monkeypatch.setattr(views, "render_template", lambda *a, **k: 1 / 0)
    resp = failing.test_client().get("/staff/login")
    assert resp.status_code == 500 and "An unexpected error stopped this page" in resp.get_data(as_text=True)
