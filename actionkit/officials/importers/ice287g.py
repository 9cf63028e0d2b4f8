"""ICE's 287(g) participating/pending spreadsheets -> agreements_287g, linked to sheriff seats where possible.

ICE publishes two xlsx files whose names carry the date (participatingAgencies07182025pm.xlsx,
pendingAgencies07182025pm.xlsx); the same columns saved as CSV load too. Agreements are never deleted: one that
drops off ICE's list gets ended_on, so a letter can still say what the agreement was.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Optional
from xml.etree import ElementTree

import openpyxl
from sqlalchemy.orm import selectinload
from openpyxl.utils.datetime import from_excel

from actionkit.extensions import db
from actionkit.officials.importers import ImportContext
from actionkit.officials.importers.counties import read_text
from actionkit.officials.importers.sheriffs import SheriffIndex, county_key, sheriff_index
from actionkit.officials.models import (
    STATEWIDE_EXECUTIVES, Agreement287g, AgreementStatus, Division, DivisionType, Office, OfficeType,
)
from actionkit.officials.services import STATE_NAMES, SourceError, SyncReport

KIND = "ice_287g"
ORDER = 50

REQUIRED = ("STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE")
OPTIONAL = ("SIGNED", "MOA", "ADDENDUM")
HEADER_SCAN_ROWS = 30
NAME_PATTERN = re.compile(r"(participating|pending)\s*agencies|287\s*\(?g\)?", re.I)
NO_VALUE = {"", "#N/A", "N/A", "NA", "NONE", "-", "TBD"}
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# (row number, cell values, {column index: hyperlink target}) per row of a sheet.
Rows = Generator[tuple[int, list[Any], dict[int, str]], None, None]


@dataclass
class AgreementRow:
    """One agreement row of the file, for the state being loaded."""

    line: int
    agency: str
    agency_type: Optional[str]
    county: Optional[str]
    support_type: str
    signed_on: Optional[dt.date]
    moa_url: Optional[str]
    addendum_url: Optional[str]

    @property
    def key(self) -> tuple[str, str]:
        return self.agency.casefold(), self.support_type.casefold()


@dataclass
class Sheet:
    """A parsed file: its status, date and the state's rows."""

    status: AgreementStatus
    as_of: Optional[dt.date]
    rows: list[AgreementRow]
    problems: list[str]


def _clean(value: Any) -> str:
    """Cell text with whitespace collapsed and typographic apostrophes made plain (ICE mixes both)."""
    if value is None:
        return ""
    return " ".join(str(value).replace("\u2019", "'").split())


def _header(value: Any) -> str:
    return _clean(value).upper()


def date_from_name(path: Path) -> Optional[dt.date]:
    """The date ICE puts in its file names: participatingAgencies07182025pm.xlsx -> 2025-07-18."""
    for pattern, order in ((r"(\d{4})-(\d{2})-(\d{2})", "ymd"), (r"(\d{2})(\d{2})(\d{4})", "mdy")):
        m = re.search(pattern, path.name)
        if m:
            a, b, c = (int(g) for g in m.groups())
            try:
                return dt.date(a, b, c) if order == "ymd" else dt.date(c, a, b)
            except ValueError:
                continue
    return None


def status_from_name(path: Path) -> Optional[AgreementStatus]:
    name = path.name.lower()
    if "participating" in name:
        return AgreementStatus.PARTICIPATING
    if "pending" in name:
        return AgreementStatus.PENDING
    return None


def _xlsx_links(path: Path, worksheet: Any) -> dict[str, str]:
    """Cell ref -> hyperlink target; read-only mode drops hyperlinks, and the MOA cells only say 'link'."""
    sheet_path = getattr(worksheet, "_worksheet_path", None)
    if not sheet_path:
        return {}
    folder, name = sheet_path.rsplit("/", 1)
    rels_path = f"{folder}/_rels/{name}.rels"
    with zipfile.ZipFile(path) as zf:
        if rels_path not in zf.namelist():
            return {}
        rels = {el.get("Id"): el.get("Target") for el in ElementTree.fromstring(zf.read(rels_path))}
        links: dict[str, str] = {}
        with zf.open(sheet_path) as fh:
            for _, el in ElementTree.iterparse(fh):
                if el.tag == f"{{{_MAIN_NS}}}hyperlink":
                    target = rels.get(el.get(f"{{{_REL_NS}}}id"))
                    if target:
                        links[el.get("ref", "")] = target
                elif el.tag == f"{{{_MAIN_NS}}}row":
                    el.clear()
    return links


def _xlsx_rows(path: Path) -> Rows:
    """(row number, values, {column index: hyperlink}) for the first sheet that has our header."""
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"not a readable xlsx file ({exc})", path=str(path)) from None
    try:
        sheets = wb.worksheets
        ws = next((s for s in sheets if _find_header(_head_rows(s)) is not None), sheets[0])
        links = _xlsx_links(path, ws)
        by_row: dict[int, dict[int, str]] = {}
        for ref, target in links.items():
            m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
            if m:
                col = openpyxl.utils.column_index_from_string(m.group(1)) - 1
                by_row.setdefault(int(m.group(2)), {})[col] = target
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, list(values), by_row.get(number, {})
    finally:
        wb.close()


def _head_rows(ws: Any) -> list[tuple[int, list[Any]]]:
    return [(n, list(v)) for n, v in enumerate(ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True), start=1)]


def _csv_rows(path: Path) -> Rows:
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    for values in reader:
        yield reader.line_num, list(values), {}


def _find_header(rows: list[tuple[int, list[Any]]]) -> Optional[tuple[int, dict[str, int]]]:
    """(row number, column index by header) of the first row holding every required header, else None."""
    for number, values in rows:
        cols = {}
        for i, v in enumerate(values):
            h = _header(v)
            if h and h not in cols:
                cols[h] = i
        if all(r in cols for r in REQUIRED):
            return number, cols
    return None


def _missing_headers(rows: list[tuple[int, list[Any]]]) -> list[str]:
    """The required headers absent from the row that looks most like a header."""
    best: set[str] = set()
    for _, values in rows:
        found = {_header(v) for v in values} & set(REQUIRED)
        if len(found) > len(best):
            best = found
    return [r for r in REQUIRED if r not in best]


def _date(value: Any) -> dt.date:
    """A SIGNED cell as a date: datetime, date, an Excel serial number, or text in the usual formats."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        return from_excel(value).date()
    text = _clean(value)
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%B %d, %Y", "%b %d, %Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _url(value: Any, link: Optional[str]) -> Optional[str]:
    """MOA/ADDENDUM cell: the hyperlink behind 'link', a URL typed in the cell, or None ('link pending')."""
    if link:
        return link
    text = _clean(value)
    return text if text.lower().startswith(("http://", "https://")) else None


def parse(path: Path, state: str) -> Sheet:
    """Read the whole file and keep the state's rows; raise SourceError for a missing header or bad row."""
    rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    try:
        return _parse_rows(path, state, rows)
    finally:
        rows.close()


def _parse_rows(path: Path, state: str, rows: Rows) -> Sheet:
    head: list[tuple[int, list[Any]]] = []
    found = None
    for number, values, _ in rows:
        head.append((number, values))
        found = _find_header([(number, values)])
        if found or len(head) >= HEADER_SCAN_ROWS:
            break
    if found is None:
        missing = _missing_headers(head)
        raise SourceError(f"no header row with {', '.join(missing)} in the first {HEADER_SCAN_ROWS} rows "
                          f"(expected headers: {', '.join(REQUIRED + OPTIONAL)})", path=str(path))
    _, cols = found
    status = status_from_name(path) or (
        AgreementStatus.PARTICIPATING if "SIGNED" in cols else AgreementStatus.PENDING)
    want = {STATE_NAMES[state].upper(), state.upper()}

    def cell(values: list[Any], name: str) -> Any:
        i = cols.get(name)
        return values[i] if i is not None and i < len(values) else None

    parsed: list[AgreementRow] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for number, values, links in rows:
        if _header(cell(values, "STATE")) not in want:
            continue
        agency, support = _clean(cell(values, "LAW ENFORCEMENT AGENCY")), _clean(cell(values, "SUPPORT TYPE"))
        if not agency or not support:
            raise SourceError("empty LAW ENFORCEMENT AGENCY or SUPPORT TYPE", path=str(path), line=number)
        signed_on = None
        raw_signed = cell(values, "SIGNED")
        if _clean(raw_signed).upper() not in NO_VALUE:
            try:
                signed_on = _date(raw_signed)
            except ValueError:
                problems.append(f"line {number}: {agency}, {support}: SIGNED {_clean(raw_signed)!r} is not a date")
        county = _clean(cell(values, "COUNTY"))
        row = AgreementRow(
            line=number, agency=agency, agency_type=_clean(cell(values, "TYPE")) or None,
            county=None if county.upper() in NO_VALUE else county, support_type=support, signed_on=signed_on,
            moa_url=_url(cell(values, "MOA"), links.get(cols.get("MOA", -1))),
            addendum_url=_url(cell(values, "ADDENDUM"), links.get(cols.get("ADDENDUM", -1))),
        )
        if row.key in seen:
            problems.append(f"line {number}: {agency}, {support} repeats line {seen[row.key]}; ignored")
            continue
        seen[row.key] = number
        parsed.append(row)
    return Sheet(status, date_from_name(path), parsed, problems)


def sniff(path: Path, head: str) -> bool:
    """ICE's spreadsheets by name (names change with every update but keep their pattern) or by header."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return bool(NAME_PATTERN.search(path.name)) or (
            "LAW ENFORCEMENT AGENCY" in head.upper() and "SUPPORT TYPE" in head.upper())
    if suffix not in (".xlsx", ".xlsm"):
        return False
    if NAME_PATTERN.search(path.name):
        return True
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return False
    try:
        return any(_find_header(_head_rows(ws)) is not None for ws in wb.worksheets)
    finally:
        wb.close()


def select(paths: list[Path]) -> list[Path]:
    """Drop a CSV derived from an xlsx beside it (X_MS.csv next to X.xlsx); load oldest first, participating
    before pending, so a pending agreement that became participating is seen as one agreement moving on."""
    xlsx = {(p.parent, p.stem.lower()) for p in paths if p.suffix.lower() in (".xlsx", ".xlsm")}
    keep = [p for p in paths
            if not (p.suffix.lower() == ".csv" and "_" in p.stem
                    and (p.parent, p.stem.rsplit("_", 1)[0].lower()) in xlsx)]
    rank = {AgreementStatus.PARTICIPATING: 0, AgreementStatus.PENDING: 1, None: 2}
    return sorted(keep, key=lambda p: (date_from_name(p) or dt.date.min, rank[status_from_name(p)], str(p)))


def _statewide(state: str) -> dict[OfficeType, Office]:
    """The state's statewide executive seats (the attorney general's office can hold an agreement itself)."""
    offices = db.session.scalars(
        db.select(Office).join(Division)
        .where(Division.state == state, Division.type == DivisionType.STATE, Office.type.in_(STATEWIDE_EXECUTIVES))
    ).all()
    return {o.type: o for o in offices}


def _police(state: str) -> dict[str, Office]:
    """The state's city police chief seats by loosely compared place name ('Jackson' -> office)."""
    offices = db.session.scalars(
        db.select(Office).join(Division)
        .where(Division.state == state, Office.type == OfficeType.POLICE_CHIEF).options(selectinload(Office.division))
    ).all()
    return {county_key(o.division.name): o for o in offices}


def _match(row: AgreementRow, index: SheriffIndex, statewide: dict[OfficeType, Office] | None = None,
           police: dict[str, Office] | None = None) -> tuple[Optional[Office], Optional[str]]:
    """The seat a row is about (a sheriff, the attorney general for the state's AG office, a city's police
    chief for "<Place> Police Department"), or (None, why not)."""
    if "attorney general" in row.agency.lower():
        office = (statewide or {}).get(OfficeType.ATTORNEY_GENERAL)
        return (office, None) if office else (None, "no attorney general seat in the directory")
    city = re.match(r"(?:city of\s+)?(.+?)\s+police\s+department", row.agency, re.I)
    if city:
        office = (police or {}).get(county_key(city.group(1)))
        return (office, None) if office else (None, f"no police chief of {city.group(1)!r} in the directory")
    is_sheriff = (row.agency_type or "").lower() == "county" or "sheriff" in row.agency.lower()
    if not is_sheriff:
        return None, f"not a sheriff's office ({row.agency_type or 'no TYPE'})"
    county = row.county
    if county is None:
        m = re.match(r"(.+?)\s+County\s+Sheriff", row.agency, re.I)
        county = m.group(1) if m else None
    if county is None:
        return None, "no COUNTY given"
    office = index.find(county=county)
    return (office, None) if office else (None, f"county {county!r} matches no sheriff seat")


def _what(row: AgreementRow, status: AgreementStatus) -> str:
    if status is AgreementStatus.PENDING:
        return f"{row.support_type} pending"
    return f"{row.support_type} signed {row.signed_on.isoformat() if row.signed_on else '(date not given)'}"


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Upsert the state's agreements from one sheet; those no longer listed get ended_on (never deleted)."""
    sheet = parse(path, state)
    if ctx.as_of is None and sheet.as_of is not None:
        ctx.as_of = sheet.as_of  # so the sync run records the sheet's own date, not the download time
    as_of = ctx.date_for(path)
    status = sheet.status
    report = SyncReport(KIND)
    report.problems.extend(f"{path.name}: {p}" for p in sheet.problems)
    index = sheriff_index(state)
    statewide = _statewide(state)
    police = _police(state)

    existing = db.session.scalars(db.select(Agreement287g).where(Agreement287g.state == state)).all()
    by_key = {(a.agency.casefold(), a.support_type.casefold(), a.status): a for a in existing}
    seen: set[int] = set()
    for row in ctx.progress(sheet.rows, len(sheet.rows), f"{KIND} {status.value} {state.upper()}"):
        office, why = _match(row, index, statewide, police)
        if office is None:
            report.problems.append(f"{path.name}:{row.line}: {row.agency}, {row.support_type}: {why}; "
                                   "stored without a seat")
        agreement = by_key.get((*row.key, status))
        notes: list[str] = []
        converted = False
        if agreement is None and status is AgreementStatus.PARTICIPATING:
            agreement = by_key.get((*row.key, AgreementStatus.PENDING))
            converted = agreement is not None
            if agreement is not None:
                agreement.status = status
                notes.append(f"now participating, signed {row.signed_on or '(date not given)'}")
        if agreement is None:
            agreement = Agreement287g(state=state, agency=row.agency, support_type=row.support_type, status=status,
                                      source=KIND, as_of=as_of)
            db.session.add(agreement)
            _set_fields(agreement, row, office)
            report.created += 1
            report.changes.append(f"{row.agency}: {_what(row, status)}")
            db.session.flush()
            seen.add(agreement.id)
            continue
        if agreement.ended_on is not None:
            agreement.ended_on = None
            notes.append("listed again")
        field_notes = _set_fields(agreement, row, office)
        notes += [n for n in field_notes if not (converted and n.startswith("signed date"))]
        seen.add(agreement.id)
        if notes:
            agreement.source, agreement.as_of = KIND, as_of
            report.updated += 1
            report.changes.append(f"{row.agency}: {row.support_type}: " + "; ".join(notes))
        else:
            report.unchanged += 1

    for agreement in existing:
        if agreement.status is status and agreement.ended_on is None and agreement.id not in seen:
            agreement.ended_on = as_of
            agreement.source, agreement.as_of = KIND, as_of
            report.updated += 1
            report.changes.append(f"{agreement.agency}: {agreement.support_type} no longer on ICE's "
                                  f"{status.value} list (ended as of {as_of.isoformat()})")
    db.session.flush()
    return report


def _set_fields(agreement: Agreement287g, row: AgreementRow, office: Optional[Office]) -> list[str]:
    """Copy the row onto the agreement; a value the sheet lacks never blanks one already stored."""
    values = {"agency": row.agency, "support_type": row.support_type, "agency_type": row.agency_type,
              "county": row.county, "signed_on": row.signed_on, "moa_url": row.moa_url,
              "addendum_url": row.addendum_url, "office_id": office.id if office else None}
    labels = {"signed_on": "signed date", "moa_url": "MOA link", "addendum_url": "addendum link",
              "office_id": "sheriff seat", "agency_type": "type"}
    notes = []
    for key, value in values.items():
        old = getattr(agreement, key)
        if value is None or old == value:
            continue
        setattr(agreement, key, value)
        if old is not None and key in labels:
            notes.append(f"{labels[key]} {old} -> {value}")
        elif key in labels:
            notes.append(f"{labels[key]} added")
        else:
            notes.append(f"{key.replace('_', ' ')} now {value!r}")
    return notes


def status_for_office(office: Office) -> list[Agreement287g]:
    """The office's current 287(g) agreements (not ended), participating first, oldest signature first."""
    return list(db.session.scalars(
        db.select(Agreement287g)
        .where(Agreement287g.office_id == office.id, Agreement287g.ended_on.is_(None))
        .order_by(Agreement287g.status, Agreement287g.agency, Agreement287g.signed_on, Agreement287g.support_type)
    ))


def describe_287g(office: Office) -> Optional[str]:
    """One sentence for letters and pages, e.g. "Harrison County Sheriff's Office: 287(g) Jail Enforcement
    Model agreement, signed 2025-06-30; Warrant Service Officer agreement, signed 2025-07-02"."""
    agreements = status_for_office(office)
    if not agreements:
        return None
    by_agency: dict[str, list[str]] = {}
    for a in agreements:
        if a.status is AgreementStatus.PENDING:
            part = f"{a.support_type} agreement pending"
        elif a.signed_on:
            part = f"{a.support_type} agreement, signed {a.signed_on.isoformat()}"
        else:
            part = f"{a.support_type} agreement"
        by_agency.setdefault(a.agency, []).append(part)
    return ". ".join(f"{agency}: 287(g) " + "; ".join(parts) for agency, parts in by_agency.items())
