"""ZIP crosswalks -> ZipDivision rows (ZIP -> candidate county / congressional district) for the offline fallback.

Two real formats:
- zccd CSV (OpenSourceActivismTech us-zipcodes-congress): `state_fips,state_abbr,zcta,cd`, one row per ZCTA-CD
  pair, so a ZIP in two districts has two rows (39201 -> CD 2 and CD 3). When one folder holds the national file
  and a state subset, select() keeps the subset.
- zipcodes (PyPI `zipcodes`) JSON: a list of `{zip_code, state, county: "Hinds County", active, ...}`, one primary
  county per ZIP ("DeSoto County" and "Desoto County" both occur and name the same county).
Rows are derived data, not history: a re-run adds new links and removes links the source no longer lists.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from actionkit.extensions import db
from actionkit.officials.importers import ImportContext
from actionkit.officials.models import Division, DivisionType, ZipDivision
from actionkit.officials.services import (
    STATE_FIPS, DivisionRecord, SourceError, SyncReport, ensure_division,
)

KIND = "zips"
ORDER = 70

ZCCD = "zccd"
ZIPCODES = "zipcodes"
ZCCD_COLUMNS = ("state_fips", "state_abbr", "zcta", "cd")
_NATIONAL = re.compile(r"national", re.I)


def kind_of(path: Path, head: str) -> str | None:
    """ZCCD or ZIPCODES by content (header / first record), or None."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        first = head.lstrip("\ufeff").split("\n", 1)[0]
        cols = tuple(c.strip().strip('"').lower() for c in first.split(","))
        return ZCCD if cols == ZCCD_COLUMNS else None
    if suffix == ".json":
        text = head.lstrip("\ufeff").lstrip()
        if text.startswith("[") and '"zip_code"' in head and '"county"' in head:
            return ZIPCODES
    return None


def sniff(path: Path, head: str) -> bool:
    return kind_of(path, head) is not None


def select(paths: list[Path]) -> list[Path]:
    """Prefer a state subset over the national file of the same format in the same folder."""
    kinds = {p: kind_of(p, _head(p)) for p in paths}
    kept = []
    for path in paths:
        same = [p for p in paths if p != path and p.parent == path.parent and kinds[p] == kinds[path]]
        if _NATIONAL.search(path.stem) and any(not _NATIONAL.search(p.stem) for p in same):
            continue
        kept.append(path)
    return kept


def _head(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.read(4096).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ZipLink:
    """One ZIP -> division pair read from a source, before anything touches the database."""

    zip: str
    division: DivisionRecord
    line: int


def parse_zccd(path: Path, state: str) -> list[ZipLink]:
    """ZCTA -> CD pairs of `state`; raise SourceError naming the line for a malformed row."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = tuple(c.strip().lower() for c in next(reader, []))
    if header != ZCCD_COLUMNS:
        raise SourceError(f"expected header {','.join(ZCCD_COLUMNS)}", path=str(path), line=1)
    fips = STATE_FIPS[state]
    links: list[ZipLink] = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != 4:
            raise SourceError(f"expected 4 fields, found {len(row)}", path=str(path), line=line)
        st, abbr, zcta, cd = (c.strip() for c in row)
        if not (st.isdigit() and len(st) <= 2):
            raise SourceError(f"state_fips {st!r} is not a FIPS code", path=str(path), line=line)
        if st.zfill(2) != fips and abbr.lower() != state:
            continue
        if not (zcta.isdigit() and len(zcta) == 5):
            raise SourceError(f"zcta {zcta!r} is not 5 digits", path=str(path), line=line)
        if not cd.isdigit():
            raise SourceError(f"cd {cd!r} is not a district number", path=str(path), line=line)
        links.append(ZipLink(zcta, DivisionRecord.for_district(state, DivisionType.CD, cd), line))
    return links


def parse_zipcodes(path: Path, state: str, problems: list[str]) -> list[ZipLink]:
    """ZIP -> primary county of `state` (active ZIPs only); records without a county go to problems."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"not valid JSON: {exc}", path=str(path)) from None
    if not isinstance(data, list):
        raise SourceError("expected a list of ZIP records", path=str(path))
    links: list[ZipLink] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict) or "zip_code" not in item:
            raise SourceError(f"record {i} has no zip_code", path=str(path))
        if str(item.get("state", "")).strip().lower() != state or item.get("active") is False:
            continue
        zip_code = str(item["zip_code"]).strip()
        if not (zip_code.isdigit() and len(zip_code) == 5):
            raise SourceError(f"record {i}: zip_code {zip_code!r} is not 5 digits", path=str(path))
        county = str(item.get("county") or "").strip()
        if not county:
            problems.append(f"{zip_code}: no county in {path.name}")
            continue
        links.append(ZipLink(zip_code, DivisionRecord.for_county(state, county), i))
    return links


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Replace this source's ZIP links for the state with the file's; unchanged links are left alone."""
    report = SyncReport(KIND)
    source = kind_of(path, _head(path))
    if source is None:
        raise SourceError("not a ZIP crosswalk", path=str(path))
    links = parse_zccd(path, state) if source == ZCCD else parse_zipcodes(path, state, report.problems)
    if not links:
        report.problems.append(f"{path.name}: no {state.upper()} ZIPs")
        return report
    as_of = ctx.date_for(path)
    divisions = {d.ocd_id: d for d in db.session.scalars(db.select(Division).where(Division.state == state))}
    wanted: set[tuple[str, int]] = set()
    for link in ctx.progress(links, len(links), f"{KIND} {source}"):
        division = divisions.get(link.division.ocd_id)
        if division is None:
            division = divisions[link.division.ocd_id] = ensure_division(link.division, KIND, as_of)[0]
        wanted.add((link.zip, division.id))

    existing = {(row.zip, row.division_id): row for row in db.session.scalars(
        db.select(ZipDivision).join(Division).where(ZipDivision.source == source, Division.state == state))}
    names = {d.id: d.name for d in divisions.values()}
    for key in sorted(wanted - existing.keys()):
        db.session.add(ZipDivision(zip=key[0], division_id=key[1], source=source))
        report.created += 1
    report.unchanged += len(wanted & existing.keys())
    for key in sorted(existing.keys() - wanted):
        db.session.delete(existing[key])
        report.updated += 1
        report.changes.append(f"ZIP {key[0]}: no longer linked to {names.get(key[1], 'division %d' % key[1])}")
    if report.created:
        report.changes.append(f"{report.created} ZIP links added from {path.name}")
    db.session.flush()
    return report
