"""Counties importer: every county gets a division and a sheriff seat; malformed files change nothing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, counties, detect
from actionkit.officials.models import Division, DivisionType, Office, OfficeType, Official
from actionkit.officials.services import (
    HolderRecord, OfficeRecord, SourceError, SyncReport, apply_office, find_divisions,
)

FIXTURES = Path(__file__).resolve().parent.parent / "data"
CENSUS_FIXTURE = FIXTURES / "census-codes-constructed" / "st28_ms_cou2020.txt"  # constructed, see its README
AS_OF = dt.date(2026, 1, 1)


def county_csv(shared_data: Path) -> Path:
    return shared_data / "counties" / "ms_counties_fips_seats.csv"


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table in the database (reflected, not the models), to prove a failed load changed nothing."""
    tables = sa.MetaData()
    tables.reflect(bind=db.session.connection())
    return {t.name: [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables.sorted_tables}


def sheriff_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Office).where(Office.type == OfficeType.SHERIFF))


def test_real_county_csv_gives_82_sheriff_seats(app, shared_data):
    path = county_csv(shared_data)
    assert detect(path) is counties
    report = counties.load(path, "ms", ImportContext(as_of=AS_OF))

    assert (report.created, report.updated, report.unchanged, report.problems) == (82, 0, 0, [])
    assert sheriff_count() == 82
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Division)
                             .where(Division.type == DivisionType.COUNTY)) == 82
    state = db.session.scalar(sa.select(Division).where(Division.type == DivisionType.STATE))
    assert (state.ocd_id, state.geoid) == ("ocd-division/country:us/state:ms", "28")

    [hinds] = find_divisions("28049")
    assert (hinds.ocd_id, hinds.name) == ("ocd-division/country:us/state:ms/county:hinds", "Hinds County")
    [office] = hinds.offices
    assert (office.title, office.seat, office.holder, office.as_of) == ("Sheriff of Hinds County", "", None, AS_OF)
    assert (office.email, office.phone, office.postal_address) == (None, None, None)
    assert find_divisions("Jefferson Davis")[0].geoid == "28065"

    again = counties.load(path, "ms", ImportContext(as_of=AS_OF))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 82)
    assert sheriff_count() == 82


def test_census_codes_file_gives_the_same_divisions_as_our_csv(app, shared_data):
    assert detect(CENSUS_FIXTURE) is counties
    report = counties.load(CENSUS_FIXTURE, "ms", ImportContext(as_of=AS_OF))
    assert report.created == 5
    assert {d.name for d in db.session.scalars(sa.select(Division).where(Division.type == DivisionType.COUNTY))} == {
        "Adams County", "DeSoto County", "Harrison County", "Hinds County", "Jefferson Davis County"}

    stored = set(db.session.scalars(sa.select(Division.ocd_id).where(Division.type == DivisionType.COUNTY)))
    from_csv = {counties.sheriff_record("ms", c).division.ocd_id for c in counties.parse(county_csv(shared_data), "ms")}
    assert len(from_csv) == 82 and stored <= from_csv


def test_rows_of_other_states_are_skipped(app, tmp_path):
    path = tmp_path / "national_county2020.txt"
    path.write_text("STATE|STATEFP|COUNTYFP|COUNTYNS|COUNTYNAME|CLASSFP|FUNCSTAT\r\n"
                    "AL|01|001|00000001|Autauga County|H1|A\r\n"
                    "MS|28|049|00000049|Hinds County|H1|A\r\n\r\n")
    report = counties.load(path, "ms", ImportContext(as_of=AS_OF))
    assert report.created == 1
    assert [d.geoid for d in db.session.scalars(sa.select(Division).order_by(Division.geoid))] == ["28", "28049"]


def test_loading_counties_keeps_a_sheriff_set_by_the_sheriffs_csv(app):
    counties.load(CENSUS_FIXTURE, "ms", ImportContext(as_of=AS_OF))
    [hinds] = find_divisions("Hinds")
    office = hinds.offices[0]
    rec = counties.sheriff_record("ms", counties.County("28049", "Hinds", 0))
    rec.holder = HolderRecord(person_key="sheriff:28049:pat-example", name="Pat Example")
    rec.contact = {"email": "sheriff@example.org"}
    apply_office(rec, "sheriffs", AS_OF, SyncReport("sheriffs"))

    report = counties.load(CENSUS_FIXTURE, "ms", ImportContext(as_of=AS_OF))
    assert (report.unchanged, report.vacated) == (5, 0)
    assert office.holder.name == "Pat Example"
    assert office.email == "sheriff@example.org"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Official)) == 1


def write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_ROWS = "28,001,Adams\n28,003,Alcorn\n"


@pytest.mark.parametrize("text, message, line", [
    ("state_fips,county_fips,name\n" + GOOD_ROWS, "missing column(s) county_name", None),
    ("state_fips,county_fips,county_name\n" + GOOD_ROWS + "28,0x5,Amite\n", "county FIPS '0x5'", 4),
    ("state_fips,county_fips,county_name\n" + GOOD_ROWS + "28,005,\n", "empty county name", 4),
    ("state_fips,county_fips,county_name\n" + GOOD_ROWS + "28,001,Adams\n", "listed twice (first on line 2)", 4),
])
def test_malformed_county_csv_raises_and_changes_nothing(app, tmp_path, text, message, line):
    path = write(tmp_path, "counties.csv", text)
    with pytest.raises(SourceError) as err:
        counties.load(path, "ms", ImportContext(as_of=AS_OF))
    assert message in str(err.value)
    assert (err.value.path, err.value.line) == (str(path), line)
    assert str(err.value).startswith(f"{path}:{line}: " if line else f"{path}: ")
    db.session.rollback()

    before = db_snapshot()
    reports, errors = run_sync(path.parent, "ms")
    assert reports == [] and len(errors) == 1 and str(path) in errors[0] and message in errors[0]
    assert db_snapshot() == before


def test_census_file_missing_a_column_names_it(app, tmp_path):
    path = write(tmp_path, "st28_ms_cou2020.txt", "STATE|STATEFP|COUNTYFP|COUNTYNS|CLASSFP\nMS|28|001|1|H1\n")
    with pytest.raises(SourceError, match=r"st28_ms_cou2020\.txt: missing column\(s\) COUNTYNAME"):
        counties.parse(path, "ms")


def test_sheriff_record_title_and_division():
    rec = counties.sheriff_record("ms", counties.County("28033", "DeSoto County", 2))
    assert isinstance(rec, OfficeRecord)
    assert (rec.title, rec.division.ocd_id, rec.holder) == (
        "Sheriff of DeSoto County", "ocd-division/country:us/state:ms/county:desoto", None)
