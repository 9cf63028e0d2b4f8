"""Production start-up (settings from the environment with a database URL) refuses settings only safe locally."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from actionkit import config

STRONG = {
    "ACTIONKIT_DATABASE_URL": "postgresql://actionkit@db/actionkit",
    "ACTIONKIT_SECRET_KEY": secrets.token_urlsafe(32),
    "ACTIONKIT_HMAC_KEY": secrets.token_urlsafe(32),
    "ACTIONKIT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ACTIONKIT_PUBLIC_URL": "https://act.example.org",
    "ACTIONKIT_MAIL__from_address": "letters@example.org",
    "ACTIONKIT_CELERY__broker_url": "redis://127.0.0.1:6379/0",
}


def _load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **overrides: str) -> Flask:
    for name in [n for n in os.environ if n.startswith("ACTIONKIT_")]:
        monkeypatch.delenv(name)
    for name, value in {**STRONG, **overrides}.items():
        monkeypatch.setenv(name, value)
    app = Flask("probe", instance_path=str(tmp_path / "instance"))
    config.load(app)
    return app


def test_strong_production_settings_start(monkeypatch, tmp_path):
    app = _load(monkeypatch, tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["EMBEDDED"] is False
    assert not (tmp_path / "instance").exists()  # no secrets written to disk in production


@pytest.mark.parametrize("name, value, message", [
    ("ACTIONKIT_SECRET_KEY", "x", "ACTIONKIT_SECRET_KEY is shorter than 32 characters"),
    ("ACTIONKIT_HMAC_KEY", "k", "ACTIONKIT_HMAC_KEY is shorter than 32 characters"),
    ("ACTIONKIT_PUBLIC_URL", "http://act.example.org", "ACTIONKIT_PUBLIC_URL must start with https://"),
    ("ACTIONKIT_WTF_CSRF_ENABLED", "false", "ACTIONKIT_WTF_CSRF_ENABLED=false"),
    ("ACTIONKIT_EMBEDDED", "true", "ACTIONKIT_EMBEDDED=true"),
    ("ACTIONKIT_DEBUG", "true", "ACTIONKIT_DEBUG=true"),
    ("ACTIONKIT_SESSION_COOKIE_SECURE", "false", "ACTIONKIT_SESSION_COOKIE_SECURE=false"),
])
def test_weak_production_settings_are_refused(monkeypatch, tmp_path, name, value, message):
    with pytest.raises(config.ConfigError, match="Refusing to start in production") as info:
        _load(monkeypatch, tmp_path, **{name: value})
    assert message in str(info.value)
    assert not (tmp_path / "instance").exists()


def test_embedded_on_a_database_writes_no_secret_before_it_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("ACTIONKIT_SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="ACTIONKIT_EMBEDDED=true"):
        _load(monkeypatch, tmp_path, ACTIONKIT_EMBEDDED="true", ACTIONKIT_SECRET_KEY="")
    assert not (tmp_path / "instance").exists()


def test_every_weak_setting_is_named_at_once(monkeypatch, tmp_path):
    with pytest.raises(config.ConfigError) as info:
        _load(monkeypatch, tmp_path, ACTIONKIT_SECRET_KEY="x", ACTIONKIT_DEBUG="true", ACTIONKIT_EMBEDDED="true")
    assert str(info.value).count("\n  - ") == 3


def test_plain_http_is_an_explicit_choice_for_a_local_trial(monkeypatch, tmp_path):
    app = _load(monkeypatch, tmp_path, ACTIONKIT_PUBLIC_URL="http://127.0.0.1:8000",
                ACTIONKIT_ALLOW_PLAIN_HTTP="true")
    assert app.config["SESSION_COOKIE_SECURE"] is False  # else the first form post says the session expired
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:8000"


def test_rate_limit_store_falls_back_in_memory_by_default(monkeypatch, tmp_path):
    app = _load(monkeypatch, tmp_path)
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert app.config["RATELIMIT_SWALLOW_ERRORS"] is True
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["socket_connect_timeout"] <= 1


def test_worker_recycles_its_pool_processes(monkeypatch, tmp_path):
    app = _load(monkeypatch, tmp_path)
    assert app.config["CELERY"]["worker_max_tasks_per_child"] > 0
    assert 100_000 < app.config["CELERY"]["worker_max_memory_per_child"] < 1_000_000  # KiB


def test_hsts_is_sent_in_production_but_not_on_a_plain_http_trial(monkeypatch, tmp_path):
    from actionkit import create_app
    from tests.conftest import free_port

    for plain in ("false", "true"):
        _load(monkeypatch, tmp_path, ACTIONKIT_ALLOW_PLAIN_HTTP=plain,
              ACTIONKIT_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/actionkit",
              ACTIONKIT_PUBLIC_URL="https://act.example.org" if plain == "false" else "http://127.0.0.1:8000")
        resp = create_app().test_client().get("/healthz")
        assert ("Strict-Transport-Security" in resp.headers) is (plain == "false")
