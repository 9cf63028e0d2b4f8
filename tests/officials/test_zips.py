"""The ZIP importer on the real crosswalks: ZCTA -> CD (split ZIPs keep every district) and ZIP -> county."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials import importers
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, counties, zips
from actionkit.officials.models import Division, DivisionType, ZipDivision
from actionkit.officials.services import SourceError


def linked(zip_code: str) -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Division.type, Division.name).join(ZipDivision)
                              .where(ZipDivision.zip == zip_code).order_by(Division.type, Division.name)).all()
    return [(t.value, n) for t, n in rows]


def test_discover_prefers_the_state_subset(shared_data):
    found = [p.name for m, p in importers.discover(shared_data / "zip-crosswalk")]
    assert found == ["zccd_119th_MS.csv", "zipcodes-pypi-1.2.0_MS_zips.json"]
    assert all(m is zips for m, _ in importers.discover(shared_data / "zip-crosswalk"))


def test_both_crosswalks_load_and_rerun_unchanged(app, shared_data):
    folder = shared_data / "zip-crosswalk"
    cd = zips.load(folder / "zccd_119th_MS.csv", "ms", ImportContext())
    county = zips.load(folder / "zipcodes-pypi-1.2.0_MS_zips.json", "ms", ImportContext())
    assert cd.created == 497 and county.created > 500
    assert linked("39201") == [("cd", "Mississippi Congressional District 2"),
                               ("cd", "Mississippi Congressional District 3"), ("county", "Hinds County")]
    assert [n for t, n in linked("39401") if t == "cd"] == ["Mississippi Congressional District 3",
                                                            "Mississippi Congressional District 4"]
    again = zips.load(folder / "zccd_119th_MS.csv", "ms", ImportContext())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 497)


def test_desoto_spellings_name_one_county(app, shared_data):
    zips.load(shared_data / "zip-crosswalk" / "zipcodes-pypi-1.2.0_MS_zips.json", "ms", ImportContext())
    desoto = db.session.scalars(sa.select(Division).where(Division.type == DivisionType.COUNTY,
                                                          sa.func.lower(Division.name) == "desoto county")).all()
    assert len(desoto) == 1 and desoto[0].ocd_id.endswith("/county:desoto")
    data = json.loads((shared_data / "zip-crosswalk" / "zipcodes-pypi-1.2.0_MS_zips.json").read_text())
    spellings = {z["county"] for z in data if z["county"].lower() == "desoto county"}
    assert spellings == {"DeSoto County", "Desoto County"}
    count = db.session.scalar(sa.select(sa.func.count(ZipDivision.id)).where(ZipDivision.division_id == desoto[0].id))
    assert count == sum(1 for z in data if z["county"].lower() == "desoto county" and z["active"])


def test_links_attach_to_counties_from_the_county_list(app, shared_data):
    counties.load(shared_data / "counties" / "ms_counties_fips_seats.csv", "ms", ImportContext())
    zips.load(shared_data / "zip-crosswalk" / "zipcodes-pypi-1.2.0_MS_zips.json", "ms", ImportContext())
    assert db.session.scalar(sa.select(sa.func.count(Division.id)).where(Division.type == DivisionType.COUNTY)) == 82
    hinds = db.session.scalar(sa.select(Division).join(ZipDivision).where(ZipDivision.zip == "39201",
                                                                          Division.type == DivisionType.COUNTY))
    assert hinds.geoid == "28049"


def test_national_file_alone_is_filtered_to_the_state(app, shared_data):
    report = zips.load(shared_data / "zip-crosswalk" / "zccd_119th_national.csv", "ms", ImportContext())
    assert report.created == 497
    assert not db.session.scalar(sa.select(sa.func.count(Division.id)).where(Division.state != "ms"))


def test_links_a_newer_file_drops_are_removed(app, tmp_path):
    path = tmp_path / "zccd.csv"
    path.write_text("state_fips,state_abbr,zcta,cd\n28,MS,39201,2\n28,MS,39201,3\n01,AL,35004,3\n")
    zips.load(path, "ms", ImportContext())
    path.write_text("state_fips,state_abbr,zcta,cd\n28,MS,39201,2\n")
    report = zips.load(path, "ms", ImportContext())
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert any("39201" in c and "District 3" in c for c in report.changes)
    assert linked("39201") == [("cd", "Mississippi Congressional District 2")]


@pytest.mark.parametrize("content, line", [
    ("state_fips,state_abbr,zcta,cd\n28,MS,3920,2\n", 2),
    ("state_fips,state_abbr,zcta,cd\n28,MS,39201,2\n28,MS,39202,x\n", 3),
    ("state_fips,state_abbr,zcta,cd\n28,MS,39201\n", 2),
    ("state,abbr,zip,district\n28,MS,39201,2\n", 1),
])
def test_malformed_rows_name_file_and_line(tmp_path, content, line):
    path = tmp_path / "zccd.csv"
    path.write_text(content)
    with pytest.raises(SourceError, match=f"zccd.csv:{line}:"):
        zips.parse_zccd(path, "ms")


def test_a_malformed_file_stores_nothing(app, tmp_path):
    path = tmp_path / "zccd_bad.csv"
    path.write_text("state_fips,state_abbr,zcta,cd\n28,MS,39201,2\n28,MS,39202,x\n")
    reports, errors = run_sync(path, "ms")
    assert not reports and "zccd_bad.csv:3" in errors[0]
    assert db.session.scalar(sa.select(sa.func.count(ZipDivision.id))) == 0


def test_sniff_tells_the_formats_apart(shared_data):
    def head(p: Path) -> str:
        return p.read_text()[:4096]

    zccd = shared_data / "zip-crosswalk" / "zccd_119th_MS.csv"
    pypi = shared_data / "zip-crosswalk" / "zipcodes-pypi-1.2.0_MS_zips.json"
    seats = shared_data / "counties" / "ms_counties_fips_seats.csv"
    assert zips.kind_of(zccd, head(zccd)) == "zccd" and zips.kind_of(pypi, head(pypi)) == "zipcodes"
    assert not zips.sniff(seats, head(seats)) and not counties.sniff(zccd, head(zccd))
    assert importers.detect(zccd) is zips and importers.detect(pypi) is zips
