"""The statewide executives importer on the real Open States executive files in shared/data."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from actionkit.extensions import db
from actionkit.officials.importers import ImportContext, detect, executive
from actionkit.officials.models import Division, DivisionType, Office, OfficeType, Official
from actionkit.officials.services import SourceError

AS_OF = dt.date(2026, 8, 5)
STATE = "ocd-division/country:us/state:ms"


def _load(path: Path, as_of: dt.date = AS_OF):
    return executive.load(path, "ms", ImportContext(as_of=as_of))


def _offices() -> dict[OfficeType, Office]:
    return {o.type: o for o in db.session.scalars(db.select(Office).join(Division).where(Division.ocd_id == STATE))}


def _copy(shared_data: Path, tmp_path: Path) -> Path:
    target = tmp_path / "openstates-ms" / "executive"
    shutil.copytree(shared_data / "openstates-ms" / "executive", target)
    return target


def test_real_files_load_the_four_statewide_seats(app, shared_data):
    report = _load(shared_data / "openstates-ms" / "executive")
    assert (report.created, report.updated, report.vacated) == (4, 0, 0)
    offices = _offices()
    assert set(offices) == {OfficeType.GOVERNOR, OfficeType.LIEUTENANT_GOVERNOR, OfficeType.ATTORNEY_GENERAL,
                            OfficeType.SECRETARY_OF_STATE}
    assert {o.division.type for o in offices.values()} == {DivisionType.STATE}
    governor = offices[OfficeType.GOVERNOR]
    assert governor.title == "Governor of Mississippi"
    assert (governor.holder.name, governor.holder.party, governor.holder.term_end) == (
        "Tate Reeves", "Republican", dt.date(2028, 1, 11))
    assert (governor.email, governor.phone, governor.fax) == ("governor@govreeves.ms.gov", "601-359-3150",
                                                              "601-359-3741")
    assert governor.postal_address == "P.O. Box 139, Jackson, MS 39205"
    ag = offices[OfficeType.ATTORNEY_GENERAL]
    assert ag.title == "Attorney General of Mississippi" and ag.holder.name == "Lynn Fitch"
    assert ag.email is None and ag.phone == "601-359-3680" and ag.website == "https://www.ago.state.ms.us/"
    assert offices[OfficeType.LIEUTENANT_GOVERNOR].holder.name == "Delbert Hosemann"
    # The secretary of state's file says his role ended 2021-12-31: the seat and its capitol office are kept,
    # nobody is guessed to hold it, and the report says so.
    sos = offices[OfficeType.SECRETARY_OF_STATE]
    assert sos.holder is None and sos.email is None
    assert (sos.phone, sos.postal_address) == ("601-359-1350", "125 S. Congress St., Jackson, MS 39201")
    assert report.problems == [
        "Michael-Watson-a9b2b93d-b993-4a20-af9e-3e9e2c9cd770.yml: Michael Watson's Secretary of State of "
        "Mississippi role ended 2021-12-31 per the source; the seat is kept with no holder until the source or "
        "staff confirm who holds it"]

    again = _load(shared_data / "openstates-ms" / "executive", dt.date(2026, 9, 1))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_new_governor_keeps_the_old_one_in_history(app, shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    _load(folder)
    (folder / "Tate-Reeves-3c19275b-6e87-43fa-83fa-ced52c9119bf.yml").unlink()
    (folder / "Pat-Example-00000000-0000-0000-0000-000000000001.yml").write_text(
        "id: ocd-person/00000000-0000-0000-0000-000000000001\nname: Pat Example\nroles:\n"
        "- start_date: '2028-01-11'\n  type: governor\n"
        "  jurisdiction: ocd-jurisdiction/country:us/state:ms/government\n")
    report = _load(folder, dt.date(2028, 1, 12))
    assert "Governor of Mississippi: new holder Pat Example (was Tate Reeves)" in report.changes
    governor = _offices()[OfficeType.GOVERNOR]
    assert governor.holder.name == "Pat Example"
    assert [(o.name, o.left_on) for o in governor.officials] == [("Tate Reeves", dt.date(2028, 1, 12)),
                                                                  ("Pat Example", None)]
    assert governor.email == "governor@govreeves.ms.gov"  # a file without an email keeps the seat's


def test_file_without_an_executive_role_fails_the_folder(app, shared_data, tmp_path):
    folder = _copy(shared_data, tmp_path)
    (folder / "Someone-x.yml").write_text("id: ocd-person/x\nname: Some One\nroles:\n- type: upper\n  district: '1'\n")
    with pytest.raises(SourceError, match="Someone-x.yml: no governor, lieutenant governor"):
        _load(folder)
    assert db.session.scalar(db.select(db.func.count(Official.id))) == 0


def test_sniff(shared_data):
    assert detect(shared_data / "openstates-ms" / "executive") is executive
    assert detect(shared_data / "openstates-ms" / "legislature") is not executive


def test_cli_show_lists_the_statewide_officials(app, shared_data):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["officials", "sync", "--state", "MS", "--from",
                                 str(shared_data / "openstates-ms" / "executive")])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["officials", "show", STATE])
    assert shown.exit_code == 0, shown.output
    for line in ("Governor of Mississippi", "Tate Reeves", "Lieutenant Governor of Mississippi",
                 "Delbert Hosemann", "Attorney General of Mississippi", "Lynn Fitch",
                 "Secretary of State of Mississippi"):
        assert line in shown.output
