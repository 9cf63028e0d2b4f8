"""City police chiefs in the supporter's journey: inside a city its chief gets a letter; outside every city the
supporter is told the sheriff is their local law enforcement (en/es); the journey never fails."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from actionkit.extensions import db
from actionkit.letters.models import Letter
from actionkit.officials.importers import ImportContext, police_chiefs
from actionkit.officials.models import OfficeType
from tests.factories import make_campaign
from tests.letters.conftest import JACKSON, Journey
from tests.officials.conftest import CENSUS_FIXTURES

RURAL = {"street": "100 County Line Rd", "city": "Jackson", "zip": "39201"}  # constructed: in no incorporated place


@pytest.fixture
def chiefs(app, directory, geocoded, tmp_path):  # type: ignore[no-untyped-def]
    csv_path = tmp_path / "police-chiefs.csv"
    csv_path.write_text("place_geoid,place,chief_name,email\n2836000,Jackson,Pat Example,police@example.org\n")
    police_chiefs.load(csv_path, "ms", ImportContext())
    body = json.loads((CENSUS_FIXTURES / "ms_400_high_st_jackson.json").read_text())
    body["result"]["input"]["address"] = {"street": RURAL["street"], "city": "Jackson", "state": "MS",
                                          "zip": RURAL["zip"]}
    body["result"]["addressMatches"][0]["matchedAddress"] = "100 COUNTY LINE RD, JACKSON, MS, 39201"
    body["result"]["addressMatches"][0]["geographies"]["Incorporated Places"] = []
    rural = tmp_path / "rural.json"
    rural.write_text(json.dumps(body))
    geocoded.load(Path(rural))
    campaign = make_campaign(slug="police", target_types=[OfficeType.SHERIFF, OfficeType.POLICE_CHIEF])
    db.session.commit()
    return campaign


def test_inside_jackson_the_police_chief_gets_a_letter(client, geocoded, chiefs, queued):  # type: ignore[no-untyped-def]
    journey = Journey(client, chiefs, fake=geocoded)
    page = journey.find(JACKSON)
    html = page.get_data(as_text=True)
    assert "Chief of Police of Jackson" in html and "Dear Chief Example," in html
    journey.sign(page)
    assert {lt.office_type for lt in db.session.scalars(db.select(Letter))} == {"sheriff", "police_chief"}


@pytest.mark.parametrize("lang, told", [
    ("en", "Your address is outside any city or town, so you have no city police: your sheriff is your local "
           "law enforcement."),
    ("es", "Su dirección está fuera de cualquier ciudad o pueblo, así que no tiene policía municipal: su sheriff "
           "es la autoridad policial local."),
])
def test_outside_every_city_the_sheriff_is_local_law_enforcement(client, geocoded, chiefs, queued, lang,
                                                                  told):  # type: ignore[no-untyped-def]
    journey = Journey(client, chiefs, lang=lang, fake=geocoded)
    page = journey.find(RURAL)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and told in html
    assert "Chief of Police" not in html and "Jefe(a) de Policía" not in html
    journey.sign(page)
    assert [lt.office_type for lt in db.session.scalars(db.select(Letter))] == ["sheriff"]
