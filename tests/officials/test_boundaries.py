"""The boundaries importer on the real GeoJSON files, and the check that every constructed Mississippi geocoder
fixture agrees with those real polygons (county and CD) at its coordinates."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape

from actionkit.extensions import db
from actionkit.officials import importers
from actionkit.officials.importers import ImportContext, boundaries
from actionkit.officials.models import Boundary, Division, DivisionType
from actionkit.officials.services import DivisionRecord, SourceError, ensure_division
from tests.officials.conftest import CENSUS_FIXTURES


def polygons(shared_data: Path, name: str) -> dict[str, object]:
    data = json.loads((shared_data / "boundaries" / name).read_text())
    return {f["properties"]["GEOID"]: shape(f["geometry"]) for f in data["features"]}


def test_constructed_fixtures_agree_with_the_real_boundaries(shared_data):
    counties = polygons(shared_data, "ms_counties_us-atlas-2023_10m.geojson")
    cds = polygons(shared_data, "ms_cd119.geojson")
    checked = 0
    for path in sorted(CENSUS_FIXTURES.glob("ms_*.json")):
        for m in json.loads(path.read_text())["result"]["addressMatches"]:
            point = Point(m["coordinates"]["x"], m["coordinates"]["y"])
            geos = m["geographies"]
            county = geos["Counties"][0]["GEOID"]
            cd = geos["119th Congressional Districts"][0]["GEOID"]
            assert [g for g, p in counties.items() if p.contains(point)] == [county], path.name
            assert [g for g, p in cds.items() if p.contains(point)] == [cd], path.name
            checked += 1
    assert checked == 6


def load(path: Path, state: str = "ms"):  # type: ignore[no-untyped-def]
    return boundaries.load(path, state, ImportContext())


def test_discover_skips_national_topojson_and_bare_geometries(shared_data):
    found = [(m.KIND, p.name) for m, p in importers.discover(shared_data / "boundaries")]
    assert found == [("boundaries", "ms_cd119.geojson"), ("boundaries", "ms_counties_us-atlas-2023_10m.geojson"),
                     ("boundaries", "ms_state_us-atlas-2023_10m.geojson")]


def test_counties_cds_and_state_load_once_and_rerun_unchanged(app, shared_data):
    folder = shared_data / "boundaries"
    reports = [load(folder / n) for n in ("ms_counties_us-atlas-2023_10m.geojson", "ms_cd119.geojson",
                                          "ms_state_us-atlas-2023_10m.geojson")]
    assert [r.created for r in reports] == [82, 4, 1]
    assert any("Hinds County" in p and "repaired" in p for p in reports[0].problems)
    assert db.session.scalar(sa.select(sa.func.count(Boundary.id))) == 87
    hinds = db.session.scalar(sa.select(Division).where(Division.geoid == "28049", Division.type == DivisionType.COUNTY))
    assert hinds.ocd_id == "ocd-division/country:us/state:ms/county:hinds" and hinds.name == "Hinds County"
    cd2 = db.session.scalar(sa.select(Division).where(Division.ocd_id == "ocd-division/country:us/state:ms/cd:2"))
    assert cd2.geoid == "2802"
    again = load(folder / "ms_cd119.geojson")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_boundaries_attach_to_existing_divisions_by_geoid(app, shared_data):
    existing, _ = ensure_division(DivisionRecord.for_county("ms", "DeSoto County", "28033"), "counties", None)
    load(shared_data / "boundaries" / "ms_counties_us-atlas-2023_10m.geojson")
    assert db.session.scalar(sa.select(sa.func.count(Division.id)).where(Division.type == DivisionType.COUNTY)) == 82
    assert db.session.scalar(sa.select(Boundary).where(Boundary.division_id == existing.id)) is not None


def test_national_file_alone_is_filtered_to_the_state(app, shared_data):
    report = load(shared_data / "boundaries" / "cd119_national_cdsmap2_CD3.json")
    assert report.created == 4
    assert sorted(d.geoid for d in db.session.scalars(sa.select(Division).where(Division.type == DivisionType.CD))) \
        == ["2801", "2802", "2803", "2804"]


def test_changed_geometry_is_updated(app, shared_data, tmp_path):
    data = json.loads((shared_data / "boundaries" / "ms_cd119.geojson").read_text())
    path = tmp_path / "cd.geojson"
    path.write_text(json.dumps(data))
    load(path)
    data["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [[[-90, 34], [-89, 34], [-89, 35],
                                                                          [-90, 34]]]}
    path.write_text(json.dumps(data))
    report = load(path)
    assert (report.updated, report.unchanged) == (1, 3)


def test_other_states_file_reports_a_problem(app, shared_data):
    report = load(shared_data / "boundaries" / "ms_cd119.geojson", "al")
    assert report.created == 0 and report.problems


@pytest.mark.parametrize("content, message", [
    ('{"type": "FeatureCollection", "features": [', "not valid GeoJSON"),
    ('{"type": "FeatureCollection"}', "not a GeoJSON FeatureCollection"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"GEOID": "28049"}}]}',
     "no polygon geometry"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"GEOID": "28049"}, '
     '"geometry": {"type": "Polygon", "coordinates": [[[1, 2]]]}}]}', "bad coordinates"),
])
def test_malformed_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(SourceError, match=message):
        boundaries.parse(path, "ms")


def test_sniff(shared_data, tmp_path):
    folder = shared_data / "boundaries"
    head = (folder / "us-atlas-2023_counties-10m.topo.json").read_text()[:4096]
    assert not boundaries.sniff(folder / "us-atlas-2023_counties-10m.topo.json", head)
    head = (folder / "ms_state_unitedstates-districts.geojson").read_text()[:4096]
    assert not boundaries.sniff(folder / "ms_state_unitedstates-districts.geojson", head)
    head = (shared_data / "census-geocoder" / "fitnr_coordinates_0.json").read_text()[:4096]
    assert not boundaries.sniff(shared_data / "census-geocoder" / "fitnr_coordinates_0.json", head)
