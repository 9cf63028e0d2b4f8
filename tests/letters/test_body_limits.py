"""Request body limits and no echo of oversized values: an oversized POST is refused with a short 413 page
before it is read, and no field longer than its limit comes back in an error page."""
from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actionkit.campaigns.models import Campaign, Personalisation
from actionkit.extensions import db
from tests.letters.conftest import JACKSON, Journey, hidden

MARK = "ZQXJ"  # a marker that appears nowhere else in the pages


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes produced on demand, counting what the server reads of it."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"a" * n
        self.read_bytes += n
        return n


def test_a_200_mb_post_is_refused_unread_with_a_short_page(app: Flask, client: FlaskClient,
                                                          campaign: Campaign) -> None:
    body = CountingStream(200 * 1024 * 1024)
    resp = client.post(f"/act/{campaign.slug}", content_type="application/x-www-form-urlencoded",
                       headers={"Origin": "http://localhost"},
                       environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(body.size)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "Too much was sent" in page
    assert body.read_bytes == 0  # refused on its Content-Length: nothing was parsed
    assert 'id="lang-es"' in page  # the supporter pages' language switch is still there
    assert len(page) < 10_000


@pytest.mark.parametrize("field", ["first_name", "zip", "phone", "email", "website"])
def test_an_oversized_public_post_gets_413_and_nothing_of_it_back(app: Flask, client: FlaskClient,
                                                                  campaign: Campaign, field: str) -> None:
    data = {"first_name": "Ana", "last_name": "García", "street": "400 High St", "city": "Jackson", "zip": "39201",
            "email": "ana@example.org", "state": "MS", field: MARK * (app.config["PUBLIC_MAX_REQUEST_BYTES"] // 4)}
    resp = client.post(f"/act/{campaign.slug}", data=data, headers={"Origin": "http://localhost"})
    assert resp.status_code == 413 and MARK not in resp.get_data(as_text=True)


def test_a_multipart_field_over_the_public_field_limit_is_refused(app: Flask, client: FlaskClient,
                                                                  campaign: Campaign) -> None:
    big = MARK * (app.config["PUBLIC_MAX_FIELD_BYTES"] // 4 + 1)
    resp = client.post(f"/act/{campaign.slug}", data={"first_name": big}, content_type="multipart/form-data",
                       headers={"Origin": "http://localhost"})
    assert resp.status_code == 413, resp.get_data(as_text=True)[-3000:]
    assert MARK not in resp.get_data(as_text=True)


@pytest.mark.parametrize("field, limit", [("first_name", 100), ("street", 120), ("city", 80), ("zip", 1000),
                                          ("phone", 1000), ("website", 1000), ("email", 254)])
def test_a_field_over_its_limit_is_never_echoed_in_full(app: Flask, journey: Journey, field: str,
                                                        limit: int) -> None:
    """A 10 MB field used to come back whole in the error page; now at most its limit comes back."""
    value = MARK + "x" * 60_000
    resp = journey.find(JACKSON, **{field: value})
    page = resp.get_data(as_text=True)
    assert resp.status_code in (400, 422)
    assert "x" * (limit + 1) not in page and len(page) < 40_000
    if field not in ("website",):  # the honeypot field is refused without showing the form again
        assert "too long" in page.lower() or "Enter" in page


def test_a_set_lang_switch_does_not_echo_an_oversized_value(app: Flask, journey: Journey) -> None:
    resp = journey.find(JACKSON, city="x" * 50_000, set_lang="es")
    assert "x" * 81 not in resp.get_data(as_text=True)


def test_an_edited_letter_over_its_limit_is_shown_cut_to_the_limit(app: Flask, journey: Journey,
                                                                   campaign: Campaign) -> None:
    campaign.personalisation = Personalisation.EDITABLE
    db.session.commit()
    page = journey.find()
    html = page.get_data(as_text=True)
    office = re.findall(r'name="include" value="(\d+)"', html)[0]
    resp = journey.post("sign", page, include=[office], **{f"body-{office}": "y" * 30_000})
    out = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "This letter is too long." in out
    assert "y" * 10_000 in out and "y" * 10_001 not in out
    assert hidden(out, "state")


def test_staff_pages_and_the_csv_upload_have_larger_limits(app: Flask) -> None:
    from tests.staff.helpers import login_as
    from actionkit.staff.models import Role

    client = app.test_client()
    login_as(client, Role.EDITOR)
    editor = client.post("/staff/campaigns/new", data={"title-en": "x" * 300_000})
    assert editor.status_code != 413  # the campaign editor takes long templates
    over = client.post("/staff/campaigns/new", data={"title-en": "x" * (app.config["STAFF_MAX_REQUEST_BYTES"] + 1)})
    assert over.status_code == 413 and "Too much was sent" in over.get_data(as_text=True)
    upload = client.post("/staff/officials/import", content_type="multipart/form-data",
                         data={"state": "ms", "file": (io.BytesIO(b"county,sheriff_name\n" + b"x" * 2_000_000),
                                                       "sheriffs.csv")})
    assert upload.status_code == 422  # read, then refused by the importer with its own message, not a 413
    huge = client.post("/staff/officials/import", content_type="multipart/form-data",
                       data={"state": "ms", "file": (io.BytesIO(b"x" * 3_000_000), "sheriffs.csv")})
    assert huge.status_code == 413


def test_the_413_page_speaks_the_supporters_language(app: Flask, client: FlaskClient, campaign: Campaign) -> None:
    body = CountingStream(10 * 1024 * 1024)
    resp = client.post(f"/act/{campaign.slug}?lang=es", content_type="application/x-www-form-urlencoded",
                       environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(body.size)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "Se envió demasiado" in page and 'id="lang-en"' in page
