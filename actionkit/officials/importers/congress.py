"""unitedstates/congress-legislators: sitting members of Congress (`legislators-current`) and their
district offices (`legislators-district-offices`), YAML or JSON, one seat per member of the state."""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import selectinload

from actionkit.extensions import db
from actionkit.officials.importers import ImportContext
from actionkit.officials.models import Division, DivisionType, Office, OfficeType
from actionkit.officials.services import (
    STATE_NAMES, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport, apply_offices,
)

KIND = "congress"
ORDER = 30
SOURCE_URL = "https://theunitedstates.io/congress-legislators/"
SCOPE_TYPES = (OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR)

MEMBERS = "members"
DISTRICT_OFFICES = "district-offices"
_CANONICAL = {"legislators-current": MEMBERS, "legislators-district-offices": DISTRICT_OFFICES}
_NEVER = ("social", "historical", "committee", "executive")  # same repository, not seats we import
_SUFFIXES = (".json", ".yaml", ".yml")  # in order of preference when one folder holds several copies
_LIST_OF_IDS = re.compile(r'\A\ufeff?(?:\s*#[^\n]*\n)*\s*(?:- id:|\[\s*\{\s*"id"\s*:)')
_ITEM_KEY = re.compile(r'^  (terms|offices|social):|"(terms|offices|social)"\s*:', re.M)

# libyaml parses the 1 MB file about 5x faster than the pure-Python loader (1 s against 5-6 s).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def kind_of(path: Path, head: str) -> str | None:
    """Which of the repository's files this is (by name, else by the shape of its first item), or None."""
    if path.suffix.lower() not in _SUFFIXES or not path.is_file():
        return None
    stem = path.stem.lower()
    if stem in _CANONICAL:
        return _CANONICAL[stem]
    if any(word in stem for word in _NEVER):
        return None
    if not _LIST_OF_IDS.match(head) or "bioguide" not in head:
        return None
    m = _ITEM_KEY.search(head)
    key = m and (m.group(1) or m.group(2))
    return {"terms": MEMBERS, "offices": DISTRICT_OFFICES}.get(key or "")


def sniff(path: Path, head: str) -> bool:
    """Members or district-offices files only: the social-media and historical files are never seats."""
    return kind_of(path, head) is not None


def _head(path: Path) -> str:
    """The first 4 kB as text, as importers.detect() passes it to sniff()."""
    with path.open("rb") as fh:
        return fh.read(4096).decode("utf-8", errors="replace")


def select(paths: list[Path]) -> list[Path]:
    """One load per folder and kind: a members file brings its folder's district offices along."""
    kinds = {p: kind_of(p, _head(p)) for p in paths}
    members_dirs = {p.parent for p, k in kinds.items() if k == MEMBERS}
    chosen: dict[tuple[Path, str], Path] = {}
    for p in sorted(paths, key=lambda p: _SUFFIXES.index(p.suffix.lower())):
        if kinds[p] == DISTRICT_OFFICES and p.parent in members_dirs:
            continue
        chosen.setdefault((p.parent, p.stem.lower()), p)
    return [p for p in paths if p in chosen.values()]


def _district_offices_beside(path: Path) -> Path | None:
    """The district-offices file in the same folder as a members file, if there is one."""
    found = [p for p in path.parent.iterdir()
             if p != path and p.suffix.lower() in _SUFFIXES and p.is_file()
             and kind_of(p, _head(p)) == DISTRICT_OFFICES]
    found.sort(key=lambda p: (_SUFFIXES.index(p.suffix.lower()), p.name))
    return found[0] if found else None


def read(path: Path) -> Any:
    """The file's content as Python data; malformed YAML/JSON becomes a SourceError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from exc
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=str(path),
                              line=exc.lineno) from exc
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"malformed YAML: {problem}", path=str(path),
                          line=mark.line + 1 if mark is not None else None) from exc


@dataclass
class Parsed:
    """A congress-legislators source read into records, before anything touches the database."""

    state: str
    kind: str
    records: list[OfficeRecord] = field(default_factory=list)
    # bioguide id -> that member's offices in the state, as in the district-offices file
    district_offices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _date(value: Any, where: str, path: Path) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise SourceError(f"{where}: bad date {value!r}", path=str(path)) from exc


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _items(data: Any, path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, bioguide, item) for every entry, checking the shape both files share."""
    if not isinstance(data, list):
        raise SourceError("expected a list of legislators at the top level", path=str(path))
    out = []
    for i, item in enumerate(data, start=1):
        ids = item.get("id") if isinstance(item, dict) else None
        bioguide = _text(ids.get("bioguide")) if isinstance(ids, dict) else None
        if not bioguide:
            raise SourceError(f"entry {i}: no id.bioguide", path=str(path))
        out.append((f"entry {i} ({bioguide})", bioguide, item))
    return out


def _content_kind(items: list[tuple[str, str, dict[str, Any]]], path: Path) -> str:
    first = items[0][2] if items else {}
    if "terms" in first:
        return MEMBERS
    if "offices" in first:
        return DISTRICT_OFFICES
    raise SourceError("neither a legislators-current nor a legislators-district-offices file "
                      "(items have no 'terms' or 'offices')", path=str(path))


def _member_record(where: str, bioguide: str, person: dict[str, Any], term: dict[str, Any], state: str,
                   path: Path) -> OfficeRecord:
    name = person.get("name") if isinstance(person.get("name"), dict) else {}
    first, last = _text(name.get("first")), _text(name.get("last"))
    full = _text(name.get("official_full")) or " ".join(p for p in (first, last) if p)
    if not full:
        raise SourceError(f"{where}: no name", path=str(path))
    holder = HolderRecord(
        person_key=f"bioguide:{bioguide}", name=full, first_name=first, last_name=last,
        party=_text(term.get("party")), phone=_text(term.get("phone")), bioguide_id=bioguide,
        start_date=_date(term.get("start"), where, path), term_end=_date(term.get("end"), where, path),
        source_url=SOURCE_URL,
    )
    contact = {"phone": _text(term.get("phone")), "fax": _text(term.get("fax")),
               "website": _text(term.get("url")), "web_form_url": _text(term.get("contact_form")),
               "postal_address": _text(term.get("address"))}
    kind = term.get("type")
    if kind == "rep":
        try:
            district = int(term.get("district"))
        except (TypeError, ValueError) as exc:
            raise SourceError(f"{where}: representative without a numeric district", path=str(path)) from exc
        place = f"{_ordinal(district)} Congressional District" if district else "At-Large Congressional District"
        contact["cwc_office_code"] = f"H{state.upper()}{district:02d}"  # House CWC code: H + state + district
        return OfficeRecord(OfficeType.US_REPRESENTATIVE, DivisionRecord.for_district(state, DivisionType.CD, district),
                            f"U.S. Representative for {STATE_NAMES[state]}'s {place}", contact=contact,
                            holder=holder, source_url=SOURCE_URL)
    if kind == "sen":
        seat = _text(term.get("class"))
        if seat not in ("1", "2", "3"):
            raise SourceError(f"{where}: senator without a class 1, 2 or 3", path=str(path))
        return OfficeRecord(OfficeType.US_SENATOR, DivisionRecord.for_state(state),
                            f"U.S. Senator for {STATE_NAMES[state]} (Class {seat})", seat=seat, contact=contact,
                            holder=holder, source_url=SOURCE_URL)
    raise SourceError(f"{where}: current term type {kind!r} is neither 'sen' nor 'rep'", path=str(path))


def parse_members(data: Any, path: Path, state: str) -> list[OfficeRecord]:
    """One record per seat of the state held according to a legislators-current file."""
    seats: dict[tuple[OfficeType, str, str], OfficeRecord] = {}
    for where, bioguide, person in _items(data, path):
        terms = person.get("terms")
        if not isinstance(terms, list) or not terms or not isinstance(terms[-1], dict):
            raise SourceError(f"{where}: no terms", path=str(path))
        term = terms[-1]
        if str(term.get("state", "")).lower() != state:
            continue
        rec = _member_record(where, bioguide, person, term, state, path)
        key = (rec.type, rec.division.ocd_id, rec.seat)
        if key in seats:
            raise SourceError(f"{where}: {rec.title} is also held by {seats[key].holder.name}", path=str(path))
        seats[key] = rec
    if not seats:
        raise SourceError(f"no member of Congress for {state.upper()} in this file", path=str(path))
    return sorted(seats.values(), key=lambda r: (r.type.value, r.division.ocd_id, r.seat))


def parse_district_offices(data: Any, path: Path, state: str) -> dict[str, list[dict[str, Any]]]:
    """bioguide id -> the member's offices located in the state."""
    out: dict[str, list[dict[str, Any]]] = {}
    for where, bioguide, item in _items(data, path):
        offices = item.get("offices")
        if not isinstance(offices, list):
            raise SourceError(f"{where}: no offices list", path=str(path))
        here = [o for o in offices if isinstance(o, dict) and str(o.get("state", "")).lower() == state]
        if here:
            out[bioguide] = here
    return out


def format_office(office: dict[str, Any]) -> str | None:
    """One district office as a one-line postal address, like the DC addresses in legislators-current."""
    street = ", ".join(p for p in (_text(office.get(k)) for k in ("building", "address", "suite")) if p)
    town = " ".join(p for p in (_text(office.get("state")), _text(office.get("zip"))) if p)
    place = ", ".join(p for p in (_text(office.get("city")), town) if p)
    return ", ".join(p for p in (street, place) if p) or None


def _fill_in(current: dict[str, str | None], offices: list[dict[str, Any]]) -> dict[str, str]:
    """Contact values taken from the first district office, only for channels the seat has none of."""
    first = offices[0]
    offer = {"phone": _text(first.get("phone")), "postal_address": format_office(first)}
    return {k: v for k, v in offer.items() if v and not current.get(k)}


def parse(path: Path, state: str) -> Parsed:
    """Read a members file (with the district-offices file beside it) or a district-offices file alone."""
    state = state.lower()
    data = read(path)
    items = _items(data, path)
    kind = _content_kind(items, path)
    parsed = Parsed(state=state, kind=kind)
    if kind == DISTRICT_OFFICES:
        parsed.district_offices = parse_district_offices(data, path, state)
        return parsed
    parsed.records = parse_members(data, path, state)
    beside = _district_offices_beside(path)
    if beside is not None:
        parsed.district_offices = parse_district_offices(read(beside), beside, state)
        members = {r.holder.bioguide_id: r for r in parsed.records if r.holder}
        for bioguide, offices in sorted(parsed.district_offices.items()):
            rec = members.get(bioguide)
            if rec is None:
                parsed.problems.append(f"{beside.name}: {len(offices)} {state.upper()} office(s) of bioguide "
                                       f"{bioguide}, who holds no {state.upper()} seat in {path.name}")
                continue
            rec.contact.update(_fill_in(rec.contact, offices))
    return parsed


def _district_offices_note(parsed: Parsed) -> str:
    n = sum(len(v) for v in parsed.district_offices.values())
    return (f"district offices: {n} listed for {len(parsed.district_offices)} {parsed.state.upper()} members "
            "(used only where a seat has no phone or postal address of its own)")


def _apply_district_offices(parsed: Parsed, as_of: dt.date, ctx: ImportContext, report: SyncReport) -> None:
    """A district-offices file on its own: fill in the contact channels of seats already in the directory."""
    offices = db.session.scalars(
        db.select(Office).join(Division)
        .where(Division.state == parsed.state, Office.type.in_(SCOPE_TYPES))
        .options(selectinload(Office.officials))
    ).all()
    by_bioguide = {o.holder.bioguide_id: o for o in offices if o.holder is not None and o.holder.bioguide_id}
    items = sorted(parsed.district_offices.items())
    for bioguide, locations in ctx.progress(items, len(items), "congress district offices"):
        office = by_bioguide.get(bioguide)
        if office is None:
            report.problems.append(f"{len(locations)} {parsed.state.upper()} district office(s) of bioguide "
                                   f"{bioguide}, who holds no {parsed.state.upper()} seat in the directory")
            continue
        fill = _fill_in({k: getattr(office, k) for k in ("phone", "postal_address")}, locations)
        if not fill:
            report.unchanged += 1
            continue
        for key, value in fill.items():
            setattr(office, key, value)
        office.as_of = as_of
        report.updated += 1
        report.changes.append(f"{office.title}: " + ", ".join(f"{k} from district office" for k in fill))
    db.session.flush()


def apply(parsed: Parsed, as_of: dt.date, ctx: ImportContext | None = None) -> SyncReport:
    """Write parsed records to the directory (flush only); a member no longer listed leaves a vacancy."""
    ctx = ctx or ImportContext()
    report = SyncReport(KIND, problems=list(parsed.problems))
    if parsed.kind == DISTRICT_OFFICES:
        _apply_district_offices(parsed, as_of, ctx, report)
    else:
        apply_offices(ctx.progress(parsed.records, len(parsed.records), "congress"), KIND, as_of,
                      scope=(parsed.state, SCOPE_TYPES), report=report)
    if parsed.district_offices:
        report.changes.append(_district_offices_note(parsed))
    return report


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Parse everything first, then apply: a malformed file changes nothing."""
    parsed = parse(path, state)
    return apply(parsed, ctx.date_for(path), ctx)
