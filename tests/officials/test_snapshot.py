"""Snapshot export/import: a state's directory survives a round trip byte for byte, and bad files change nothing."""
from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Callable

import pytest

from actionkit.extensions import db
from actionkit.officials import importers, snapshot
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import snapshot as snapshot_importer
from actionkit.officials.models import (
    Agreement287g, AgreementStatus, Boundary, Division, DivisionType, Office, OfficeType, Official, SyncRun,
    ZipDivision,
)
from actionkit.officials.services import (
    DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport, apply_office, ensure_division,
)

JAN, MAR, JUN = dt.date(2025, 1, 6), dt.date(2025, 3, 1), dt.date(2025, 6, 15)
HINDS = DivisionRecord.for_county("ms", "Hinds", "28049")
HARRISON = DivisionRecord.for_county("ms", "Harrison", "28047")
CD2 = DivisionRecord.for_district("ms", DivisionType.CD, 2)
SQUARE = '{"type":"Polygon","coordinates":[[[-90.5,32.1],[-90.0,32.1],[-90.0,32.5],[-90.5,32.1]]]}'


def sheriff(division: DivisionRecord, holder: HolderRecord | None, **contact: str) -> OfficeRecord:
    return OfficeRecord(OfficeType.SHERIFF, division, f"Sheriff of {division.name}", contact=contact, holder=holder)


def build_directory() -> None:
    """A small Mississippi directory with history, a vacancy, 287(g) rows, a boundary, ZIPs and provenance."""
    report = SyncReport("test")
    ensure_division(DivisionRecord.for_state("ms"), "counties", JAN)
    apply_office(sheriff(HINDS, HolderRecord("name:victor-mason", "Victor Mason", start_date=dt.date(2020, 1, 6))),
                 "sheriffs", JAN, report)
    apply_office(sheriff(HINDS, HolderRecord("name:tyree-jones", "Tyree Jones", party="D", email="tj@hinds.example"),
                         phone="601-974-2900", postal_address="407 E Pascagoula St, Jackson, MS 39201"),
                 "sheriffs", MAR, report)
    apply_office(sheriff(HARRISON, None), "counties", JAN, report)
    apply_office(OfficeRecord(OfficeType.US_SENATOR, DivisionRecord.for_state("ms"), "U.S. Senator", seat="1",
                              contact={"web_form_url": "https://www.wicker.senate.gov/contact",
                                       "phone": "202-224-6253", "cwc_office_code": "SMS01"},
                              holder=HolderRecord("bioguide:W000437", "Roger F. Wicker", first_name="Roger",
                                                  last_name="Wicker", party="Republican", bioguide_id="W000437",
                                                  term_end=dt.date(2031, 1, 3)),
                              source_url="https://theunitedstates.io/congress-legislators/"),
                 "congress", JUN, report)
    apply_office(OfficeRecord(OfficeType.US_REPRESENTATIVE, CD2, "U.S. Representative, MS-2",
                              holder=HolderRecord("bioguide:T000193", "Bennie G. Thompson", bioguide_id="T000193")),
                 "congress", JUN, report)
    apply_office(OfficeRecord(OfficeType.STATE_SENATOR, DivisionRecord.for_district("ms", DivisionType.SLDU, 37),
                              "State Senator, District 37",
                              holder=HolderRecord("ocd-person/4e1c", "Albert Butler", email="abutler@senate.ms.gov",
                                                  ocd_person_id="ocd-person/4e1c")),
                 "openstates", JUN, report)
    apply_office(sheriff(DivisionRecord.for_county("tx", "Harris", "48201"), None), "counties", JAN, report)
    harrison = db.session.scalar(db.select(Office).join(Division).where(Division.ocd_id == HARRISON.ocd_id))
    hinds = db.session.scalar(db.select(Division).where(Division.ocd_id == HINDS.ocd_id))
    cd2 = db.session.scalar(db.select(Division).where(Division.ocd_id == CD2.ocd_id))
    db.session.add_all([
        Agreement287g(office=harrison, state="MS", agency="Harrison County Sheriff's Office", agency_type="County",
                      county="Harrison County", support_type="Jail Enforcement Model",
                      status=AgreementStatus.PARTICIPATING, signed_on=dt.date(2025, 6, 30), moa_url="https://x/moa.pdf",
                      source="ice287g", as_of=dt.date(2025, 7, 18)),
        Agreement287g(state="MS", agency="Mississippi Attorney General's Office", county="#N/A",
                      support_type="Task Force Model", status=AgreementStatus.PARTICIPATING,
                      signed_on=dt.date(2025, 3, 17), source="ice287g", as_of=dt.date(2025, 7, 18)),
        Boundary(division=hinds, geometry=SQUARE, source="boundaries", as_of=JAN),
        ZipDivision(zip="39201", division=hinds, source="zipcodes"),
        ZipDivision(zip="39201", division=cd2, source="zccd"),
        SyncRun(source="congress", location="/tmp/actionkit-sync-x/congress-legislators/legislators-current.json",
                sha256="ab" * 32, as_of=JUN, finished_at=dt.datetime(2025, 6, 15, 12, 30, 5, 123456, dt.timezone.utc)),
        SyncRun(source="congress", location="/srv/old/legislators-current.json", sha256="cd" * 32, as_of=JAN,
                finished_at=dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.timezone.utc)),
        SyncRun(source="openstates", location="/work/shared/data/openstates-ms", as_of=JUN,
                finished_at=dt.datetime(2025, 6, 15, 12, 31, tzinfo=dt.timezone.utc)),
    ])
    db.session.commit()


def wipe() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def row_counts() -> dict[str, int]:
    return {m.__tablename__: db.session.scalar(db.select(db.func.count()).select_from(m))
            for m in (Division, Office, Official, Agreement287g, Boundary, ZipDivision, SyncRun)}


@pytest.fixture
def exported(app, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    build_directory()
    path = tmp_path / "ms.json.gz"
    snapshot.export("ms", path)
    return path


def test_export_layout(exported: Path) -> None:
    raw = exported.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    text = gzip.decompress(raw).decode()
    assert text.startswith('{"format":"actionkit-officials-snapshot","version":1,"state":"ms",')
    data = json.loads(text)
    assert data["exported_at"] == "2025-06-15T12:31:00.000000Z"
    assert data["provenance"] == [
        {"as_of": "2025-06-15", "finished_at": "2025-06-15T12:30:05.123456Z", "location": "legislators-current.json",
         "sha256": "ab" * 32, "source": "congress"},
        {"as_of": "2025-06-15", "finished_at": "2025-06-15T12:31:00.000000Z", "location": "openstates-ms",
         "sha256": None, "source": "openstates"},
    ]
    assert all(d["state"] == "ms" for d in data["divisions"])
    assert [d["geoid"] for d in data["divisions"]] == ["28", "2802", "28047", "28049", "28037"]
    hinds = next(o for o in data["offices"] if o["division"] == HINDS.ocd_id)
    assert [(p["name"], p["left_on"]) for p in hinds["officials"]] == [("Victor Mason", "2025-03-01"),
                                                                       ("Tyree Jones", None)]
    assert hinds["phone"] == "601-974-2900" and hinds["source"] == "sheriffs" and hinds["as_of"] == "2025-03-01"
    harrison = next(o for o in data["offices"] if o["division"] == HARRISON.ocd_id)
    assert harrison["officials"] == []
    assert [a["office"] for a in data["agreements_287g"]] == [[HARRISON.ocd_id, "sheriff", ""], None]
    assert data["boundaries"] == [{"as_of": "2025-01-06", "division": HINDS.ocd_id, "geometry": SQUARE,
                                   "source": "boundaries"}]
    assert [(z["zip"], z["division"]) for z in data["zip_divisions"]] == [("39201", CD2.ocd_id),
                                                                          ("39201", HINDS.ocd_id)]


def test_export_is_byte_identical_when_repeated(exported: Path, tmp_path: Path) -> None:
    again = tmp_path / "elsewhere" / "other-name.json.gz"
    counts = snapshot.export("ms", again)
    assert again.read_bytes() == exported.read_bytes()
    assert counts == {"divisions": 5, "offices": 5, "officials": 5, "agreements_287g": 2, "boundaries": 1,
                      "zip_divisions": 2}


def test_round_trip_into_an_empty_database(exported: Path, tmp_path: Path) -> None:
    wipe()
    assert importers.detect(exported) is snapshot_importer
    reports, errors = run_sync(exported, "ms")
    assert errors == []
    assert reports[0].source == "snapshot" and reports[0].created == 5 + 5 + 2 + 1 + 2
    hinds = db.session.scalar(db.select(Office).join(Division).where(Division.ocd_id == HINDS.ocd_id))
    assert hinds.holder.name == "Tyree Jones" and hinds.holder.email == "tj@hinds.example"
    assert [(o.name, o.left_on) for o in hinds.officials if o.left_on] == [("Victor Mason", MAR)]

    again = tmp_path / "again.json.gz"
    snapshot.export("ms", again)
    assert again.read_bytes() == exported.read_bytes()


def test_reloading_changes_nothing(exported: Path) -> None:
    before = row_counts()
    reports, errors = run_sync(exported, "ms")
    assert errors == []
    report = reports[0]
    assert (report.created, report.updated, report.vacated) == (0, 0, 0), report.changes
    assert report.unchanged == 5 + 5 + 2 + 1 + 2
    after = row_counts()
    assert after.pop("sync_runs") == before.pop("sync_runs") + 1
    assert after == before


def test_load_updates_an_older_directory_with_the_recorded_history(exported: Path) -> None:
    wipe()
    apply_office(sheriff(HINDS, HolderRecord("name:victor-mason", "Victor Mason")), "sheriffs", JAN, SyncReport("t"))
    db.session.commit()
    reports, errors = run_sync(exported, "ms")
    assert errors == []
    hinds = db.session.scalar(db.select(Office).join(Division).where(Division.ocd_id == HINDS.ocd_id))
    assert [(o.name, o.left_on) for o in hinds.officials] == [("Victor Mason", MAR), ("Tyree Jones", None)]
    assert any("Victor Mason left on 2025-03-01" in c for c in reports[0].changes)


def test_plain_json_snapshot_loads(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_directory()
    path = tmp_path / "ms.json"
    snapshot.export("ms", path)
    assert path.read_bytes().startswith(b'{"format":"actionkit-officials-snapshot"')
    assert importers.detect(path) is snapshot_importer
    assert run_sync(path, "ms")[1] == []


def test_sniff_ignores_other_json(tmp_path: Path, shared_data: Path) -> None:
    other = shared_data / "census-geocoder" / "pablotron_responses_geographies.json"
    assert not snapshot_importer.sniff(other, other.read_text()[:4096])
    gz = tmp_path / "other.json.gz"
    gz.write_bytes(gzip.compress(b'{"type": "FeatureCollection"}'))
    assert not snapshot_importer.sniff(gz, "")


def _rewrite(path: Path, change: Callable[[dict], object]) -> Path:
    data = json.loads(gzip.decompress(path.read_bytes()))
    change(data)
    out = path.with_name("changed.json.gz")
    out.write_bytes(snapshot.dumps(data))
    return out


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[: len(raw) // 2], "not a readable snapshot"),
    (lambda raw: raw[:-8] + bytes(8), "not a readable snapshot"),  # CRC and length trailer wrong
])
def test_corrupt_gzip_is_reported_and_changes_nothing(exported: Path, damage: Callable[[bytes], bytes],
                                                      message: str) -> None:
    exported.write_bytes(damage(exported.read_bytes()))
    before = (row_counts(), snapshot.collect("ms"))
    reports, errors = run_sync(exported, "ms")
    assert reports == [] and len(errors) == 1 and message in errors[0] and str(exported) in errors[0]
    assert (row_counts(), snapshot.collect("ms")) == before


def test_garbage_with_a_snapshot_name_is_not_importable(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ms.json.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(SourceError, match="not a format actionkit can import"):
        run_sync(path, "ms")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=2), "snapshot version 2 is not supported"),
    (lambda d: d["zip_divisions"].append({"zip": "3920", "division": HINDS.ocd_id, "source": "x"}),
     "zip_divisions[2]: zip '3920' is not 5 digits"),
    (lambda d: d["offices"][0].update(type="mayor"), "offices[0]: unknown type 'mayor'"),
    (lambda d: d["offices"][-1]["officials"][0].update(left_on="last year"), "is not a date"),
    (lambda d: d["agreements_287g"][0].update(office=[HINDS.ocd_id.replace("hinds", "nowhere"), "sheriff", ""]),
     "is not in the snapshot's offices"),
])
def test_invalid_snapshot_is_rejected_before_any_write(exported: Path, change: Callable[[dict], object],
                                                       message: str) -> None:
    bad = _rewrite(exported, change)
    wipe()
    reports, errors = run_sync(bad, "ms")
    assert reports == [] and len(errors) == 1 and message in errors[0], errors
    assert set(row_counts().values()) == {0}


def test_snapshot_for_another_state_is_refused(exported: Path) -> None:
    reports, errors = run_sync(exported, "tx")
    assert reports == [] and "this snapshot is for MS, not TX" in errors[0]


def test_cli_export_then_sync(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_directory()
    path = tmp_path / "snapshots" / "ms.json.gz"
    result = runner.invoke(args=["officials", "export", "--state", "MS", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert f"exported MS to {path}: 5 divisions, 5 offices, 5 officials" in result.output
    wipe()
    result = runner.invoke(args=["officials", "sync", "--state", "MS", "--from", str(path)])
    assert result.exit_code == 0, result.output
    assert "sync MS: 1 sources loaded, 0 failed" in result.output
    assert snapshot.export("ms", tmp_path / "again.json.gz")["officials"] == 5
    assert (tmp_path / "again.json.gz").read_bytes() == path.read_bytes()
