"""ICE 287(g) importer on the real participating/pending sheets of 2025-07-18, plus constructed variants."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, counties, detect, discover, ice287g
from actionkit.officials.models import Agreement287g, AgreementStatus, Office, SyncRun
from actionkit.officials.services import SourceError, find_divisions

JULY_18 = dt.date(2025, 7, 18)
SUBSET = ("28047", "28049", "28075", "28095", "28131")  # Harrison, Hinds, Lauderdale, Monroe, Stone
HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA", "ADDENDUM"]
HARRISON_SO = "Harrison County Sheriff's Office"


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table in the database (reflected, not the models), to prove a failed load changed nothing."""
    tables = sa.MetaData()
    tables.reflect(bind=db.session.connection())
    return {t.name: [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables.sorted_tables}


@pytest.fixture
def seats(app, shared_data, tmp_path):
    """Sheriff seats of the counties the sheets mention (rows of the real county list), committed."""
    lines = (shared_data / "counties" / "ms_counties_fips_seats.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "ms_counties_subset.csv"
    path.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split(",")[2] in SUBSET]) + "\n")
    counties.load(path, "ms", ImportContext(as_of=dt.date(2026, 1, 1)))
    db.session.commit()
    return shared_data / "ice-287g"


def load(path: Path, as_of: dt.date | None = None):
    return ice287g.load(path, "ms", ImportContext(as_of=as_of))


def sheriff_of(county: str) -> Office:
    return find_divisions(county)[0].offices[0]


def agreements() -> list[Agreement287g]:
    return list(db.session.scalars(sa.select(Agreement287g).order_by(Agreement287g.id)))


def write_csv(folder: Path, name: str, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def ms_row(agency: str, county: str, support: str, signed: str = "") -> list[str]:
    return ["MISSISSIPPI", agency, "County", county, support, signed, "link pending", ""]


def load_real_sheets(folder: Path) -> tuple:
    participating = load(folder / "participatingAgencies07182025pm.xlsx")
    pending = load(folder / "pendingAgencies07182025pm.xlsx")
    return participating, pending


def test_real_sheets_link_sheriff_seats(seats):
    participating, pending = load_real_sheets(seats)

    assert (participating.created, participating.updated, participating.unchanged) == (7, 0, 0)
    assert (pending.created, pending.updated, pending.unchanged, pending.problems) == (1, 0, 0, [])
    linked = {county: [(a.support_type, a.status.value, a.signed_on) for a in
                       sorted(sheriff_of(county).agreements, key=lambda a: a.support_type)]
              for county in ("Harrison", "Monroe", "Stone", "Lauderdale", "Hinds")}
    assert linked == {
        "Harrison": [("Jail Enforcement Model", "participating", dt.date(2025, 6, 30)),
                     ("Warrant Service Officer", "participating", dt.date(2025, 7, 2))],
        "Monroe": [("Jail Enforcement Model", "participating", dt.date(2025, 6, 12))],
        "Stone": [("Jail Enforcement Model", "participating", dt.date(2025, 7, 7)),
                  ("Task Force Model", "participating", dt.date(2025, 7, 7)),
                  ("Warrant Service Officer", "participating", dt.date(2025, 7, 7))],
        "Lauderdale": [("Warrant Service Officer", "pending", None)],
        "Hinds": [],
    }
    assert f"{HARRISON_SO}: Jail Enforcement Model signed 2025-06-30" in participating.changes
    assert "Lauderdale County Sheriff's Office: Warrant Service Officer pending" in pending.changes

    [ag] = [a for a in agreements() if a.office_id is None]
    assert (ag.agency, ag.agency_type, ag.county, ag.support_type) == (
        "Mississippi Attorney General's Office", "State Agency", None, "Task Force Model")
    assert ag.moa_url == "https://www.ice.gov/doclib/287gMOA/MississippiAttorneyGeneralsOffice_TFM_MOA_03.17.2025.pdf"
    assert participating.problems == [
        "participatingAgencies07182025pm.xlsx:472: Mississippi Attorney General's Office, Task Force Model: "
        "no attorney general seat in the directory; stored without a seat"]
    assert {(a.moa_url, a.as_of, a.source) for a in agreements() if a.office_id} == {(None, JULY_18, "ice_287g")}

    again = load_real_sheets(seats)
    assert [(r.created, r.updated, r.unchanged, r.changes) for r in again] == [(0, 0, 7, []), (0, 0, 1, [])]
    assert len(agreements()) == 8


def test_describe_287g(seats):
    load_real_sheets(seats)
    assert ice287g.describe_287g(sheriff_of("Harrison")) == (
        f"{HARRISON_SO}: 287(g) Jail Enforcement Model agreement, signed 2025-06-30; "
        "Warrant Service Officer agreement, signed 2025-07-02")
    assert ice287g.describe_287g(sheriff_of("Lauderdale")) == (
        "Lauderdale County Sheriff's Office: 287(g) Warrant Service Officer agreement pending")
    assert ice287g.describe_287g(sheriff_of("Hinds")) is None
    assert len(ice287g.status_for_office(sheriff_of("Stone"))) == 3


def test_sync_of_real_folders(app, shared_data):
    """The whole county list, then the ICE folder: the xlsx files load, the derived _MS.csv files do not."""
    reports, errors = run_sync(shared_data / "counties", "ms")
    assert errors == [] and reports[0].created == 82
    folder = shared_data / "ice-287g"
    assert [p.name for _, p in discover(folder)] == [
        "participatingAgencies07182025pm.xlsx", "pendingAgencies07182025pm.xlsx"]

    reports, errors = run_sync(folder, "ms")
    assert errors == []
    assert [(r.created, len(r.problems)) for r in reports] == [(7, 1), (1, 0)]
    runs = db.session.scalars(sa.select(SyncRun).where(SyncRun.source == "ice_287g")).all()
    assert [r.as_of for r in runs] == [JULY_18, JULY_18]
    assert sum(1 for a in agreements() if a.office_id) == 7

    reports, errors = run_sync(folder, "ms")
    assert [(r.created, r.updated, r.unchanged) for r in reports] == [(0, 0, 7), (0, 0, 1)]
    assert len(agreements()) == 8


def test_pending_agreement_that_becomes_participating_is_updated(seats, tmp_path):
    load_real_sheets(seats)
    [pending] = [a for a in agreements() if a.status is AgreementStatus.PENDING]
    new = tmp_path / "aug"
    rows = [ms_row(HARRISON_SO, "Harrison County", "Jail Enforcement Model", "2025-06-30"),
            ms_row(HARRISON_SO, "Harrison County", "Warrant Service Officer", "2025-07-02"),
            ms_row("Lauderdale County Sheriff's Office", "Lauderdale County", "Warrant Service Officer", "7/28/2025")]
    report = load(write_csv(new, "participatingAgencies08012025.csv", rows))

    assert (report.created, report.updated, report.unchanged) == (0, 6, 2)  # Lauderdale; AG, Monroe, Stone x3 ended
    assert ("Lauderdale County Sheriff's Office: Warrant Service Officer: now participating, signed 2025-07-28"
            in report.changes)
    db.session.refresh(pending)
    assert (pending.status, pending.signed_on, pending.as_of) == (
        AgreementStatus.PARTICIPATING, dt.date(2025, 7, 28), dt.date(2025, 8, 1))

    empty = load(write_csv(new, "pendingAgencies08012025.csv", [], HEADER[:5]))
    assert (empty.created, empty.updated, empty.unchanged) == (0, 0, 0)
    assert len(agreements()) == 8


def test_agreement_no_longer_listed_is_ended_not_deleted(seats, tmp_path):
    load_real_sheets(seats)
    rows = [ms_row(HARRISON_SO, "Harrison County", "Jail Enforcement Model", "2025-06-30")]
    report = load(write_csv(tmp_path / "aug", "participatingAgencies08012025.csv", rows))

    assert (report.updated, report.unchanged) == (6, 1)
    assert "Monroe County Sheriff's Office: Jail Enforcement Model no longer on ICE's participating list " \
           "(ended as of 2025-08-01)" in report.changes
    assert len(agreements()) == 8
    monroe = sheriff_of("Monroe")
    assert [a.ended_on for a in monroe.agreements] == [dt.date(2025, 8, 1)]
    assert ice287g.describe_287g(monroe) is None
    assert ice287g.describe_287g(sheriff_of("Lauderdale")) is not None  # the pending list was not touched


def test_header_below_title_rows_mixed_case_and_date_kinds(seats, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["287(g) Participating Agencies"])
    ws.append([])
    ws.append([" state", "Law Enforcement  Agency", "type", "County ", "Support Type", "Signed", "MOA", "Addendum"])
    ws.append(["ALABAMA", "Some County Sheriff's Office", "County", "Some County", "Task Force Model", "x", "", ""])
    ws.append(["Mississippi", HARRISON_SO, "County", "Harrison County", "Jail Enforcement Model",
               dt.date(2025, 6, 30), "https://www.ice.gov/example-moa.pdf", None])
    ws.append(["MISSISSIPPI ", "Harrison County Sheriff\u2019s Office", "County", "Harrison County",
               "Warrant Service Officer", "07/02/2025", "link pending", None])
    ws.append(["MISSISSIPPI", "Stone County Sheriff's Office", "County", "#N/A", "Task Force Model",
               dt.datetime(2025, 7, 7), "link pending", None])
    ws.append(["MISSISSIPPI", "Monroe County Sheriff's Office", "County", "Monroe County", "Jail Enforcement Model",
               "soon", "link pending", None])
    path = tmp_path / "participatingAgencies09012025.xlsx"
    wb.save(path)

    assert detect(path) is ice287g
    report = load(path)
    assert report.created == 4
    assert report.problems == ["participatingAgencies09012025.xlsx: line 8: Monroe County Sheriff's Office, "
                               "Jail Enforcement Model: SIGNED 'soon' is not a date"]
    got = {(a.agency, a.support_type): (a.signed_on, a.moa_url, a.office_id) for a in agreements()}
    assert got == {
        (HARRISON_SO, "Jail Enforcement Model"): (dt.date(2025, 6, 30), "https://www.ice.gov/example-moa.pdf",
                                                 sheriff_of("Harrison").id),
        (HARRISON_SO, "Warrant Service Officer"): (dt.date(2025, 7, 2), None, sheriff_of("Harrison").id),
        ("Stone County Sheriff's Office", "Task Force Model"): (dt.date(2025, 7, 7), None, sheriff_of("Stone").id),
        ("Monroe County Sheriff's Office", "Jail Enforcement Model"): (None, None, sheriff_of("Monroe").id),
    }
    assert {a.as_of for a in agreements()} == {dt.date(2025, 9, 1)}


def test_xlsx_with_unknown_headers_raises_and_changes_nothing(seats, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["State", "Agency Name", "Type", "County", "Model", "Signed"])
    wb.active.append(["MISSISSIPPI", HARRISON_SO, "County", "Harrison County", "Jail Enforcement Model", "2025-06-30"])
    folder = tmp_path / "ice"
    folder.mkdir()
    path = folder / "participatingAgencies10012025.xlsx"
    wb.save(path)

    with pytest.raises(SourceError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: no header row with LAW ENFORCEMENT AGENCY, SUPPORT TYPE ")
    db.session.rollback()

    before = db_snapshot()
    reports, errors = run_sync(folder, "ms")
    assert reports == [] and len(errors) == 1 and str(path) in errors[0]
    assert db_snapshot() == before


def test_state_row_without_agency_names_the_line(seats, tmp_path):
    path = write_csv(tmp_path / "x", "participatingAgencies08012025.csv",
                     [ms_row(HARRISON_SO, "Harrison County", "Jail Enforcement Model", "2025-06-30"),
                      ms_row("", "Stone County", "Task Force Model", "2025-07-07")])
    with pytest.raises(SourceError) as err:
        load(path)
    assert (err.value.path, err.value.line) == (str(path), 3)


def test_status_and_date_without_ice_file_name(seats, tmp_path):
    pending_cols = write_csv(tmp_path / "a", "ice_ms.csv",
                             [ms_row("Lauderdale County Sheriff's Office", "Lauderdale County",
                                     "Warrant Service Officer")[:5]], HEADER[:5])
    assert detect(pending_cols) is ice287g
    load(pending_cols, as_of=dt.date(2025, 9, 9))
    [a] = agreements()
    assert (a.status, a.as_of) == (AgreementStatus.PENDING, dt.date(2025, 9, 9))

    assert ice287g.parse(write_csv(tmp_path / "b", "ice_ms.csv", []), "ms").status is AgreementStatus.PARTICIPATING
    assert ice287g.date_from_name(Path("participatingAgencies07182025pm.xlsx")) == JULY_18
    assert ice287g.date_from_name(Path("ice_ms.csv")) is None


def test_select_prefers_xlsx_and_orders_by_date_then_status():
    a, b = Path("/d/a"), Path("/d/b")
    paths = [a / "pendingAgencies07182025pm.xlsx", a / "pendingAgencies07182025pm_MS.csv",
             a / "participatingAgencies07182025pm_MS.csv", a / "participatingAgencies07182025pm.xlsx",
             b / "participatingAgencies07182025pm_MS.csv", a / "participatingAgencies12012024.xlsx"]
    assert ice287g.select(paths) == [
        a / "participatingAgencies12012024.xlsx", a / "participatingAgencies07182025pm.xlsx",
        b / "participatingAgencies07182025pm_MS.csv", a / "pendingAgencies07182025pm.xlsx"]


def test_attorney_generals_agreement_is_shown_on_the_ag_office(seats, shared_data):
    """The MS Attorney General's Office itself holds a Task Force Model agreement: with the statewide officials
    loaded, ICE's row links to the attorney general's seat and `officials show` lists it there."""
    from actionkit.officials.importers import executive
    from actionkit.officials.models import OfficeType
    from actionkit.officials.services import describe_division

    executive.load(shared_data / "openstates-ms" / "executive", "ms", ImportContext(as_of=dt.date(2026, 8, 5)))
    participating, _ = load_real_sheets(seats)
    assert participating.problems == []
    [ag] = [a for a in agreements() if a.agency == "Mississippi Attorney General's Office"]
    assert ag.office.type is OfficeType.ATTORNEY_GENERAL and ag.office.holder.name == "Lynn Fitch"
    assert ice287g.describe_287g(ag.office) == (
        "Mississippi Attorney General's Office: 287(g) Task Force Model agreement, signed 2025-03-17")
    [state] = find_divisions("ocd-division/country:us/state:ms")
    shown = {o["type"]: o["agreements_287g"] for o in describe_division(state)["offices"]}
    assert shown["attorney_general"] == [{"agency": "Mississippi Attorney General's Office",
                                          "support_type": "Task Force Model", "status": "participating",
                                          "signed_on": dt.date(2025, 3, 17), "as_of": JULY_18}]
    assert shown["governor"] == []
