"""Statewide executives in the supporter's journey: every address in the state matches them, the attorney
general's own 287(g) agreement is shown on the office, in English and Spanish."""
from __future__ import annotations

import datetime as dt

import pytest

from actionkit.extensions import db
from actionkit.letters.models import Letter
from actionkit.officials.models import Agreement287g, AgreementStatus, OfficeType
from tests.factories import make_campaign, make_office
from tests.letters.conftest import GULFPORT, JACKSON, Journey

TYPES = [OfficeType.SHERIFF, OfficeType.GOVERNOR, OfficeType.ATTORNEY_GENERAL]


@pytest.fixture
def statewide(app, directory):  # type: ignore[no-untyped-def]
    governor = make_office(OfficeType.GOVERNOR, holder="Tate Reeves", email="governor@example.org")
    ag = make_office(OfficeType.ATTORNEY_GENERAL, holder="Lynn Fitch", email=None, phone="601-359-3680")
    db.session.add(Agreement287g(office_id=ag.id, state="ms", agency="Mississippi Attorney General's Office",
                                 agency_type="State Agency", support_type="Task Force Model",
                                 status=AgreementStatus.PARTICIPATING, signed_on=dt.date(2025, 3, 17), source="test"))
    campaign = make_campaign(slug="statewide", target_types=TYPES)
    db.session.commit()
    return campaign, governor, ag


@pytest.mark.parametrize("address", [JACKSON, GULFPORT])
def test_every_address_in_the_state_writes_to_the_statewide_officials(client, geocoded, statewide, queued,
                                                                       address):  # type: ignore[no-untyped-def]
    campaign, governor, ag = statewide
    journey = Journey(client, campaign, fake=geocoded)
    page = journey.find(address)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "Tate Reeves" in html and "Governor of Mississippi" in html and "Dear Governor Reeves," in html
    assert "Lynn Fitch" in html and "Attorney General of Mississippi" in html and "Dear Attorney General Fitch," in html
    assert ("Mississippi Attorney General&#39;s Office: 287(g) Task Force Model agreement, signed March 17, 2025"
            in html)
    journey.sign(page)
    letters = db.session.scalars(db.select(Letter)).all()
    assert {lt.office_id for lt in letters} >= {governor.id, ag.id}
    assert {lt.office_type for lt in letters} == {t.value for t in TYPES}


def test_statewide_officials_in_spanish(client, geocoded, statewide, queued):  # type: ignore[no-untyped-def]
    campaign, _, _ = statewide
    journey = Journey(client, campaign, lang="es", fake=geocoded)
    html = journey.find(JACKSON).get_data(as_text=True)
    assert "Gobernador(a) de Mississippi" in html and "Fiscal General de Mississippi" in html
    assert ("Mississippi Attorney General&#39;s Office: acuerdo 287(g) de grupo de trabajo (Task Force Model), "
            "firmado el 17 de marzo de 2025") in html
