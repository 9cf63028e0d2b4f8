"""Officials' responses recorded by staff on the office's page: validated, audited, history kept."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials import responses
from actionkit.officials.models import OfficialResponse, Position
from actionkit.staff.models import AuditEntry, Role
from tests.factories import make_office
from tests.staff.helpers import login_as


def _post(client, office_id: int, **data: str):  # type: ignore[no-untyped-def]
    form = {"position": "supports", "responded_on": "2026-11-20", "note": "Will end the agreement in January.",
            "source_label": "Letter to the campaign", "source_url": "https://example.org/letter.pdf"}
    form.update(data)
    return client.post(f"/staff/officials/{office_id}/response", data=form)


def test_staff_record_a_response_and_changes_are_audited(app, client):  # type: ignore[no-untyped-def]
    office = make_office(county="Hinds")
    db.session.commit()
    login_as(client, Role.EDITOR)
    assert _post(client, office.id).status_code == 302
    assert _post(client, office.id).status_code == 302  # the same again: nothing recorded
    assert _post(client, office.id, position="undecided", responded_on="2026-11-25").status_code == 302
    rows = list(db.session.scalars(sa.select(OfficialResponse).order_by(OfficialResponse.id)))
    assert [r.position for r in rows] == [Position.SUPPORTS, Position.UNDECIDED]
    assert rows[0].official_id == office.holder.id
    assert responses.current(office.id).position is Position.UNDECIDED
    audits = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "official.response")))
    assert [a.details["position"] for a in audits] == ["supports", "undecided"]
    page = client.get(f"/staff/officials/{office.id}").get_data(as_text=True)
    assert 'id="response-history"' in page and "2026-11-25" in page and "2026-11-20" in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "example.org/no-scheme",
                                 "https://", "data:text/html,hi"])
def test_source_url_must_be_http(app, client, url):  # type: ignore[no-untyped-def]
    office = make_office(county="Hinds")
    db.session.commit()
    login_as(client, Role.EDITOR)
    resp = _post(client, office.id, source_url=url, note="Kept note")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "http:// or https://" in body and "Kept note" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OfficialResponse)) == 0


def test_future_dates_and_viewers_are_refused(app, client):  # type: ignore[no-untyped-def]
    office = make_office(county="Hinds")
    db.session.commit()
    with pytest.raises(responses.ResponseError, match="future"):
        responses.record(office, Position.OPPOSES, dt.date.today() + dt.timedelta(days=3))
    login_as(client, Role.VIEWER)
    assert _post(client, office.id).status_code == 403
