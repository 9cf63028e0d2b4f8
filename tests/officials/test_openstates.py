"""The Open States importer: the real people YAML folder in shared/data, modified copies, and the bulk CSV."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from actionkit.extensions import db
from actionkit.officials import importers
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, openstates
from actionkit.officials.models import Division, DivisionType, Office, OfficeType, Official, SyncRun
from actionkit.officials.services import SourceError

AS_OF = dt.date(2026, 8, 5)
LATER = dt.date(2026, 9, 1)
CSV_FIXTURE = Path(__file__).resolve().parent.parent / "data" / "openstates_ms_constructed.csv"
BUTLER = "Albert-Butler-c012fed5-c753-4a01-9c3c-9924d178c24d.yml"  # SD 37
HOLLOWAY = "Gregory-Holloway-Sr-745b9724-e66d-46ec-874a-d658f01b78a6.yml"  # HD 76
SAMPLE = (BUTLER, HOLLOWAY, "Michael-McLendon-017dec88-1105-454d-b55b-eeb3a3c85b55.yml",
          "Lester-Carpenter-dcc9906b-9a0a-4503-9128-006317d5ff3f.yml")  # the people in the CSV fixture
SD37 = "ocd-division/country:us/state:ms/sldu:37"
HD76 = "ocd-division/country:us/state:ms/sldl:76"


def _load(path: Path, as_of: dt.date = AS_OF):
    return openstates.load(path, "ms", ImportContext(as_of=as_of))


def _copy(shared_data: Path, tmp_path: Path, names: tuple[str, ...] = SAMPLE) -> Path:
    """A writable copy of some of the real person files (all with names=()), laid out like shared/data;
    a few seats keep the change tests quick, the scope logic is the same as for 174."""
    source = shared_data / "openstates-ms" / "legislature"
    target = tmp_path / "src" / "openstates-ms" / "legislature"
    target.mkdir(parents=True)
    for f in [source / n for n in names] if names else source.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    return target


def _office(ocd_id: str) -> Office:
    return db.session.scalar(db.select(Office).join(Division).where(Division.ocd_id == ocd_id))


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def _snapshot() -> list[tuple]:
    """Everything the importer may touch, as plain values, to prove a failed load changed nothing."""
    offices = db.session.execute(db.select(Office.id, Office.title, Office.email, Office.phone,
                                           Office.as_of).order_by(Office.id)).all()
    officials = db.session.execute(db.select(Official.id, Official.person_key, Official.email,
                                             Official.left_on).order_by(Official.id)).all()
    return [tuple(offices), tuple(officials), _count(SyncRun)]


def _new_person(path: Path, uuid: str, name: str, district: str, chamber: str = "lower") -> None:
    given, family = name.split()
    path.write_text(f"""id: ocd-person/{uuid}
name: {name}
given_name: {given}
family_name: {family}
email: {given[0].lower()}{family.lower()}@house.ms.gov
party:
- name: Independent
roles:
- start_date: 2026-08-20
  type: {chamber}
  jurisdiction: ocd-jurisdiction/country:us/state:ms/government
  district: '{district}'
offices:
- classification: capitol
  address: State Capitol 400 High St., Jackson, MS 39201
  voice: 601-359-3770
""")


def test_cli_sync_loads_every_seat_of_the_real_folder(app, shared_data):
    root = shared_data / "openstates-ms"
    result = app.test_cli_runner().invoke(args=["officials", "sync", "--state", "MS", "--from", str(root)])
    assert result.exit_code == 0, result.output
    assert "openstates: 174 created, 0 updated, 0 vacated, 0 unchanged, 0 problems" in result.output
    # The command records the canonical path it read (symlinks resolved), e.g. ../shared -> /work/shared; the
    # folder also holds the statewide executives (their own importer, tests/officials/test_executive.py).
    assert [r.location for r in db.session.scalars(db.select(SyncRun))] == [
        str((root / "legislature").resolve()), str((root / "executive").resolve())]
    offices = db.session.scalars(db.select(Office).where(Office.type.in_(openstates.SCOPE_TYPES))).all()
    senate = [o for o in offices if o.type is OfficeType.STATE_SENATOR]
    house = [o for o in offices if o.type is OfficeType.STATE_REPRESENTATIVE]
    assert len(senate) == 52 and len(house) == 122
    assert all(o.holder is not None and o.holder.person_key.startswith("ocd-person/") for o in offices)
    assert {o.division.type for o in senate} == {DivisionType.SLDU}
    assert {o.division.type for o in house} == {DivisionType.SLDL}
    assert sorted(int(o.division.ocd_id.rsplit(":", 1)[1]) for o in senate) == list(range(1, 53))
    assert sorted(int(o.division.ocd_id.rsplit(":", 1)[1]) for o in house) == list(range(1, 123))

    butler = _office(SD37)
    assert butler.title == "Mississippi State Senator, District 37"
    assert butler.division.geoid == "28037" and butler.division.name == "Mississippi State Senate District 37"
    assert (butler.email, butler.phone) == ("abutler@senate.ms.gov", "601-359-2224")
    assert butler.postal_address == "State Capitol Room 405, 400 High St., Jackson, MS 39201"
    holder = butler.holder
    assert holder.person_key == holder.ocd_person_id == "ocd-person/c012fed5-c753-4a01-9c3c-9924d178c24d"
    assert (holder.name, holder.first_name, holder.last_name) == ("Albert Butler", "Albert", "Butler")
    assert (holder.party, holder.start_date, holder.term_end) == ("Democratic", dt.date(2024, 1, 2), None)
    assert holder.source_url.endswith(f"/data/ms/legislature/{BUTLER}")
    holloway = _office(HD76)
    assert holloway.title == "Mississippi State Representative, District 76"
    assert holloway.holder.name == "Greg Holloway" and holloway.email == "gholloway@house.ms.gov"

    report = _load(root / "legislature", LATER)
    assert report.counts() == {"created": 0, "updated": 0, "vacated": 0, "unchanged": 174, "problems": 0}
    assert report.changes == []
    # + the four statewide seats on the state division; the secretary of state's file has no current holder
    assert (_count(Office), _count(Official), _count(Division)) == (174 + 4, 174 + 3, 174 + 1)


def test_changed_email_updates(app, shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    _load(folder)
    person = folder / BUTLER
    person.write_text(person.read_text().replace("abutler@senate.ms.gov", "albert.butler@senate.ms.gov"))
    report = _load(folder, LATER)
    assert (report.updated, report.unchanged) == (1, 3)
    [change] = report.changes
    assert change.startswith("Mississippi State Senator, District 37: Albert Butler: email changed")
    office = _office(SD37)
    assert office.email == office.holder.email == "albert.butler@senate.ms.gov"
    assert office.as_of == LATER and len(office.officials) == 1


def test_departed_member_leaves_a_vacancy_then_new_holders(app, shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    _load(folder)
    (folder / HOLLOWAY).unlink()
    report = _load(folder, LATER)
    assert (report.vacated, report.unchanged) == (1, 3)
    assert report.changes == ["Mississippi State Representative, District 76: vacant (was Greg Holloway)"]
    office = _office(HD76)
    assert office.holder is None
    assert [(o.name, o.left_on) for o in office.officials] == [("Greg Holloway", LATER)]

    # A special election fills the seat; at the same time a member is replaced without a vacancy between.
    _new_person(folder / "Pat-Doe-0000.yml", "00000000-0000-4000-8000-000000000076", "Pat Doe", "76")
    (folder / BUTLER).unlink()
    _new_person(folder / "Sam-Roe-0000.yml", "00000000-0000-4000-8000-000000000037", "Sam Roe", "37", "upper")
    report = _load(folder, dt.date(2026, 9, 2))
    assert (report.updated, report.unchanged, report.vacated) == (2, 2, 0)
    hd76_change, sd37_change = sorted(report.changes)
    assert hd76_change.startswith("Mississippi State Representative, District 76: filled by Pat Doe; email changed")
    assert sd37_change.startswith("Mississippi State Senator, District 37: new holder Sam Roe (was Albert Butler)")
    hd76, sd37 = _office(HD76), _office(SD37)
    assert [(o.name, o.left_on) for o in hd76.officials] == [("Greg Holloway", LATER), ("Pat Doe", None)]
    assert [(o.name, o.left_on) for o in sd37.officials] == [("Albert Butler", dt.date(2026, 9, 2)), ("Sam Roe", None)]
    assert sd37.holder.start_date == dt.date(2026, 8, 20) and sd37.email == "sroe@house.ms.gov"


def test_malformed_yaml_names_file_and_line(shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    person = folder / BUTLER
    lines = person.read_text().splitlines()
    lines[5] = "email: abutler: senate.ms.gov"
    person.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError) as err:
        openstates.parse(folder, "ms", AS_OF)
    assert err.value.path == str(person) and err.value.line == 6
    assert str(err.value).startswith(f"{person}:6: malformed YAML")


def test_person_without_current_role(shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    person = folder / HOLLOWAY
    person.write_text(person.read_text().replace("- start_date: 2000-01-04\n",
                                                 "- start_date: 2000-01-04\n  end_date: 2026-01-05\n"))
    with pytest.raises(SourceError, match=rf"^{person}: no current legislative role"):
        openstates.parse(folder, "ms", AS_OF)
    # An end date still ahead (an announced resignation) keeps the role current, with its term end.
    parsed = openstates.parse(folder, "ms", dt.date(2025, 12, 1))
    holloway = next(r for r in parsed.records if r.division.ocd_id == HD76)
    assert holloway.holder.term_end == dt.date(2026, 1, 5)


def test_failed_sync_leaves_the_database_as_it_was(app, shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    reports, errors = run_sync(tmp_path / "src", "ms", AS_OF)
    assert errors == [] and [r.created for r in reports if r.source == "openstates"] == [4]
    before = _snapshot()

    butler = folder / BUTLER
    butler.write_text(butler.read_text().replace("abutler@senate.ms.gov", "new@senate.ms.gov"))
    (folder / HOLLOWAY).unlink()
    broken = sorted(folder.glob("*.yml"))[-1]
    broken.write_text(broken.read_text() + "roles: [unclosed\n")
    reports, errors = run_sync(tmp_path / "src", "ms", LATER)
    assert [r for r in reports if r.source == "openstates"] == []
    [error] = errors
    assert error.startswith(f"{broken}:") and "malformed YAML" in error
    db.session.expire_all()
    assert _snapshot() == before


def test_bulk_csv(app, shared_data, tmp_path):
    head = CSV_FIXTURE.read_text()[:4096]
    assert openstates.sniff(CSV_FIXTURE, head)
    report = _load(CSV_FIXTURE)
    assert (report.created, report.problems) == (4, [])
    butler = _office(SD37)
    assert butler.title == "Mississippi State Senator, District 37"
    assert (butler.email, butler.phone) == ("abutler@senate.ms.gov", "601-359-2224")
    assert butler.postal_address == "State Capitol Room 405, 400 High St., Jackson, MS 39201"
    assert butler.holder.person_key == "ocd-person/c012fed5-c753-4a01-9c3c-9924d178c24d"
    assert butler.holder.source_url == "https://data.openstates.org/people/current/ms.csv"
    assert _office(HD76).holder.party == "Democratic"
    # The same people from their YAML files: same seats, same holders (no new rows).
    report = _load(_copy(shared_data, tmp_path), LATER)
    assert (report.created, report.updated, report.vacated) == (0, 4, 0)
    assert _count(Official) == 4 and len(_office(SD37).officials) == 1
    assert _office(SD37).holder.start_date == dt.date(2024, 1, 2)  # only the YAML has role dates

    wrong_state = tmp_path / "al.csv"
    shutil.copyfile(CSV_FIXTURE, wrong_state)
    with pytest.raises(SourceError, match="this file is for AL, not MS"):
        openstates.parse(wrong_state, "ms", AS_OF)
    bad = tmp_path / "ms.csv"
    bad.write_text(CSV_FIXTURE.read_text().replace(",76,lower,", ",76,legislature,"))
    with pytest.raises(SourceError, match=rf"^{bad}:4: current_chamber 'legislature'"):
        openstates.parse(bad, "ms", AS_OF)


def test_sniff_and_discover(shared_data, tmp_path):
    root = shared_data / "openstates-ms"
    assert [p for m, p in importers.discover(root) if m is openstates] == [root / "legislature"]
    assert not openstates.sniff(root / "executive", "")
    for path in [*(root / "executive").iterdir(), root / "legislature" / BUTLER, root / "schema.md"]:
        assert importers.detect(path) is None, path
    renamed = tmp_path / "people.csv"
    shutil.copyfile(CSV_FIXTURE, renamed)
    assert importers.detect(renamed) is openstates
