"""Sheriffs CSV importer: holders and contact details, history kept, all-or-nothing on unmatched rows.

Names and contact details here are placeholders (example.org, 555-01xx), not real people's data.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials.cli import run_sync
from actionkit.officials.importers import ImportContext, counties, detect, sheriffs
from actionkit.officials.models import Office, Official
from actionkit.officials.services import SourceError, find_divisions
from tests.officials.test_validation import BAD_VALUES

from actionkit.staff.models import Role
from tests.staff.helpers import login_as

REPO = Path(__file__).resolve().parent.parent.parent
HEADER = "county_fips,county,sheriff_name,email,phone,fax,address,website,source_url,verified_at\n"
HINDS = ('28049,,Pat Example,hinds@example.org,555-0100,555-0101,"1 Example St, Jackson, MS",,'
         "https://example.org/a,2026-01-10\n")
HARRISON = ",harrison county,Sam Sample,harrison@example.org,555-0110,,,https://example.org/h,,\n"


SUBSET = ("28033", "28047", "28049", "28075")  # DeSoto, Harrison, Hinds, Lauderdale


def county_subset(shared_data: Path, folder: Path) -> Path:
    """Rows of the real county list for a few counties (loading all 82 is what test_counties checks)."""
    lines = (shared_data / "counties" / "ms_counties_fips_seats.csv").read_text(encoding="utf-8").splitlines()
    path = folder / "ms_counties_subset.csv"
    path.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split(",")[2] in SUBSET]) + "\n")
    return path


@pytest.fixture
def county_seats(app, shared_data, tmp_path):
    """Sheriff seats of a few real counties, committed like a previous sync."""
    report = counties.load(county_subset(shared_data, tmp_path), "ms", ImportContext(as_of=dt.date(2026, 1, 1)))
    assert report.created == len(SUBSET)
    db.session.commit()


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table in the database (reflected, not the models), to prove a failed load changed nothing."""
    tables = sa.MetaData()
    tables.reflect(bind=db.session.connection())
    return {t.name: [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables.sorted_tables}


def sheriff_of(county: str) -> Office:
    return find_divisions(county)[0].offices[0]


def write(tmp_path: Path, text: str, name: str = "sheriffs-ms.csv") -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path):
    return sheriffs.load(path, "ms", ImportContext(as_of=dt.date(2026, 2, 1)))


def test_csv_sets_holders_and_contact(county_seats, tmp_path):
    path = write(tmp_path, HEADER + HINDS + HARRISON)
    assert detect(path) is sheriffs
    report = load(path)
    assert (report.created, report.updated, report.unchanged, report.problems) == (0, 2, 0, [])

    hinds = sheriff_of("Hinds")
    assert (hinds.holder.name, hinds.holder.person_key) == ("Pat Example", "sheriff:28049:pat-example")
    assert (hinds.email, hinds.phone, hinds.fax, hinds.postal_address) == (
        "hinds@example.org", "555-0100", "555-0101", "1 Example St, Jackson, MS")
    assert (hinds.source, hinds.as_of, hinds.source_url) == ("sheriffs", dt.date(2026, 1, 10), "https://example.org/a")
    harrison = sheriff_of("Harrison")
    assert (harrison.holder.name, harrison.website) == ("Sam Sample", "https://example.org/h")
    assert harrison.as_of == dt.date(2026, 2, 1)  # no verified_at: the sync's as-of date

    again = load(path)
    assert (again.updated, again.unchanged) == (0, 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Official)) == 2


def test_changed_email_updates_and_new_name_ends_the_old_holder(county_seats, tmp_path):
    load(write(tmp_path, HEADER + HINDS))
    first = sheriff_of("Hinds").holder

    changed_email = HINDS.replace("hinds@", "sheriff.hinds@")
    report = load(write(tmp_path, HEADER + changed_email))
    assert report.changes == ["Sheriff of Hinds County: email changed"]
    assert sheriff_of("Hinds").holder.id == first.id
    assert sheriff_of("Hinds").email == "sheriff.hinds@example.org"

    new_name = changed_email.replace("Pat Example", "Robin Placeholder").replace("2026-01-10", "2026-03-01")
    report = load(write(tmp_path, HEADER + new_name))
    assert report.changes == ["Sheriff of Hinds County: new holder Robin Placeholder (was Pat Example)"]
    hinds = sheriff_of("Hinds")
    assert hinds.holder.name == "Robin Placeholder"
    assert [(o.name, o.left_on) for o in hinds.officials] == [
        ("Pat Example", dt.date(2026, 3, 1)), ("Robin Placeholder", None)]


def test_same_person_with_initial_keeps_the_record(county_seats, tmp_path):
    load(write(tmp_path, HEADER + HINDS))
    report = load(write(tmp_path, HEADER + HINDS.replace("Pat Example", "Pat  J. Example")))
    assert report.changes == ["Sheriff of Hinds County: Pat J. Example: name changed"]
    assert len(sheriff_of("Hinds").officials) == 1


def test_blank_name_vacates_and_blank_cells_keep_values(county_seats, tmp_path):
    load(write(tmp_path, HEADER + HINDS))
    report = load(write(tmp_path, HEADER + "28049,,,,,,,,,2026-04-01\n"))
    assert report.vacated == 1
    hinds = sheriff_of("Hinds")
    assert hinds.holder is None
    assert hinds.officials[0].left_on == dt.date(2026, 4, 1)
    assert hinds.email == "hinds@example.org"


@pytest.mark.parametrize("key", ["county_fips,county\n049,", "county_fips,county\n49,Hinds", "county\nHINDS",
                                 "county\nHinds County", "county_fips\n28049"])
def test_county_given_by_fips_or_name(county_seats, tmp_path, key):
    header_keys, row_keys = key.split("\n")
    path = write(tmp_path, f"{header_keys},sheriff_name\n{row_keys},Pat Example\n")
    load(path)
    assert sheriff_of("Hinds").holder.name == "Pat Example"


def test_county_names_ignore_spacing(county_seats, tmp_path):
    load(write(tmp_path, "county,sheriff_name\nDe Soto,Pat Example\n"))
    assert sheriff_of("DeSoto").holder.person_key == "sheriff:28033:pat-example"


def test_unknown_county_rejects_the_whole_file(county_seats, tmp_path):
    path = write(tmp_path, HEADER + HINDS + "28999,,Lee Nobody,,,,,,,\n" + ",Atlantis,Lee Nobody,,,,,,,\n")
    with pytest.raises(SourceError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: 2 rows rejected, nothing was loaded")
    assert "line 3: county_fips 28999 matches no Mississippi county" in message
    assert "line 4: county 'Atlantis' matches no Mississippi county" in message
    db.session.rollback()

    before = db_snapshot()
    reports, errors = run_sync(path.parent, "ms")
    assert reports == [] and len(errors) == 1 and str(path) in errors[0]
    assert db_snapshot() == before
    assert sheriff_of("Hinds").holder is None


@pytest.mark.parametrize("text, message, line", [
    ("county,name\nHinds,Pat Example\n", "missing column(s) sheriff_name", None),
    ("sheriff_name,email\nPat Example,x@example.org\n", "missing column(s) county_fips or county", None),
    (HEADER + HINDS + "28049,,Pat Example,,,,,,,\n", "Hinds County already given on line 2", 3),
    (HEADER + "28049,,Pat Example,,,,,,,01/10/2026\n", "verified_at '01/10/2026' is not a date", 2),
    (HEADER + "28049,Harrison,Pat Example,,,,,,,\n", "county 'Harrison' does not match county_fips 28049", 2),
])
def test_malformed_rows_name_file_and_line(county_seats, tmp_path, text, message, line):
    path = write(tmp_path, text)
    with pytest.raises(SourceError) as err:
        load(path)
    assert message in str(err.value)
    assert (err.value.path, err.value.line) == (str(path), line)


def test_without_county_seats_the_error_says_to_load_counties(app, tmp_path):
    with pytest.raises(SourceError, match="no MS sheriff seats yet: load the county list first"):
        load(write(tmp_path, "county,sheriff_name\nHinds,Pat Example\n"))


def test_non_utf8_file_is_refused(county_seats, tmp_path):
    path = tmp_path / "sheriffs.csv"
    path.write_bytes("county,sheriff_name\nHinds,Jos\u00e9 Example\n".encode("cp1252"))
    with pytest.raises(SourceError, match="not UTF-8"):
        load(path)


def test_unknown_columns_are_reported(county_seats, tmp_path):
    report = load(write(tmp_path, "county,sheriff_name,emial\nHinds,Pat Example,x@example.org\n"))
    assert report.problems == ["sheriffs-ms.csv: ignored unknown column(s) emial"]


def test_preview_describes_changes_without_writing(county_seats, tmp_path):
    load(write(tmp_path, HEADER + HINDS))
    db.session.commit()
    text = (HEADER + HINDS.replace("Pat Example", "Robin Placeholder")
            + HARRISON + "28075,,,,,,,,,\n" + ",Atlantis,Lee Nobody,,,,,,,\n")
    path = write(tmp_path, text, "next.csv")
    before = db_snapshot()

    rows = sheriffs.preview(path, "ms")

    assert not db.session.new and not db.session.dirty
    assert db_snapshot() == before
    by_line = {r["line"]: r for r in rows}
    assert by_line[2]["action"] == "replace"
    assert (by_line[2]["current_holder"], by_line[2]["new_holder"]) == ("Pat Example", "Robin Placeholder")
    assert by_line[2]["contact_changes"] == {}
    assert by_line[3]["action"] == "fill" and by_line[3]["contact_changes"]["email"] == (None, "harrison@example.org")
    assert (by_line[4]["action"], by_line[4]["changed"]) == ("none", False)  # Lauderdale: nothing known yet
    assert by_line[5] == {"line": 5, "error": "county 'Atlantis' matches no Mississippi county"}


def test_documented_example_file_loads(county_seats):
    path = REPO / "docs" / "examples" / "sheriffs-ms-example.csv"
    report = load(path)
    assert report.updated == 3
    assert sheriff_of("Harrison").holder.name == "EXAMPLE NAME TWO"
    assert sheriff_of("Lauderdale").phone == "555-0120"


def test_sync_folder_loads_counties_before_sheriffs(app, shared_data, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    county_subset(shared_data, folder)
    (folder / "sheriffs-ms.csv").write_text(HEADER + HINDS, encoding="utf-8")
    reports, errors = run_sync(folder, "ms")
    assert errors == []
    assert [r.source for r in reports] == ["counties", "sheriffs"]
    assert sheriff_of("Hinds").holder.name == "Pat Example"


@pytest.mark.parametrize("column, field, value, reason", BAD_VALUES)
def test_rows_are_checked_like_the_edit_form(county_seats, tmp_path, column, field, value, reason):
    """javascript: links, invalid emails, CR/LF and NUL in names used to be loaded as they were."""
    cells = {"county": "Hinds", "sheriff_name": "Pat Example", column: value}
    columns = list(dict.fromkeys(["county", "sheriff_name", column]))
    row = ",".join('"' + cells[c].replace('"', '""') + '"' for c in columns)
    path = write(tmp_path, ",".join(columns) + "\n" + row + "\n")
    before = db_snapshot()
    with pytest.raises(SourceError) as err:
        load(path)
    assert f"{column} {reason}" in str(err.value) and err.value.line is not None
    assert value not in str(err.value)
    db.session.rollback()
    assert db_snapshot() == before
    assert [f"{column} {reason}" in r.get("error", "") for r in sheriffs.preview(path, "ms")] == [True]


def test_a_field_over_the_csv_modules_limit_is_a_clear_error(county_seats, tmp_path):
    """A 200 KB cell used to raise csv.Error ('field larger than field limit') out of the import: a 500."""
    path = write(tmp_path, HEADER + '28049,,Pat Example,,,,"' + "x" * 200_000 + '",,,\n')
    with pytest.raises(SourceError) as err:
        load(path)
    assert "not valid CSV" in str(err.value) and "nothing was loaded" in str(err.value)
    assert len(str(err.value)) < 500
def test_confidence_and_notes_are_stored_and_shown_to_staff(county_seats, tmp_path, app):
    header = HEADER.rstrip("\n") + ",confidence,notes\n"
    path = write(tmp_path, header + HINDS.rstrip("\n") + ',low,"Name from a 2023 news item; seat may have changed"\n')
    report = load(path)
    assert report.problems == []  # the two columns are known, not "ignored unknown columns"
    hinds = sheriff_of("Hinds")
    assert (hinds.data_confidence, hinds.data_notes) == ("low", "Name from a 2023 news item; seat may have changed")
    db.session.commit()

    client = app.test_client()
    login_as(client, Role.EDITOR)
    page = client.get(f"/staff/officials/{hinds.id}").get_data(as_text=True)
    assert "Source confidence" in page and "seat may have changed" in page


def test_bad_confidence_value_rejects_the_file(county_seats, tmp_path):
    header = HEADER.rstrip("\n") + ",confidence,notes\n"
    path = write(tmp_path, header + HINDS.rstrip("\n") + ",certain,\n")
    with pytest.raises(SourceError, match="confidence 'certain' is not one of high, medium, low"):
        load(path)
    assert sheriff_of("Hinds").data_confidence is None


def test_shared_sheriffs_file_loads_names_confidence_and_notes(app, shared_data):
    folder = shared_data / "sheriffs"
    reports, errors = run_sync(shared_data / "counties", "ms")
    assert not errors
    report = sheriffs.load(folder / "ms_sheriffs.csv", "ms", ImportContext(as_of=dt.date(2026, 2, 1)))
    assert report.problems == []
    offices = db.session.scalars(sa.select(Office).where(Office.type == "sheriff")).all()
    assert len(offices) == 82
    assert sum(1 for o in offices if o.holder is not None) == 80
    assert all(o.data_confidence in ("high", "medium", "low") for o in offices)
