"""Open States: state legislators from the people repository's `legislature/` folder (one YAML per person)
or from the nightly bulk CSV (data.openstates.org/people/current/<state>.csv)."""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from actionkit.officials.importers import ImportContext
from actionkit.officials.models import DivisionType, OfficeType
from actionkit.officials.services import (
    STATE_FIPS, STATE_NAMES, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport, apply_offices,
)

KIND = "openstates"
ORDER = 40
SCOPE_TYPES = (OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE)
YAML_URL = "https://github.com/openstates/people/blob/main/data/{state}/legislature/{name}"
CSV_URL = "https://data.openstates.org/people/current/{state}.csv"

# chamber -> (office type, division type, title word)
CHAMBERS = {
    "upper": (OfficeType.STATE_SENATOR, DivisionType.SLDU, "State Senator"),
    "lower": (OfficeType.STATE_REPRESENTATIVE, DivisionType.SLDL, "State Representative"),
}
CSV_REQUIRED = {"id", "name", "current_party", "current_district", "current_chamber"}
_JURISDICTION_STATE = re.compile(r"/state:([a-z]{2})(?:/|$)")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _is_csv(path: Path, head: str) -> bool:
    if path.suffix.lower() != ".csv" or not head:
        return False
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    columns = {c.strip().strip('"').lower() for c in first.split(",")}
    return CSV_REQUIRED <= columns


def sniff(path: Path, head: str) -> bool:
    """The `legislature/` folder of the people repository, or the bulk CSV (recognised by its header)."""
    if path.is_dir():
        return path.name == "legislature" and any(_person_files(path))
    return _is_csv(path, head)


@dataclass
class Parsed:
    """An Open States source read into records, before anything touches the database."""

    state: str
    records: list[OfficeRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _date(value: Any, where: str, line: int | None = None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise SourceError(f"bad date {value!r}", path=where, line=line) from exc


def _office_record(state: str, chamber: str, district: str, holder: HolderRecord,
                   contact: dict[str, str | None], source_url: str) -> OfficeRecord:
    office_type, division_type, word = CHAMBERS[chamber]
    return OfficeRecord(office_type, DivisionRecord.for_district(state, division_type, int(district)),
                        f"{STATE_NAMES[state]} {word}, District {int(district)}", contact=contact, holder=holder,
                        source_url=source_url)


def _keep(parsed: Parsed, seats: dict[tuple[OfficeType, str], tuple[OfficeRecord, dt.date | None]],
          rec: OfficeRecord, start: dt.date | None, where: str) -> None:
    """Add a record; two people on one seat (e.g. a successor whose predecessor has no end date yet)
    keep the one whose role started later and note the other."""
    key = (rec.type, rec.division.ocd_id)
    if key in seats:
        other, other_start = seats[key]
        if (start or dt.date.min) > (other_start or dt.date.min):
            seats[key] = (rec, start)
            rec, other = other, rec
        parsed.problems.append(f"{where}: {rec.holder.name} also listed for {rec.title}; kept {other.holder.name}")
        return
    seats[key] = (rec, start)


def _finish(parsed: Parsed, seats: dict[tuple[OfficeType, str], tuple[OfficeRecord, dt.date | None]],
            path: Path) -> Parsed:
    if not seats:
        raise SourceError(f"no {parsed.state.upper()} state legislators found", path=str(path))
    parsed.records = sorted((r for r, _ in seats.values()),
                            key=lambda r: (r.type.value, int(r.division.ocd_id.rsplit(":", 1)[1])))
    return parsed


# --- the people repository: one YAML file per person -------------------------------------------------------

def _person_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and not p.name.startswith("."))


def read_person(path: Path) -> dict[str, Any]:
    """One person's YAML; malformed YAML becomes a SourceError naming file and line."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_Loader)
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"malformed YAML: {problem}", path=str(path),
                          line=mark.line + 1 if mark is not None else None) from exc
    if not isinstance(data, dict):
        raise SourceError("expected a person (a mapping with id, name, roles)", path=str(path))
    return data


def _current_role(person: dict[str, Any], path: Path, as_of: dt.date) -> dict[str, Any]:
    """The legislative role with no end date (or one ending after as_of: an announced departure)."""
    roles = person.get("roles")
    if not isinstance(roles, list):
        raise SourceError("no roles", path=str(path))
    current = [r for r in roles if isinstance(r, dict) and r.get("type") in CHAMBERS
               and (not r.get("end_date") or _date(r["end_date"], str(path)) > as_of)]
    if not current:
        raise SourceError("no current legislative role (every upper/lower role has an end_date)", path=str(path))
    return max(current, key=lambda r: _date(r.get("start_date"), str(path)) or dt.date.min)


def _capitol(person: dict[str, Any]) -> dict[str, Any]:
    """The capitol office; older files call the list contact_details and label it by note."""
    for office in person.get("offices") or person.get("contact_details") or []:
        if isinstance(office, dict) and (office.get("classification") == "capitol"
                                         or str(office.get("note", "")).lower() == "capitol office"):
            return office
    return {}


def _current_party(person: dict[str, Any]) -> str | None:
    parties = [p for p in person.get("party") or [] if isinstance(p, dict) and not p.get("end_date")]
    return _text(parties[-1].get("name")) if parties else None


def parse_person(person: dict[str, Any], path: Path, state: str, as_of: dt.date) -> tuple[OfficeRecord, dt.date | None]:
    """(record, role start) for one person file; raises SourceError for anything unusable."""
    person_id = _text(person.get("id"))
    name = _text(person.get("name"))
    if not person_id or not person_id.startswith("ocd-person/") or not name:
        raise SourceError("needs an ocd-person id and a name", path=str(path))
    role = _current_role(person, path, as_of)
    m = _JURISDICTION_STATE.search(str(role.get("jurisdiction", "")))
    if m and m.group(1) != state:
        raise SourceError(f"current role is in {m.group(1).upper()}, not {state.upper()}", path=str(path))
    district = _text(role.get("district"))
    if not district or not district.isdigit():
        raise SourceError(f"district {district!r} is not a number (named districts are not supported)",
                          path=str(path))
    start = _date(role.get("start_date"), str(path))
    capitol = _capitol(person)
    email, phone = _text(person.get("email")), _text(capitol.get("voice"))
    source_url = YAML_URL.format(state=state, name=path.name)
    holder = HolderRecord(
        person_key=person_id, name=name, first_name=_text(person.get("given_name")),
        last_name=_text(person.get("family_name")), party=_current_party(person), email=email, phone=phone,
        ocd_person_id=person_id, start_date=start, term_end=_date(role.get("end_date"), str(path)),
        source_url=source_url,
    )
    contact = {"email": email, "phone": phone, "fax": _text(capitol.get("fax")),
               "postal_address": _text(capitol.get("address"))}
    return _office_record(state, role["type"], district, holder, contact, source_url), start


def parse_folder(path: Path, state: str, as_of: dt.date) -> Parsed:
    """Every *.yml in the legislature folder; one bad file fails the whole folder."""
    state = state.lower()
    parsed = Parsed(state)
    seats: dict[tuple[OfficeType, str], tuple[OfficeRecord, dt.date | None]] = {}
    for file in _person_files(path):
        rec, start = parse_person(read_person(file), file, state, as_of)
        _keep(parsed, seats, rec, start, file.name)
    return _finish(parsed, seats, path)


# --- the bulk CSV ---------------------------------------------------------------------------------------

def _csv_state(path: Path, state: str) -> None:
    """Refuse al.csv when asked for MS: the CSV itself never says which state it covers."""
    stem = path.stem.lower()
    if stem in STATE_FIPS and stem != state:
        raise SourceError(f"this file is for {stem.upper()}, not {state.upper()}", path=str(path))


def parse_csv(path: Path, state: str) -> Parsed:
    """Every row of the bulk CSV; a malformed row fails the file with its line number."""
    state = state.lower()
    _csv_state(path, state)
    parsed = Parsed(state)
    seats: dict[tuple[OfficeType, str], tuple[OfficeRecord, dt.date | None]] = {}
    source_url = CSV_URL.format(state=state)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = CSV_REQUIRED - {c.strip().lower() for c in reader.fieldnames or []}
            if missing:
                raise SourceError(f"missing column(s) {', '.join(sorted(missing))}", path=str(path), line=1)
            for row in reader:
                rec = _csv_record(row, path, reader.line_num, state, source_url)
                if rec is not None:
                    _keep(parsed, seats, rec, None, f"line {reader.line_num}")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from exc
    except csv.Error as exc:
        raise SourceError(f"malformed CSV: {exc}", path=str(path)) from exc
    return _finish(parsed, seats, path)


def _csv_record(row: dict[str, str | None], path: Path, line: int, state: str,
                source_url: str) -> OfficeRecord | None:
    get = {(k or "").strip().lower(): _text(v) for k, v in row.items() if not isinstance(v, list)}.get
    if not any(get(c) for c in CSV_REQUIRED):
        return None  # blank line
    person_id, name = get("id"), get("name")
    chamber, district = get("current_chamber"), get("current_district")
    if not person_id or not person_id.startswith("ocd-person/") or not name:
        raise SourceError("needs an ocd-person id and a name", path=str(path), line=line)
    if chamber not in CHAMBERS:
        raise SourceError(f"current_chamber {chamber!r} is neither upper nor lower", path=str(path), line=line)
    if not district or not district.isdigit():
        raise SourceError(f"current_district {district!r} is not a number (named districts are not supported)",
                          path=str(path), line=line)
    email, phone = get("email"), get("capitol_voice")
    holder = HolderRecord(person_key=person_id, name=name, first_name=get("given_name"),
                          last_name=get("family_name"), party=get("current_party"), email=email, phone=phone,
                          ocd_person_id=person_id, source_url=source_url)
    contact = {"email": email, "phone": phone, "fax": get("capitol_fax"), "postal_address": get("capitol_address")}
    return _office_record(state, chamber, district, holder, contact, source_url)


# --- load --------------------------------------------------------------------------------------------------

def as_of_for(path: Path, ctx: ImportContext) -> dt.date:
    """Explicit --as-of, else the newest file's date (a folder's own mtime only changes when files come or go)."""
    if ctx.as_of or not path.is_dir():
        return ctx.date_for(path)
    stamps = [p.stat().st_mtime for p in _person_files(path)] or [path.stat().st_mtime]
    return dt.datetime.fromtimestamp(max(stamps), dt.timezone.utc).date()


def parse(path: Path, state: str, as_of: dt.date) -> Parsed:
    """A legislature folder or a bulk CSV, read whole before anything is written."""
    return parse_folder(path, state, as_of) if path.is_dir() else parse_csv(path, state)


def apply(parsed: Parsed, as_of: dt.date, ctx: ImportContext | None = None) -> SyncReport:
    """Write parsed records (flush only); a seat no longer listed loses its holder (a vacancy)."""
    ctx = ctx or ImportContext()
    report = SyncReport(KIND, problems=list(parsed.problems))
    records: Iterable[OfficeRecord] = ctx.progress(parsed.records, len(parsed.records), "openstates")
    return apply_offices(records, KIND, as_of, scope=(parsed.state, SCOPE_TYPES), report=report)


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Parse everything first, then apply: a malformed file changes nothing."""
    as_of = as_of_for(path, ctx)
    return apply(parse(path, state, as_of), as_of, ctx)
