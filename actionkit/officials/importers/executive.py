"""Open States executive files: the statewide officials (governor, lieutenant governor, attorney general,
secretary of state), one YAML per person in the people repository's `executive/` folder."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable, Optional

from actionkit.officials.importers import ImportContext
from actionkit.officials.importers.openstates import (
    _capitol, _current_party, _date, _JURISDICTION_STATE, _person_files, _text, read_person,
)
from actionkit.officials.models import STATEWIDE_EXECUTIVES, OfficeType
from actionkit.officials.services import (
    STATE_NAMES, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport, apply_offices,
)

KIND = "openstates-executive"
ORDER = 41
YAML_URL = "https://github.com/openstates/people/blob/main/data/{state}/executive/{name}"

# Open States role types (spelled several ways across states and years) -> office type
ROLE_TYPES = {
    "governor": OfficeType.GOVERNOR,
    "lt_governor": OfficeType.LIEUTENANT_GOVERNOR,
    "lieutenant governor": OfficeType.LIEUTENANT_GOVERNOR,
    "lieutenant_governor": OfficeType.LIEUTENANT_GOVERNOR,
    "attorney general": OfficeType.ATTORNEY_GENERAL,
    "attorney_general": OfficeType.ATTORNEY_GENERAL,
    "secretary of state": OfficeType.SECRETARY_OF_STATE,
    "secretary_of_state": OfficeType.SECRETARY_OF_STATE,
}
TITLES = {
    OfficeType.GOVERNOR: "Governor of {state}",
    OfficeType.LIEUTENANT_GOVERNOR: "Lieutenant Governor of {state}",
    OfficeType.ATTORNEY_GENERAL: "Attorney General of {state}",
    OfficeType.SECRETARY_OF_STATE: "Secretary of State of {state}",
}


def sniff(path: Path, head: str) -> bool:
    """The `executive/` folder of the people repository."""
    return path.is_dir() and path.name == "executive" and any(_person_files(path))


def _address(value: Any) -> Optional[str]:
    """Open States separates address lines with ';' and sometimes leaves empty parts or a ZIP ending in '-'."""
    text = _text(value)
    if text is None:
        return None
    parts = [p.strip() for p in text.split(";") if p.strip()]
    return re.sub(r"-$", "", ", ".join(parts)) or None


def _role(person: dict[str, Any], path: Path) -> tuple[OfficeType, dict[str, Any]]:
    """The person's latest statewide executive role (current or not; the caller checks the dates)."""
    roles = [r for r in person.get("roles") or []
             if isinstance(r, dict) and str(r.get("type", "")).strip().lower() in ROLE_TYPES]
    if not roles:
        raise SourceError("no governor, lieutenant governor, attorney general or secretary of state role",
                          path=str(path))
    role = max(roles, key=lambda r: (_date(r.get("start_date"), str(path)) or dt.date.min,
                                     _date(r.get("end_date"), str(path)) or dt.date.max))
    return ROLE_TYPES[str(role["type"]).strip().lower()], role


def parse_person(person: dict[str, Any], path: Path, state: str, as_of: dt.date) -> tuple[OfficeRecord, Optional[str]]:
    """(record, problem) for one file. A role the file says has ended keeps the seat and its capitol office
    but no holder (the seat shows "holder unknown" until the source or staff confirm who holds it)."""
    person_id, name = _text(person.get("id")), _text(person.get("name"))
    if not person_id or not person_id.startswith("ocd-person/") or not name:
        raise SourceError("needs an ocd-person id and a name", path=str(path))
    office_type, role = _role(person, path)
    m = _JURISDICTION_STATE.search(str(role.get("jurisdiction", "")))
    if m and m.group(1) != state:
        raise SourceError(f"role is in {m.group(1).upper()}, not {state.upper()}", path=str(path))
    end = _date(role.get("end_date"), str(path))
    current = end is None or end > as_of
    capitol = _capitol(person)
    source_url = YAML_URL.format(state=state, name=path.name)
    phone = _text(capitol.get("voice"))
    contact = {"phone": phone, "fax": _text(capitol.get("fax")), "postal_address": _address(capitol.get("address")),
               "website": next((_text(link.get("url")) for link in person.get("links") or []
                                if isinstance(link, dict) and _text(link.get("url"))), None)}
    title = TITLES[office_type].format(state=STATE_NAMES[state])
    holder = None
    problem = None
    if current:
        email = _text(person.get("email"))
        contact["email"] = email
        holder = HolderRecord(
            person_key=person_id, name=name, first_name=_text(person.get("given_name")),
            last_name=_text(person.get("family_name")), party=_current_party(person), email=email, phone=phone,
            ocd_person_id=person_id, start_date=_date(role.get("start_date"), str(path)), term_end=end,
            source_url=source_url)
    else:
        problem = (f"{path.name}: {name}'s {title} role ended {end.isoformat()} per the source; the seat is "
                   "kept with no holder until the source or staff confirm who holds it")
    return OfficeRecord(office_type, DivisionRecord.for_state(state), title, contact=contact, holder=holder,
                        source_url=source_url), problem


def parse(path: Path, state: str, as_of: dt.date) -> tuple[list[OfficeRecord], list[str]]:
    """Every person file of the folder; a malformed file fails the whole folder, two people on one seat keep
    the current one (or the later start)."""
    state = state.lower()
    seats: dict[OfficeType, tuple[OfficeRecord, Optional[str]]] = {}
    problems: list[str] = []
    for file in _person_files(path):
        rec, problem = parse_person(read_person(file), file, state, as_of)
        other = seats.get(rec.type)
        if other is not None:
            keep, drop = (rec, other[0]) if other[0].holder is None and rec.holder is not None else (other[0], rec)
            problems.append(f"{file.name}: two files for {rec.title}; kept "
                            f"{keep.holder.name if keep.holder else 'the seat with no holder'}")
            if keep is rec:
                seats[rec.type] = (rec, problem)
            continue
        seats[rec.type] = (rec, problem)
    if not seats:
        raise SourceError(f"no {state.upper()} statewide officials found", path=str(path))
    problems += [p for _, p in seats.values() if p]
    return [seats[t][0] for t in STATEWIDE_EXECUTIVES if t in seats], problems


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Parse every file first, then apply; a seat no longer listed loses its holder (never deleted)."""
    as_of = ctx.date_for(path)
    records, problems = parse(path, state, as_of)
    report = SyncReport(KIND, problems=problems)
    listed: Iterable[OfficeRecord] = ctx.progress(records, len(records), KIND)
    return apply_offices(listed, KIND, as_of, scope=(state.lower(), STATEWIDE_EXECUTIVES), report=report)
