"""Staff-maintained police chiefs CSV (format in docs/police-chiefs-csv.md) -> city police chief seats, their
holders and contact details.

No public directory of municipal police chiefs exists. Each row names a Census incorporated place by its GEOID
(the id the geocoder's "Incorporated Places" layer returns), so a supporter inside that city or town matches
its chief. A file with any bad row loads nothing, and the error lists every bad row.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from actionkit.extensions import db
from actionkit.officials import validation
from actionkit.officials.importers import ImportContext
from actionkit.officials.importers.sheriffs import _read, name_key
from actionkit.officials.models import Division, DivisionType, Office, OfficeType
from actionkit.officials.services import (
    CONTACT_FIELDS, STATE_FIPS, STATE_NAMES, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport,
    apply_office, find_office,
)

KIND = "police_chiefs"
ORDER = 25  # before the 287(g) sheets, so a police department's agreement finds its seat

COLUMNS = ("place_geoid", "place", "chief_name", "email", "phone", "fax", "address", "website", "web_form_url",
           "source_url", "verified_at")
CONTACT_COLUMNS = {"email": "email", "phone": "phone", "fax": "fax", "address": "postal_address",
                   "website": "website", "web_form_url": "web_form_url"}


def sniff(path: Path, head: str) -> bool:
    """A CSV whose header has a chief_name column."""
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    return path.suffix.lower() == ".csv" and "chief_name" in {c.strip().lower() for c in first.split(",")}


def title_for(place: str) -> str:
    return f"Chief of Police of {place}"


@dataclass
class Row:
    """One parsed row: the place (existing or new) and what the file says about its police chief."""

    line: int
    division: DivisionRecord
    office: Optional[Office]  # None: the seat is created by loading
    chief_name: str
    contact: dict[str, Optional[str]]
    source_url: Optional[str]
    verified_at: Optional[dt.date]

    def holder(self) -> Optional[HolderRecord]:
        if not self.chief_name:
            return None
        return HolderRecord(person_key=f"police_chief:{self.division.geoid}:{name_key(self.chief_name)}",
                            name=self.chief_name, source_url=self.source_url)

    def record(self) -> OfficeRecord:
        return OfficeRecord(type=OfficeType.POLICE_CHIEF, division=self.division,
                            title=title_for(self.division.name), contact=dict(self.contact), holder=self.holder(),
                            source_url=self.source_url)


@dataclass
class Parsed:
    rows: list[Row]
    errors: list[tuple[int, str]]
    unknown_columns: list[str]


def _geoid(value: str, state: str) -> Optional[str]:
    """A 7-digit place GEOID from '2836000', or the state's place from the 5-digit place code '36000'."""
    v = value.strip()
    if not v.isdigit() or len(v) not in (4, 5, 6, 7):
        return None
    geoid = v.zfill(7) if len(v) > 5 else STATE_FIPS[state] + v.zfill(5)
    return geoid if geoid[:2] == STATE_FIPS[state] else None


def _places(state: str) -> dict[str, Division]:
    return {d.geoid: d for d in db.session.scalars(
        db.select(Division).where(Division.state == state, Division.type == DivisionType.PLACE)) if d.geoid}


# CSV column -> the field whose rule (officials/validation.py, shared with the staff edit form) checks it.
CHECKED_COLUMNS = {**CONTACT_COLUMNS, "chief_name": "name", "source_url": "source_url"}


def _check(values: dict[str, str]) -> Optional[str]:
    """The first refused column of a row, by the same rules as the staff edit form and the sheriffs CSV."""
    for column, field_name in CHECKED_COLUMNS.items():
        try:
            validation.clean(field_name, values.get(column))
        except validation.Invalid as exc:
            return f"{column} {exc}"
    return None


def parse(path: Path, state: str) -> Parsed:
    """Read and check every row; per-row problems are collected (not raised) so all can be shown at once."""
    reader = csv.DictReader(_read(path))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if not header:
        raise SourceError("empty file (a header row is required)", path=str(path))
    missing = [c for c in ("place_geoid", "place", "chief_name") if c not in header]
    if missing:
        raise SourceError(f"missing column(s) {', '.join(missing)}", path=str(path))
    unknown = [h for h in header if h and h not in COLUMNS]
    known = _places(state)
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in raw.items() if k in COLUMNS and isinstance(v, str)}
        if not any(values.values()):
            continue
        fips, name = values.get("place_geoid", ""), re.sub(r"\s+", " ", values.get("place", ""))
        geoid = _geoid(fips, state) if fips else None
        if not fips:
            errors.append((line, "place_geoid is required (the Census GEOID of the city or town, e.g. 2836000)"))
            continue
        if geoid is None:
            errors.append((line, f"place_geoid {fips!r} is not a {STATE_NAMES[state]} Census place GEOID "
                                 f"(7 digits starting {STATE_FIPS[state]}, or the 5-digit place code)"))
            continue
        if not name:
            errors.append((line, "place (the city or town's name) is required"))
            continue
        record = DivisionRecord.for_place(state, name, geoid)
        existing = known.get(geoid)
        if existing is not None and existing.name.casefold() != record.name.casefold():
            errors.append((line, f"place_geoid {geoid} is {existing.name} in the directory, not {name!r}"))
            continue
        if geoid in seen:
            errors.append((line, f"{record.name} ({geoid}) already given on line {seen[geoid]}"))
            continue
        seen[geoid] = line
        problem = _check(values)
        if problem:
            errors.append((line, problem))
            continue
        verified_at = None
        if values.get("verified_at"):
            try:
                verified_at = dt.date.fromisoformat(values["verified_at"])
            except ValueError:
                errors.append((line, f"verified_at {values['verified_at']!r} is not a date (YYYY-MM-DD)"))
                continue
        if existing is not None:
            record = DivisionRecord(existing.ocd_id, existing.name, DivisionType.PLACE, state, geoid)
        rows.append(Row(
            line=line, division=record,
            office=find_office(existing, OfficeType.POLICE_CHIEF) if existing is not None else None,
            chief_name=re.sub(r"\s+", " ", values.get("chief_name", "")),
            contact={attr: values.get(col) or None for col, attr in CONTACT_COLUMNS.items()},
            source_url=values.get("source_url") or None, verified_at=verified_at,
        ))
    return Parsed(rows, errors, unknown)


def _raise_for(path: Path, errors: list[tuple[int, str]]) -> None:
    if not errors:
        return
    if len(errors) == 1:
        line, msg = errors[0]
        raise SourceError(msg + "; nothing was loaded", path=str(path), line=line)
    listing = "; ".join(f"line {line}: {msg}" for line, msg in errors)
    raise SourceError(f"{len(errors)} rows rejected, nothing was loaded: {listing}", path=str(path))


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Create the places' police chief seats as needed and set holders and contacts row by row."""
    parsed = parse(path, state)
    _raise_for(path, parsed.errors)
    report = SyncReport(KIND)
    if parsed.unknown_columns:
        report.problems.append(f"{path.name}: ignored unknown column(s) {', '.join(parsed.unknown_columns)}")
    default_as_of = ctx.date_for(path)
    for row in ctx.progress(parsed.rows, len(parsed.rows), f"{KIND} {state.upper()}"):
        apply_office(row.record(), KIND, row.verified_at or default_as_of, report, vacate_when_empty=True)
    return report


def preview(path: Path, state: str) -> list[dict[str, Any]]:
    """What loading the file would change, row by row, without writing anything (the staff upload page)."""
    parsed = parse(path, state)
    out: list[dict[str, Any]] = [{"line": line, "error": msg} for line, msg in parsed.errors]
    for row in parsed.rows:
        office, new = row.office, row.holder()
        current = office.holder if office is not None else None
        entry: dict[str, Any] = {
            "line": row.line, "office_id": office.id if office else None, "title": title_for(row.division.name),
            "geoid": row.division.geoid, "current_holder": current.name if current else None,
            "new_holder": new.name if new else None,
        }
        contact = {attr: (getattr(office, attr) if office else None, value) for attr, value in row.contact.items()
                   if value and attr in CONTACT_FIELDS and (office is None or getattr(office, attr) != value)}
        if office is None:
            action = "create"
        elif new is None:
            action = "vacate" if current is not None and current.source == KIND else "none"
        elif current is None:
            action = "fill"
        elif current.person_key != new.person_key:
            action = "replace"
        elif current.name != new.name:
            action = "rename"
        else:
            action = "none"
        entry["action"] = action
        entry["contact_changes"] = contact
        entry["changed"] = action != "none" or bool(contact)
        out.append(entry)
    return sorted(out, key=lambda e: e["line"])
