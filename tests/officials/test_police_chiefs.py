"""Police chiefs CSV: places created from their Census GEOID, holders with history, all-or-nothing with every bad
row listed, blank cells never clearing, the upload preview, and matching an address inside Jackson."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actionkit.extensions import db
from actionkit.officials import matching
from actionkit.officials.importers import ImportContext, detect, ice287g, police_chiefs
from actionkit.officials.models import Agreement287g, Division, DivisionType, Office, OfficeType, Official
from actionkit.officials.services import SourceError

AS_OF = dt.date(2026, 9, 1)
HEADER = "place_geoid,place,chief_name,email,phone,address,verified_at\n"
JACKSON_OCD = "ocd-division/country:us/state:ms/place:jackson"


def write(tmp_path: Path, body: str, name: str = "police-chiefs.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def load(path: Path, as_of: dt.date = AS_OF):
    return police_chiefs.load(path, "ms", ImportContext(as_of=as_of))


def chief(geoid: str) -> Office:
    return db.session.scalar(db.select(Office).join(Division).where(
        Division.geoid == geoid, Division.type == DivisionType.PLACE, Office.type == OfficeType.POLICE_CHIEF))


def test_rows_create_places_and_their_chiefs(app, tmp_path):
    path = write(tmp_path, '2836000,Jackson city,Pat Example,police@example.org,601-555-0100,'
                           '"327 E Pascagoula St, Jackson, MS 39201",2026-08-30\n'
                           '29700,Gulfport,,,228-555-0100,,\n')
    assert detect(path) is police_chiefs
    report = load(path)
    assert (report.created, report.updated) == (2, 0)
    jackson = chief("2836000")
    assert jackson.title == "Chief of Police of Jackson" and jackson.division.ocd_id == JACKSON_OCD
    assert (jackson.holder.name, jackson.email, jackson.phone, jackson.as_of) == (
        "Pat Example", "police@example.org", "601-555-0100", dt.date(2026, 8, 30))
    gulfport = chief("2829700")  # the 5-digit place code takes the state's FIPS prefix
    assert gulfport.holder is None and gulfport.phone == "228-555-0100"  # an office "not on file"
    assert load(path).unchanged == 2


def test_new_chief_keeps_history_and_blank_cells_never_clear(app, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,police@example.org,601-555-0100,,\n"))
    report = load(write(tmp_path, "2836000,Jackson,Robin Sample,,,,\n", "second.csv"), dt.date(2026, 10, 1))
    assert report.changes == ["Chief of Police of Jackson: new holder Robin Sample (was Pat Example)"]
    office = chief("2836000")
    assert [(o.name, o.left_on) for o in office.officials] == [("Pat Example", dt.date(2026, 10, 1)),
                                                               ("Robin Sample", None)]
    assert (office.email, office.phone) == ("police@example.org", "601-555-0100")


def test_bad_rows_load_nothing_and_every_bad_row_is_listed(app, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,,,,\n"))
    before = db.session.scalar(db.select(db.func.count(Official.id)))
    path = write(tmp_path, "2836000,Jackson,Someone Else,,,,\n"   # fine on its own
                           ",Clinton,A Chief,,,,\n"                # line 3: no GEOID
                           "4748000,Memphis,B Chief,,,,\n"          # line 4: Tennessee
                           "2874840,,C Chief,,,,\n"                 # line 5: no name
                           "2836000,Jackson,D Chief,,,,\n"          # line 6: twice
                           "2831020,Hattiesburg,E Chief,not-an-email,,,\n"   # line 7
                           "2829700,Gulfport,F Chief,,,,31/12/2026\n"       # line 8
                           "2836000x,Jackson,G Chief,,,,\n", "bad.csv")      # line 9
    with pytest.raises(SourceError) as err:
        load(path)
    message = str(err.value)
    assert "7 rows rejected, nothing was loaded" in message
    for fragment in ("line 3: place_geoid is required", "line 4: place_geoid '4748000' is not a Mississippi Census "
                     "place GEOID", "line 5: place (the city or town's name) is required",
                     "line 6: Jackson (2836000) already given on line 2",
                     "line 7: email ",
                     "line 8: verified_at '31/12/2026' is not a date", "line 9: place_geoid '2836000x'"):
        assert fragment in message
    assert db.session.scalar(db.select(db.func.count(Official.id))) == before
    assert chief("2836000").holder.name == "Pat Example"


def test_name_must_agree_with_the_directory(app, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,,,,\n"))
    with pytest.raises(SourceError, match="place_geoid 2836000 is Jackson in the directory, not 'Clinton'"):
        load(write(tmp_path, "2836000,Clinton,Pat Example,,,,\n", "wrong.csv"))


def test_preview_says_what_would_change_without_writing(app, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,,,,\n"))
    path = write(tmp_path, "2836000,Jackson,Robin Sample,chief@example.org,,,\n2874840,Tupelo,,,,,\n", "p.csv")
    rows = police_chiefs.preview(path, "ms")
    assert [(r["title"], r["action"], r["current_holder"], r["new_holder"]) for r in rows] == [
        ("Chief of Police of Jackson", "replace", "Pat Example", "Robin Sample"),
        ("Chief of Police of Tupelo", "create", None, None)]
    assert rows[0]["contact_changes"] == {"email": (None, "chief@example.org")}
    assert chief("2874840") is None and chief("2836000").holder.name == "Pat Example"


def test_a_police_departments_287g_row_links_to_its_chief(app, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,,,,\n"))
    sheet = tmp_path / "participatingAgencies07182025pm_MS.csv"
    sheet.write_text("STATE,LAW ENFORCEMENT AGENCY,TYPE,COUNTY,SUPPORT TYPE,SIGNED,MOA,ADDENDUM\n"
                     "MISSISSIPPI,Jackson Police Department,Municipal,Hinds,Task Force Model,2025-05-01,,\n")
    report = ice287g.load(sheet, "ms", ImportContext())
    assert report.problems == []
    [agreement] = db.session.scalars(db.select(Agreement287g)).all()
    assert agreement.office_id == chief("2836000").id


def test_address_inside_jackson_matches_its_police_chief(ms_app, fake_census, tmp_path):
    load(write(tmp_path, "2836000,Jackson,Pat Example,police@example.org,,,\n"))
    db.session.commit()
    m = matching.match("400 High St, Jackson, MS 39201", [OfficeType.SHERIFF, OfficeType.POLICE_CHIEF])
    assert m.divisions[DivisionType.PLACE].ocd_id == JACKSON_OCD
    assert [o.holder.name for o in m.offices[OfficeType.POLICE_CHIEF]] == ["Pat Example"]
    assert m.complete and "no_city_police" not in m.warnings
    # Gulfport is an incorporated place the directory has no police chief for: said so, nothing pending.
    gulfport = matching.match("2309 15th St, Gulfport, MS 39501", [OfficeType.SHERIFF, OfficeType.POLICE_CHIEF])
    assert OfficeType.POLICE_CHIEF not in gulfport.offices and not gulfport.pending
    assert "place_not_in_directory" in gulfport.warnings and "no_city_police" not in gulfport.warnings
