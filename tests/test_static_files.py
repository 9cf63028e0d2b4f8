"""Static files: pages link content-hashed names that browsers cache for a year; a changed file gets a new name."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

CSS = Path(__file__).resolve().parents[1] / "actionkit" / "static" / "css" / "app.css"


def test_pages_link_hashed_names_cached_for_a_year(app: Flask, client: FlaskClient) -> None:
    page = client.get("/staff/login").get_data(as_text=True)
    digest = hashlib.sha256(CSS.read_bytes()).hexdigest()[:12]
    href = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1)  # type: ignore[union-attr]
    assert href == f"/static/css/app.{digest}.css"
    resp = client.get(href)
    assert resp.status_code == 200 and resp.data == CSS.read_bytes()
    assert resp.cache_control.max_age == 365 * 24 * 3600 and resp.cache_control.public
    assert resp.cache_control.immutable
    assert "text/css" in resp.content_type


def test_a_stale_or_plain_name_is_never_cached_for_long(client: FlaskClient) -> None:
    stale = client.get("/static/css/app.000000000000.css")
    assert stale.status_code == 404  # an old hash is not served as if it were current
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and not plain.cache_control.max_age
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_a_changed_file_gets_a_new_name(app: Flask, tmp_path: Path) -> None:
    from actionkit.static_files import _Digests

    (tmp_path / "a.css").write_text("a{}")
    digests = _Digests(str(tmp_path))
    first = digests("a.css")
    (tmp_path / "a.css").write_text("a{color:red}")
    assert digests("a.css") != first and digests("missing.css") is None
