"""Staff-maintained sheriffs CSV (format in docs/sheriffs-csv.md) -> holders and contact details of sheriff seats.

No public dataset of sheriffs exists, so this is our own format. Rows are matched to the sheriff seats the county
list created; a file with any row that cannot be matched is rejected as a whole.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sqlalchemy.orm import selectinload

from actionkit.extensions import db
from actionkit.officials import validation
from actionkit.officials.importers import ImportContext
from actionkit.officials.models import Division, Office, OfficeType
from actionkit.officials.services import (
    CONTACT_FIELDS, STATE_FIPS, STATE_NAMES, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport,
    apply_office,
)

KIND = "sheriffs"
ORDER = 20

COLUMNS = ("county_fips", "county", "sheriff_name", "email", "phone", "fax", "address", "website",
           "source_url", "verified_at", "confidence", "notes")
CONFIDENCE = ("high", "medium", "low")
# CSV column -> Office attribute.
CONTACT_COLUMNS = {"email": "email", "phone": "phone", "fax": "fax", "address": "postal_address",
                   "website": "website"}


def county_key(name: str) -> str:
    """Compare county names loosely: 'DeSoto', 'De Soto County' and 'desoto' are the same county."""
    base = re.sub(r"\s+(county|parish|borough)\s*$", "", name.strip(), flags=re.I)
    return re.sub(r"[^a-z0-9]", "", base.lower())


def name_key(name: str) -> str:
    """Normalised person name for person keys: accents, punctuation and initials do not make a new person."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    tokens = [t for t in re.sub(r"[^a-z0-9 ]", " ", plain).split() if len(t) > 1]
    return "-".join(tokens)


@dataclass
class SheriffIndex:
    """The state's sheriff seats, findable by GEOID or county name."""

    by_geoid: dict[str, Office] = field(default_factory=dict)
    by_name: dict[str, Office] = field(default_factory=dict)

    def find(self, *, geoid: str | None = None, county: str | None = None) -> Optional[Office]:
        if geoid:
            return self.by_geoid.get(geoid)
        if county:
            return self.by_name.get(county_key(county))
        return None


def sheriff_index(state: str) -> SheriffIndex:
    """Load every sheriff seat of the state (with holders) once, for matching source rows."""
    offices = db.session.scalars(
        db.select(Office).join(Division)
        .where(Division.state == state, Office.type == OfficeType.SHERIFF)
        .options(selectinload(Office.officials), selectinload(Office.division))
    ).all()
    index = SheriffIndex()
    for office in offices:
        if office.division.geoid:
            index.by_geoid[office.division.geoid] = office
        index.by_name[county_key(office.division.name)] = office
    return index


def sniff(path: Path, head: str) -> bool:
    """A CSV whose header has a sheriff_name column."""
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    return path.suffix.lower() == ".csv" and "sheriff_name" in {c.strip().lower() for c in first.split(",")}


@dataclass
class Row:
    """One parsed CSV row matched to its seat."""

    line: int
    office: Office
    sheriff_name: str
    contact: dict[str, Optional[str]]
    source_url: Optional[str]
    verified_at: Optional[dt.date]
    confidence: Optional[str] = None
    notes: Optional[str] = None

    @property
    def geoid(self) -> str:
        return self.office.division.geoid or ""

    def holder(self) -> Optional[HolderRecord]:
        if not self.sheriff_name:
            return None
        return HolderRecord(person_key=f"sheriff:{self.geoid}:{name_key(self.sheriff_name)}",
                            name=self.sheriff_name, source_url=self.source_url)

    def record(self) -> OfficeRecord:
        div = self.office.division
        return OfficeRecord(
            type=OfficeType.SHERIFF, title=self.office.title, seat=self.office.seat,
            division=DivisionRecord(div.ocd_id, div.name, div.type, div.state, div.geoid),
            contact=dict(self.contact), holder=self.holder(), source_url=self.source_url,
        )


@dataclass
class Parsed:
    rows: list[Row]
    errors: list[tuple[int, str]]
    unknown_columns: list[str]


def _read(path: Path) -> io.StringIO:
    try:
        return io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the sheet as 'CSV UTF-8'",
                          path=str(path)) from None


def _shown(value: str, limit: int = 40) -> str:
    """A cell quoted in an error message, cut short: a row's error must not carry a 100 KB cell back to the page."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _geoid(value: str, state: str) -> str | None:
    """A 5-digit GEOID from '28049', or the state's county from '049'/'49' (spreadsheets drop leading zeros)."""
    v = value.strip()
    if not v.isdigit() or len(v) > 5:
        return None
    return v.zfill(5) if len(v) > 3 else STATE_FIPS[state] + v.zfill(3)


def parse(path: Path, state: str, index: SheriffIndex) -> Parsed:
    """Read and match every row; per-row problems are collected (not raised) so all can be shown at once."""
    reader = csv.DictReader(_read(path))
    try:
        return _parse(reader, path, state, index)
    except csv.Error as exc:  # e.g. a field longer than the csv module's 128 KB limit
        raise SourceError(f"not valid CSV ({exc}); nothing was loaded", path=str(path),
                          line=reader.line_num) from None


def _parse(reader: csv.DictReader, path: Path, state: str, index: SheriffIndex) -> Parsed:
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if not header:
        raise SourceError("empty file (a header row is required)", path=str(path))
    missing = [c for c in ("sheriff_name",) if c not in header]
    if "county_fips" not in header and "county" not in header:
        missing.append("county_fips or county")
    if missing:
        raise SourceError(f"missing column(s) {', '.join(missing)}", path=str(path))
    unknown = [h for h in header if h and h not in COLUMNS]

    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    seen: dict[int, int] = {}
    state_name = STATE_NAMES[state]
    for raw in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in raw.items() if k in COLUMNS and isinstance(v, str)}
        if not any(values.values()):
            continue
        fips, county = values.get("county_fips", ""), values.get("county", "")
        office = None
        if fips:
            geoid = _geoid(fips, state)
            if geoid is None:
                errors.append((line, f"county_fips {_shown(fips)} is not a county FIPS code"))
                continue
            office = index.find(geoid=geoid)
            if office is None:
                errors.append((line, f"county_fips {fips} matches no {state_name} county"))
                continue
            if county and index.find(county=county) is not office:
                errors.append((line, f"county {_shown(county)} does not match county_fips {fips} "
                                     f"({office.division.name})"))
                continue
        elif county:
            office = index.find(county=county)
            if office is None:
                errors.append((line, f"county {_shown(county)} matches no {state_name} county"))
                continue
        else:
            errors.append((line, "neither county_fips nor county given"))
            continue
        if office.id in seen:
            errors.append((line, f"{office.division.name} already given on line {seen[office.id]}"))
            continue
        seen[office.id] = line
        verified_at = None
        if values.get("verified_at"):
            try:
                verified_at = dt.date.fromisoformat(values["verified_at"])
            except ValueError:
                errors.append((line, f"verified_at {_shown(values['verified_at'])} is not a date (YYYY-MM-DD)"))
                continue
        confidence = values.get("confidence", "").lower() or None
        if confidence is not None and confidence not in CONFIDENCE:
            errors.append((line, f"confidence {_shown(values['confidence'])} is not one of {', '.join(CONFIDENCE)}"))
            continue
        cleaned, problems = _checked(values)
        if problems:
            errors.append((line, "; ".join(problems)))
            continue
        rows.append(Row(
            line=line, office=office, sheriff_name=re.sub(r"\s+", " ", cleaned["sheriff_name"] or ""),
            contact={attr: cleaned[col] for col, attr in CONTACT_COLUMNS.items()},
            source_url=cleaned["source_url"], verified_at=verified_at,
            confidence=confidence, notes=values.get("notes") or None,
        ))
    return Parsed(rows, errors, unknown)


# CSV column -> the field whose rule (officials/validation.py, shared with the staff edit form) checks it.
CHECKED_COLUMNS = {**CONTACT_COLUMNS, "sheriff_name": "name", "source_url": "source_url"}


def _checked(values: dict[str, str]) -> tuple[dict[str, Optional[str]], list[str]]:
    """A row's values after the same checks as the staff edit form (blank -> None), and one message per refused
    column (the value itself is not repeated: it may be long or unprintable)."""
    cleaned: dict[str, Optional[str]] = {}
    problems: list[str] = []
    for column, field_name in CHECKED_COLUMNS.items():
        try:
            cleaned[column] = validation.clean(field_name, values.get(column))
        except validation.Invalid as exc:
            problems.append(f"{column} {exc}")
    return cleaned, problems


def _raise_for(path: Path, errors: list[tuple[int, str]], index: SheriffIndex, state: str) -> None:
    if not errors:
        return
    hint = "" if index.by_name else f" (no {state.upper()} sheriff seats yet: load the county list first)"
    if len(errors) == 1:
        line, msg = errors[0]
        raise SourceError(msg + hint + "; nothing was loaded", path=str(path), line=line)
    listing = "; ".join(f"line {line}: {msg}" for line, msg in errors)
    raise SourceError(f"{len(errors)} rows rejected, nothing was loaded{hint}: {listing}", path=str(path))


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Set holders and contact details row by row; a row's verified_at is its 'as of' date."""
    index = sheriff_index(state)
    parsed = parse(path, state, index)
    _raise_for(path, parsed.errors, index, state)
    report = SyncReport(KIND)
    if parsed.unknown_columns:
        report.problems.append(f"{path.name}: ignored unknown column(s) {', '.join(parsed.unknown_columns)}")
    default_as_of = ctx.date_for(path)
    for row in ctx.progress(parsed.rows, len(parsed.rows), f"{KIND} {state.upper()}"):
        office = apply_office(row.record(), KIND, row.verified_at or default_as_of, report, vacate_when_empty=True)
        # The file is the whole truth about its own reliability: a row without notes clears older ones.
        office.data_confidence, office.data_notes = row.confidence, row.notes
    return report


def preview(path: Path, state: str) -> list[dict[str, Any]]:
    """What loading the file would change, row by row, without writing anything (for the staff upload page)."""
    index = sheriff_index(state)
    parsed = parse(path, state, index)
    out: list[dict[str, Any]] = [{"line": line, "error": msg} for line, msg in parsed.errors]
    for row in parsed.rows:
        office, new = row.office, row.holder()
        current = office.holder
        entry: dict[str, Any] = {
            "line": row.line, "office_id": office.id, "title": office.title, "geoid": row.geoid,
            "current_holder": current.name if current else None, "new_holder": new.name if new else None,
        }
        contact = {attr: (getattr(office, attr), value) for attr, value in row.contact.items()
                   if value and attr in CONTACT_FIELDS and getattr(office, attr) != value}
        if new is None:
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
