"""County list -> one county division and one sheriff seat per county (the seat exists before its holder is known).

Reads our county CSV (state_fips, county_fips, county_name[, geoid, county_seats]) or the Census codes file
(`st28_ms_cou2020.txt` / `national_county2020.txt`, pipe-delimited STATE|STATEFP|COUNTYFP|COUNTYNS|COUNTYNAME|…).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from actionkit.officials.importers import ImportContext
from actionkit.officials.models import OfficeType
from actionkit.officials.services import (
    STATE_FIPS, DivisionRecord, OfficeRecord, SourceError, SyncReport, apply_office, ensure_division,
)

KIND = "counties"
ORDER = 10

CSV_REQUIRED = ("state_fips", "county_fips", "county_name")
CENSUS_REQUIRED = ("STATEFP", "COUNTYFP", "COUNTYNAME")


@dataclass
class County:
    geoid: str
    name: str
    line: int


def sniff(path: Path, head: str) -> bool:
    """Our county CSV or a Census codes file; claimed on a partial header too, so a broken one is reported."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    if path.suffix.lower() == ".csv":
        cols = {c.strip().strip('"').lower() for c in first.split(",")}
        if cols & {"sheriff_name", "zip", "zcta", "zcta5"}:
            return False
        return len(cols & set(CSV_REQUIRED)) >= 2
    if path.suffix.lower() == ".txt":
        return first.upper().startswith("STATE|STATEFP|COUNTYFP|")
    return False


def read_text(path: Path) -> str:
    """Decode a downloaded text file: UTF-8 (with or without BOM), else Latin-1 as older Census files use."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse(path: Path, state: str) -> list[County]:
    """Every county of `state` in the file, validated; raise SourceError on a malformed header or row."""
    text = read_text(path)
    census = text.lstrip().upper().startswith("STATE|")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="|" if census else ",")
    header = next(reader, None)
    if header is None:
        raise SourceError("empty file", path=str(path))
    if census:
        cols = {h.strip().upper(): i for i, h in enumerate(header)}
        required, st_col, co_col, name_col, geoid_col = CENSUS_REQUIRED, "STATEFP", "COUNTYFP", "COUNTYNAME", None
    else:
        cols = {h.strip().lower(): i for i, h in enumerate(header)}
        required, st_col, co_col, name_col = CSV_REQUIRED, "state_fips", "county_fips", "county_name"
        geoid_col = "geoid"
    missing = [c for c in required if c not in cols]
    if missing:
        raise SourceError(f"missing column(s) {', '.join(missing)}", path=str(path))

    want = STATE_FIPS[state]
    counties: list[County] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str | None) -> str:
            i = cols.get(name) if name else None
            return row[i].strip() if i is not None and i < len(row) else ""

        st, co, name = cell(st_col), cell(co_col), cell(name_col)
        if not (st.isdigit() and len(st) <= 2):
            raise SourceError(f"state FIPS {st!r} is not a 2-digit number", path=str(path), line=line)
        if not (co.isdigit() and len(co) <= 3):
            raise SourceError(f"county FIPS {co!r} is not a 3-digit number", path=str(path), line=line)
        if st.zfill(2) != want:
            continue
        if not name:
            raise SourceError("empty county name", path=str(path), line=line)
        geoid = st.zfill(2) + co.zfill(3)
        given = cell(geoid_col)
        if given and given.zfill(5) != geoid:
            raise SourceError(f"geoid {given} does not match state/county FIPS {geoid}", path=str(path), line=line)
        if geoid in seen:
            raise SourceError(f"county {geoid} listed twice (first on line {seen[geoid]})", path=str(path), line=line)
        seen[geoid] = line
        counties.append(County(geoid, name, line))
    return counties


def sheriff_record(state: str, county: County) -> OfficeRecord:
    """The sheriff seat of one county, holder unknown (contact left to the sheriffs CSV and staff)."""
    division = DivisionRecord.for_county(state, county.name, county.geoid)
    return OfficeRecord(type=OfficeType.SHERIFF, division=division, title=f"Sheriff of {division.name}")


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Create the state, its counties and their sheriff seats; never touches holders or contact details."""
    counties = parse(path, state)
    as_of = ctx.date_for(path)
    report = SyncReport(KIND)
    if not counties:
        report.problems.append(f"{path.name}: no counties for {state.upper()} in this file")
        return report
    ensure_division(DivisionRecord.for_state(state), KIND, as_of)
    for county in ctx.progress(counties, len(counties), f"{KIND} {state.upper()}"):
        apply_office(sheriff_record(state, county), KIND, as_of, report, vacate_when_empty=False)
    return report
