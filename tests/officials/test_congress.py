"""The congress-legislators importer against the real files in shared/data (and modified copies of them)."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from actionkit.extensions import db
from actionkit.officials import importers
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, congress
from actionkit.officials.models import Division, Office, OfficeType, Official, SyncRun
from actionkit.officials.services import SourceError
from tests.conftest import SHARED_DATA, missing_service

AS_OF = dt.date(2026, 6, 15)
LATER = dt.date(2026, 7, 1)
STATE_OCD = "ocd-division/country:us/state:ms"
MEMBERS = {  # ocd id, seat -> bioguide, name
    (f"{STATE_OCD}/cd:1", ""): ("K000388", "Trent Kelly"),
    (f"{STATE_OCD}/cd:2", ""): ("T000193", "Bennie G. Thompson"),
    (f"{STATE_OCD}/cd:3", ""): ("G000591", "Michael Guest"),
    (f"{STATE_OCD}/cd:4", ""): ("E000235", "Mike Ezell"),
    (STATE_OCD, "1"): ("W000437", "Roger F. Wicker"),
    (STATE_OCD, "2"): ("H001079", "Cindy Hyde-Smith"),
}


def _dir(shared_data: Path) -> Path:
    return shared_data / "congress-legislators"


@pytest.fixture(scope="module")
def real_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real legislators-current and district-offices files rewritten as JSON, once per module: the 1 MB
    YAML takes about a second to parse, its JSON twin a few milliseconds."""
    if not SHARED_DATA.is_dir():
        missing_service(f"shared data folder {SHARED_DATA}")
    folder = tmp_path_factory.mktemp("congress-json")
    for name in ("legislators-current", "legislators-district-offices"):
        data = congress.read(SHARED_DATA / "congress-legislators" / f"{name}.yaml")
        (folder / f"{name}.json").write_text(json.dumps(data, default=str))
    return folder / "legislators-current.json"


def _people(real_json: Path, *states: str) -> list[dict[str, Any]]:
    """Copies of the real entries whose current term is in one of the states."""
    return [p for p in json.loads(real_json.read_text()) if p["terms"][-1]["state"] in states]


def _person(people: list[dict[str, Any]], bioguide: str) -> dict[str, Any]:
    return next(p for p in people if p["id"]["bioguide"] == bioguide)


def _write(folder: Path, people: list[dict[str, Any]], name: str = "legislators-current.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.suffix == ".json":
        path.write_text(json.dumps(people, indent=2, default=str))
    else:
        path.write_text(yaml.safe_dump(people, sort_keys=False, allow_unicode=True))
    return path


def _load(path: Path, as_of: dt.date = AS_OF):
    return congress.load(path, "ms", ImportContext(as_of=as_of))


def _offices() -> dict[tuple[str, str], Office]:
    rows = db.session.scalars(db.select(Office).join(Division)
                              .where(Office.type.in_(congress.SCOPE_TYPES))).all()
    return {(o.division.ocd_id, o.seat): o for o in rows}


def _snapshot() -> list[tuple]:
    """Everything the importer may touch, as plain values, to prove a failed load changed nothing."""
    offices = db.session.execute(db.select(Office.id, Office.title, Office.phone, Office.postal_address,
                                           Office.web_form_url, Office.as_of).order_by(Office.id)).all()
    officials = db.session.execute(db.select(Official.id, Official.person_key, Official.phone,
                                             Official.left_on).order_by(Official.id)).all()
    runs = db.session.scalar(db.select(db.func.count(SyncRun.id)))
    return [tuple(offices), tuple(officials), runs]


def _assert_ms_delegation(offices: dict[tuple[str, str], Office]) -> None:
    assert set(offices) == set(MEMBERS)
    for key, (bioguide, name) in MEMBERS.items():
        holder = offices[key].holder
        assert holder is not None and holder.bioguide_id == bioguide and holder.name == name, key
        assert holder.person_key == f"bioguide:{bioguide}"
    house = [o for o in offices.values() if o.type is OfficeType.US_REPRESENTATIVE]
    senate = [o for o in offices.values() if o.type is OfficeType.US_SENATOR]
    assert len(house) == 4 and len(senate) == 2


def test_cli_sync_loads_the_real_folder(app, shared_data, real_json):
    result = app.test_cli_runner().invoke(
        args=["officials", "sync", "--state", "MS", "--from", str(_dir(shared_data))])
    assert result.exit_code == 0, result.output
    assert "congress: 6 created, 0 updated, 0 vacated, 0 unchanged, 0 problems" in result.output
    offices = _offices()
    _assert_ms_delegation(offices)
    runs = db.session.scalars(db.select(SyncRun)).all()
    assert [Path(r.location).name for r in runs] == ["legislators-current.yaml"]  # offices file rode along

    wicker = offices[(STATE_OCD, "1")]
    assert wicker.title == "U.S. Senator for Mississippi (Class 1)"
    assert wicker.postal_address == "425 Russell Senate Office Building Washington DC 20510"
    assert wicker.web_form_url == "https://www.wicker.senate.gov/public/index.cfm/contact"
    assert wicker.website == "https://www.wicker.senate.gov"
    assert wicker.phone == "202-224-6253" and wicker.source == "congress"
    thompson = offices[(f"{STATE_OCD}/cd:2", "")]
    assert thompson.title == "U.S. Representative for Mississippi's 2nd Congressional District"
    assert thompson.division.geoid == "2802" and thompson.division.name == "Mississippi Congressional District 2"
    assert thompson.holder.party == "Democrat" and thompson.holder.term_end == dt.date(2027, 1, 3)
    assert thompson.web_form_url is None  # House members have no contact_form in this file

    # The JSON edition of the same data (as downloaded by default) finds nothing to change.
    report = _load(real_json, LATER)
    assert report.counts() == {"created": 0, "updated": 0, "vacated": 0, "unchanged": 6, "problems": 0}


def test_parse_real_file(real_json):
    parsed = congress.parse(real_json, "ms")
    assert parsed.problems == []
    by_seat = {(r.division.ocd_id, r.seat): r for r in parsed.records}
    assert {k: (r.holder.bioguide_id, r.holder.name) for k, r in by_seat.items()} == MEMBERS
    hyde_smith = by_seat[(STATE_OCD, "2")]
    assert hyde_smith.title == "U.S. Senator for Mississippi (Class 2)"
    assert (hyde_smith.holder.first_name, hyde_smith.holder.last_name) == ("Cindy", "Hyde-Smith")
    assert (hyde_smith.holder.start_date, hyde_smith.holder.term_end) == (dt.date(2021, 1, 3), dt.date(2027, 1, 3))
    kelly = by_seat[(f"{STATE_OCD}/cd:1", "")]
    assert kelly.title == "U.S. Representative for Mississippi's 1st Congressional District"
    assert kelly.contact["postal_address"] == "2243 Rayburn House Office Building Washington DC 20515-2401"
    # The district-offices file beside it is read too: every MS member, all 29 offices.
    assert sorted(parsed.district_offices) == sorted(b for b, _ in MEMBERS.values())
    assert sum(len(v) for v in parsed.district_offices.values()) == 29


def test_rerun_gives_no_duplicates(app, real_json):
    first = congress.apply(congress.parse(real_json, "ms"), AS_OF)
    assert (first.created, first.updated, first.vacated) == (6, 0, 0)
    again = congress.apply(congress.parse(real_json, "ms"), LATER)
    assert again.counts() == {"created": 0, "updated": 0, "vacated": 0, "unchanged": 6, "problems": 0}
    assert db.session.scalar(db.select(db.func.count(Office.id))) == 6
    assert db.session.scalar(db.select(db.func.count(Official.id))) == 6
    assert db.session.scalar(db.select(db.func.count(Division.id))) == 5  # the state and 4 districts
    assert any(c.startswith("district offices: 29 listed for 6 MS members") for c in again.changes)


def test_changed_contact_updates(app, tmp_path, real_json):
    people = _people(real_json, "MS", "WA")
    path = _write(tmp_path, people)
    assert _load(path).created == 6  # the WA members are filtered out
    term = _person(people, "W000437")["terms"][-1]
    term["phone"] = "202-224-0000"
    term["contact_form"] = "https://www.wicker.senate.gov/contact-new"
    _write(tmp_path, people)
    report = _load(path, LATER)
    assert (report.updated, report.unchanged) == (1, 5)
    [change] = report.changes
    assert change.startswith("U.S. Senator for Mississippi (Class 1): Roger F. Wicker: phone changed")
    assert "web_form_url changed" in change
    wicker = _offices()[(STATE_OCD, "1")]
    assert wicker.phone == "202-224-0000" and wicker.holder.phone == "202-224-0000"
    assert wicker.web_form_url == "https://www.wicker.senate.gov/contact-new"
    assert wicker.as_of == LATER and len(wicker.officials) == 1


def test_departed_member_leaves_a_vacancy_then_successors(app, tmp_path, real_json):
    people = _people(real_json, "MS")
    path = _write(tmp_path, people)
    _load(path)
    ezell = _person(people, "E000235")
    people.remove(ezell)
    _write(tmp_path, people)
    report = _load(path, LATER)
    assert (report.vacated, report.unchanged) == (1, 5)
    assert report.changes == ["U.S. Representative for Mississippi's 4th Congressional District: vacant (was Mike Ezell)"]
    cd4 = _offices()[(f"{STATE_OCD}/cd:4", "")]
    assert cd4.holder is None
    assert [(o.name, o.left_on) for o in cd4.officials] == [("Mike Ezell", LATER)]

    successor = copy.deepcopy(ezell)
    successor["id"] = {"bioguide": "Z999999"}
    successor["name"] = {"first": "Pat", "last": "Doe", "official_full": "Pat Doe"}
    successor["terms"][-1]["start"] = "2026-07-20"
    guest = _person(people, "G000591")
    guest_successor = copy.deepcopy(guest)
    guest_successor["id"] = {"bioguide": "Y999999"}
    guest_successor["name"] = {"first": "Sam", "last": "Roe"}  # no official_full: first + last
    people[people.index(guest)] = guest_successor
    _write(tmp_path, people + [successor])
    report = _load(path, dt.date(2026, 7, 21))
    assert (report.updated, report.unchanged, report.vacated) == (2, 4, 0)
    assert sorted(report.changes) == [
        "U.S. Representative for Mississippi's 3rd Congressional District: new holder Sam Roe (was Michael Guest)",
        "U.S. Representative for Mississippi's 4th Congressional District: filled by Pat Doe",
    ]
    offices = _offices()
    cd3, cd4 = offices[(f"{STATE_OCD}/cd:3", "")], offices[(f"{STATE_OCD}/cd:4", "")]
    assert [(o.name, o.left_on) for o in cd3.officials] == [("Michael Guest", dt.date(2026, 7, 21)),
                                                           ("Sam Roe", None)]
    assert [(o.name, o.left_on) for o in cd4.officials] == [("Mike Ezell", LATER), ("Pat Doe", None)]
    assert cd4.holder.person_key == "bioguide:Z999999" and cd4.holder.start_date == dt.date(2026, 7, 20)


def test_malformed_yaml_names_file_and_line(tmp_path, real_json):
    lines = yaml.safe_dump(_people(real_json, "MS"), sort_keys=False).splitlines()
    lines.insert(20, "  bogus: a: b")
    path = tmp_path / "legislators-current.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError) as err:
        congress.parse(path, "ms")
    assert err.value.path == str(path) and err.value.line == 21
    assert str(err.value).startswith(f"{path}:21: malformed YAML")


def test_malformed_json_names_file_and_line(tmp_path):
    path = tmp_path / "legislators-current.json"
    path.write_text('[\n  {"id": {"bioguide": "W000437"},\n   "terms": [}\n]\n')
    with pytest.raises(SourceError, match=rf"^{path}:3: malformed JSON"):
        congress.parse(path, "ms")


def test_bad_entries_are_source_errors(tmp_path, real_json):
    people = _people(real_json, "MS")
    _person(people, "W000437")["terms"][-1]["type"] = "delegate"
    with pytest.raises(SourceError, match=r"entry \d+ \(W000437\): current term type 'delegate'"):
        congress.parse(_write(tmp_path, people), "ms")
    with pytest.raises(SourceError, match="no member of Congress for MS"):
        congress.parse(_write(tmp_path, _people(real_json, "WA")), "ms")
    with pytest.raises(SourceError, match="expected a list"):
        congress.parse(_write(tmp_path, {"id": 1}), "ms")  # type: ignore[arg-type]


def test_failed_sync_leaves_the_database_as_it_was(app, tmp_path, real_json):
    people = _people(real_json, "MS")
    folder = tmp_path / "src" / "congress-legislators"
    path = _write(folder, people, "legislators-current.yaml")
    reports, errors = run_sync(tmp_path / "src", "ms", AS_OF)
    assert errors == [] and reports[0].created == 6
    before = _snapshot()

    _person(people, "W000437")["terms"][-1]["phone"] = "202-224-0000"  # a change that must not land
    people.remove(_person(people, "E000235"))  # nor this vacancy
    lines = yaml.safe_dump(people, sort_keys=False).splitlines()
    lines.insert(40, "    office: [unclosed")
    path.write_text("\n".join(lines) + "\n")
    reports, errors = run_sync(tmp_path / "src", "ms", LATER)
    assert reports == []
    [error] = errors
    assert error.startswith(f"{path}:") and "malformed YAML" in error
    assert int(error[len(str(path)) + 1:].split(":")[0]) > 40
    db.session.expire_all()
    assert _snapshot() == before


def test_district_offices_file_alone(app, shared_data, tmp_path, real_json):
    people = _people(real_json, "MS")
    term = _person(people, "E000235")["terms"][-1]
    del term["address"], term["phone"]  # a seat with no DC address or phone of its own
    _load(_write(tmp_path / "members", people))
    ezell = _offices()[(f"{STATE_OCD}/cd:4", "")]
    assert ezell.postal_address is None and ezell.phone is None

    real = _dir(shared_data) / "legislators-district-offices.yaml"
    report = _load(real, LATER)
    assert (report.updated, report.unchanged, report.problems) == (1, 5, [])
    assert report.changes[0] == ("U.S. Representative for Mississippi's 4th Congressional District: "
                                 "phone from district office, postal_address from district office")
    db.session.expire_all()
    ezell = _offices()[(f"{STATE_OCD}/cd:4", "")]
    assert ezell.postal_address == "641 Main Street, Suite 142, Hattiesburg, MS 39401"
    assert ezell.phone == "601-582-3246"
    wicker = _offices()[(STATE_OCD, "1")]
    assert wicker.postal_address == "425 Russell Senate Office Building Washington DC 20510"  # DC address kept

    unknown = [{"id": {"bioguide": "Q000001"}, "offices": [
        {"id": "Q000001-tupelo", "address": "1 Main St.", "city": "Tupelo", "state": "MS", "zip": "38804"}]},
        {"id": {"bioguide": "Q000002"}, "offices": [{"id": "Q000002-x", "city": "Boise", "state": "ID"}]}]
    report = _load(_write(tmp_path / "offices", unknown, "legislators-district-offices.json"))
    assert report.problems == ["1 MS district office(s) of bioguide Q000001, who holds no MS seat in the directory"]
    assert report.counts()["updated"] == 0


def test_members_file_takes_district_offices_from_its_folder(app, tmp_path, real_json):
    people = _people(real_json, "MS")
    del _person(people, "K000388")["terms"][-1]["address"]
    path = _write(tmp_path, people)
    offices = [{"id": {"bioguide": "K000388"}, "offices": [
        {"id": "K000388-columbus", "address": "318 N. 7th St.", "suite": "Suite D", "city": "Columbus",
         "state": "MS", "zip": "39701", "phone": "662-327-0748"}]},
        {"id": {"bioguide": "Q000001"}, "offices": [{"id": "Q000001-x", "city": "Tupelo", "state": "MS"}]}]
    _write(tmp_path, offices, "legislators-district-offices.yaml")
    report = _load(path)
    assert report.created == 6
    assert report.problems == ["legislators-district-offices.yaml: 1 MS office(s) of bioguide Q000001, who holds "
                               "no MS seat in legislators-current.json"]
    kelly = _offices()[(f"{STATE_OCD}/cd:1", "")]
    assert kelly.postal_address == "318 N. 7th St., Suite D, Columbus, MS 39701"
    assert kelly.phone == "202-225-4306"  # the DC phone stays: district offices only fill gaps


def test_at_large_and_other_states(tmp_path, real_json):
    path = tmp_path / "legislators-current.json"
    records = congress.parse_members(_people(real_json, "WY"), path, "wy")
    rep = next(r for r in records if r.type is OfficeType.US_REPRESENTATIVE)
    assert rep.title == "U.S. Representative for Wyoming's At-Large Congressional District"
    assert rep.division.ocd_id == "ocd-division/country:us/state:wy/cd:0"
    assert [r.seat for r in records if r.type is OfficeType.US_SENATOR] == ["1", "2"]


def test_sniff_detect_and_select(shared_data, tmp_path, real_json):
    folder = _dir(shared_data)
    found = [p for m, p in importers.discover(folder) if m is congress]
    assert found == [folder / "legislators-current.yaml"]
    social = folder / "legislators-social-media.yaml"
    assert not congress.sniff(social, social.read_text()[:4096])
    with pytest.raises(SourceError, match="neither a legislators-current nor"):
        congress.parse(social, "ms")
    offices = folder / "legislators-district-offices.yaml"
    assert importers.detect(offices) is congress
    assert [p for m, p in importers.discover(offices)] == [offices]  # a district-offices file passed alone

    # By content, whatever the file is called.
    people = _people(real_json, "MS")
    renamed = {
        "members.yaml": people, "members.json": people,
        "offices.json": [{"id": {"bioguide": "W000437"}, "offices": []}],
        "handles.yaml": [{"id": {"bioguide": "W000437"}, "social": {"twitter": "SenatorWicker"}}],
        "roster.json": [{"name": "not congress"}],
    }
    for name, data in renamed.items():
        _write(tmp_path / "any", data, name)
    kinds = {name: congress.kind_of(tmp_path / "any" / name, (tmp_path / "any" / name).read_text()[:4096])
             for name in renamed}
    assert kinds == {"members.yaml": congress.MEMBERS, "members.json": congress.MEMBERS,
                     "offices.json": congress.DISTRICT_OFFICES, "handles.yaml": None, "roster.json": None}
    assert not congress.sniff(tmp_path / "any", "")

    # select(): the offices file beside a members file is not loaded twice; one copy of each file per folder.
    a, b = tmp_path / "a", tmp_path / "b"
    paths = [_write(a, people, "legislators-current.json"), _write(a, people, "legislators-current.yaml"),
             _write(a, [], "legislators-district-offices.json"), _write(b, [], "legislators-district-offices.yaml")]
    assert congress.select(paths) == [a / "legislators-current.json", b / "legislators-district-offices.yaml"]
