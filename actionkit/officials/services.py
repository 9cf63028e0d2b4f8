"""Directory services: upsert divisions, offices and holders from parsed source records.

Plain functions: they flush, never commit. An importer parses a source into records, then calls
apply_offices(); the CLI commits once per source, so a malformed file changes nothing.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from typing import Iterable, Optional

from sqlalchemy.orm import selectinload

from actionkit.extensions import db
from actionkit.officials.models import OFFICE_DIVISION, Division, DivisionType, Office, OfficeType, Official


class SourceError(Exception):
    """A source file or row is malformed; the message names the file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)
        self.path, self.line = path, line


STATE_FIPS = {
    "al": "01", "ak": "02", "az": "04", "ar": "05", "ca": "06", "co": "08", "ct": "09", "de": "10", "dc": "11",
    "fl": "12", "ga": "13", "hi": "15", "id": "16", "il": "17", "in": "18", "ia": "19", "ks": "20", "ky": "21",
    "la": "22", "me": "23", "md": "24", "ma": "25", "mi": "26", "mn": "27", "ms": "28", "mo": "29", "mt": "30",
    "ne": "31", "nv": "32", "nh": "33", "nj": "34", "nm": "35", "ny": "36", "nc": "37", "nd": "38", "oh": "39",
    "ok": "40", "or": "41", "pa": "42", "ri": "44", "sc": "45", "sd": "46", "tn": "47", "tx": "48", "ut": "49",
    "vt": "50", "va": "51", "wa": "53", "wv": "54", "wi": "55", "wy": "56", "pr": "72",
}
STATE_NAMES = {
    "al": "Alabama", "ak": "Alaska", "az": "Arizona", "ar": "Arkansas", "ca": "California", "co": "Colorado",
    "ct": "Connecticut", "de": "Delaware", "dc": "District of Columbia", "fl": "Florida", "ga": "Georgia",
    "hi": "Hawaii", "id": "Idaho", "il": "Illinois", "in": "Indiana", "ia": "Iowa", "ks": "Kansas",
    "ky": "Kentucky", "la": "Louisiana", "me": "Maine", "md": "Maryland", "ma": "Massachusetts",
    "mi": "Michigan", "mn": "Minnesota", "ms": "Mississippi", "mo": "Missouri", "mt": "Montana",
    "ne": "Nebraska", "nv": "Nevada", "nh": "New Hampshire", "nj": "New Jersey", "nm": "New Mexico",
    "ny": "New York", "nc": "North Carolina", "nd": "North Dakota", "oh": "Ohio", "ok": "Oklahoma",
    "or": "Oregon", "pa": "Pennsylvania", "ri": "Rhode Island", "sc": "South Carolina", "sd": "South Dakota",
    "tn": "Tennessee", "tx": "Texas", "ut": "Utah", "vt": "Vermont", "va": "Virginia", "wa": "Washington",
    "wv": "West Virginia", "wi": "Wisconsin", "wy": "Wyoming", "pr": "Puerto Rico",
}
FIPS_STATE = {v: k for k, v in STATE_FIPS.items()}


def state_code(value: str) -> str:
    """Normalise 'MS', 'ms', 'Mississippi' or '28' to 'ms'; raise SourceError for anything else."""
    v = (value or "").strip().lower()
    if v in STATE_FIPS:
        return v
    if v.zfill(2) in FIPS_STATE:
        return FIPS_STATE[v.zfill(2)]
    for code, name in STATE_NAMES.items():
        if name.lower() == v:
            return code
    raise SourceError(f"unknown state {value!r}")


def ocd_slug(name: str) -> str:
    """OCD id component: lower case, spaces to underscores, only [a-z0-9._~-] kept."""
    s = name.strip().lower().replace(" ", "_")
    return re.sub(r"[^a-z0-9._~-]", "", s)


COUNTRY_OCD = "ocd-division/country:us"


def state_ocd(state: str) -> str:
    return f"ocd-division/country:us/state:{state}"


def county_ocd(state: str, county_name: str) -> str:
    base = re.sub(r"\s+(county|parish|borough)$", "", county_name.strip(), flags=re.I)
    return f"{state_ocd(state)}/county:{ocd_slug(base)}"


def place_ocd(state: str, place_name: str) -> str:
    base = re.sub(r"\s+(city|town|village)$", "", place_name.strip(), flags=re.I)
    return f"{state_ocd(state)}/place:{ocd_slug(base)}"


def district_ocd(state: str, kind: DivisionType, number: int | str) -> str:
    return f"{state_ocd(state)}/{kind.value}:{int(number)}"


@dataclass
class DivisionRecord:
    ocd_id: str
    name: str
    type: DivisionType
    state: str
    geoid: Optional[str] = None

    @classmethod
    def for_state(cls, state: str) -> "DivisionRecord":
        return cls(state_ocd(state), STATE_NAMES[state], DivisionType.STATE, state, STATE_FIPS[state])

    @classmethod
    def for_county(cls, state: str, name: str, geoid: str | None = None) -> "DivisionRecord":
        full = name if re.search(r"\b(county|parish|borough)$", name, re.I) else f"{name} County"
        return cls(county_ocd(state, name), full, DivisionType.COUNTY, state, geoid)

    @classmethod
    def for_country(cls) -> "DivisionRecord":
        """The United States, where fixed targets sit (state "us": not one of the states)."""
        return cls(COUNTRY_OCD, "United States", DivisionType.COUNTRY, "us", None)

    @classmethod
    def for_place(cls, state: str, name: str, geoid: str | None = None) -> "DivisionRecord":
        """A Census incorporated place; 'Jackson city' (Census NAME) and 'Jackson' are the same place."""
        base = re.sub(r"\s+(city|town|village)$", "", name.strip(), flags=re.I)
        return cls(place_ocd(state, base), base, DivisionType.PLACE, state, geoid)

    @classmethod
    def for_district(cls, state: str, kind: DivisionType, number: int | str) -> "DivisionRecord":
        n = int(number)
        label = {
            DivisionType.CD: "Congressional District" if n else "Congressional District (at large)",
            DivisionType.SLDU: "State Senate District",
            DivisionType.SLDL: "State House District",
        }[kind]
        width = 2 if kind is DivisionType.CD else 3
        name = f"{STATE_NAMES[state]} {label} {n}" if n or kind is not DivisionType.CD else f"{STATE_NAMES[state]} {label}"
        return cls(district_ocd(state, kind, n), name, kind, state, STATE_FIPS[state] + str(n).zfill(width))


@dataclass
class HolderRecord:
    """The person a source says holds an office now."""

    person_key: str
    name: str
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    party: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    bioguide_id: Optional[str] = None
    ocd_person_id: Optional[str] = None
    start_date: Optional[dt.date] = None
    term_end: Optional[dt.date] = None
    source_url: Optional[str] = None


CONTACT_FIELDS = ("email", "phone", "fax", "postal_address", "web_form_url", "website", "cwc_office_code")
HOLDER_FIELDS = tuple(f.name for f in fields(HolderRecord) if f.name != "person_key")


@dataclass
class OfficeRecord:
    """One seat as a source describes it. holder=None means the source says the seat is vacant/unknown."""

    type: OfficeType
    division: DivisionRecord
    title: str
    seat: str = ""
    contact: dict[str, Optional[str]] = field(default_factory=dict)
    holder: Optional[HolderRecord] = None
    source_url: Optional[str] = None


@dataclass
class SyncReport:
    """What one source changed; printed by the CLI and stored in sync_runs."""

    source: str
    created: int = 0
    updated: int = 0
    vacated: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "vacated": self.vacated,
                "unchanged": self.unchanged, "problems": len(self.problems)}

    def summary(self) -> str:
        c = self.counts()
        return f"{self.source}: " + ", ".join(f"{v} {k}" for k, v in c.items())


def ensure_division(rec: DivisionRecord, source: str, as_of: dt.date | None) -> tuple[Division, bool]:
    """Find or create the division by OCD id; fill in a missing GEOID. Returns (division, created)."""
    div = db.session.scalar(db.select(Division).where(Division.ocd_id == rec.ocd_id))
    if div is None:
        div = Division(ocd_id=rec.ocd_id, name=rec.name, type=rec.type, state=rec.state, geoid=rec.geoid,
                       source=source, as_of=as_of)
        db.session.add(div)
        db.session.flush()
        return div, True
    if rec.geoid and not div.geoid:
        div.geoid = rec.geoid
    return div, False


def find_office(division: Division, office_type: OfficeType, seat: str = "") -> Optional[Office]:
    return db.session.scalar(
        db.select(Office)
        .where(Office.division_id == division.id, Office.type == office_type, Office.seat == seat)
        .options(selectinload(Office.officials))
    )


def _apply_fields(obj: object, values: dict[str, object]) -> list[str]:
    """Set attributes that differ; None never overwrites (a source lacking a field keeps staff edits)."""
    changed = []
    for key, value in values.items():
        if value is None or value == "":
            continue
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


def apply_office(rec: OfficeRecord, source: str, as_of: dt.date | None, report: SyncReport,
                 *, vacate_when_empty: bool = True) -> Office:
    """Upsert one seat and its holder; history is kept when the holder changes."""
    if OFFICE_DIVISION[rec.type] is not rec.division.type:
        raise SourceError(f"{rec.type.value} cannot sit in a {rec.division.type.value} division")
    division, _ = ensure_division(rec.division, source, as_of)
    office = find_office(division, rec.type, rec.seat)
    created = office is None
    if office is None:
        office = Office(division=division, type=rec.type, seat=rec.seat, title=rec.title, source=source,
                        source_url=rec.source_url, as_of=as_of)
        db.session.add(office)
        db.session.flush()
        office_changes: list[str] = []
    else:
        office_changes = _apply_fields(office, {"title": rec.title})
    office_changes += _apply_fields(office, {k: rec.contact.get(k) for k in CONTACT_FIELDS})

    holder = office.holder
    what: list[str] = []
    holder_changes: list[str] = []
    if rec.holder is None:
        if holder is not None and vacate_when_empty and holder.source == source:
            holder.left_on = as_of or dt.date.today()
            report.vacated += 1
            report.changes.append(f"{office.title}: vacant (was {holder.name})")
            _touch(office, source, as_of, rec.source_url)
            return office
    elif holder is None or holder.person_key != rec.holder.person_key:
        if holder is not None:
            holder.left_on = as_of or dt.date.today()
            what.append(f"new holder {rec.holder.name} (was {holder.name})")
        elif not created:
            what.append(f"filled by {rec.holder.name}")
        new = Official(office=office, person_key=rec.holder.person_key, source=source, as_of=as_of, name=rec.holder.name)
        _apply_fields(new, {k: getattr(rec.holder, k) for k in HOLDER_FIELDS})
        db.session.add(new)
    else:
        changed = holder_changes = _apply_fields(holder, {k: getattr(rec.holder, k) for k in HOLDER_FIELDS})
        if changed:
            holder.as_of = as_of
            what.append(f"{holder.name}: " + ", ".join(f"{c} changed" for c in changed))
    # A contact change the holder's line already reports (e.g. the seat's email follows the holder's) is said once.
    what += [f"{c} changed" for c in office_changes if not created and c not in holder_changes]

    if created:
        report.created += 1
        report.changes.append(f"{office.title}: new office" + (f", held by {rec.holder.name}" if rec.holder else ""))
    elif what:
        report.updated += 1
        report.changes.append(f"{office.title}: " + "; ".join(what))
    else:
        report.unchanged += 1
    if created or what:
        _touch(office, source, as_of, rec.source_url)
    db.session.flush()
    return office


def _touch(office: Office, source: str, as_of: dt.date | None, source_url: str | None) -> None:
    office.source = source
    office.as_of = as_of
    if source_url:
        office.source_url = source_url


def apply_offices(records: Iterable[OfficeRecord], source: str, as_of: dt.date | None,
                  *, scope: tuple[str, Iterable[OfficeType]] | None = None,
                  report: SyncReport | None = None) -> SyncReport:
    """Upsert every record; with scope=(state, types), seats of those types the source no longer lists
    lose their holder (a vacancy: the holder's row is ended, never deleted)."""
    report = report or SyncReport(source)
    seen: set[int] = set()
    for rec in records:
        seen.add(apply_office(rec, source, as_of, report).id)
    if scope is not None:
        state, types = scope
        stale = db.session.scalars(
            db.select(Office).join(Division)
            .where(Division.state == state, Office.type.in_(list(types)), Office.id.not_in(seen or {-1}))
            .options(selectinload(Office.officials))
        ).all()
        for office in stale:
            holder = office.holder
            if holder is not None and holder.source == source:
                holder.left_on = as_of or dt.date.today()
                report.vacated += 1
                report.changes.append(f"{office.title}: vacant (was {holder.name})")
                _touch(office, source, as_of, None)
    db.session.flush()
    return report


def offices_for_division(division: Division) -> list[Office]:
    return list(db.session.scalars(
        db.select(Office).where(Office.division_id == division.id)
        .options(selectinload(Office.officials)).order_by(Office.type, Office.seat)
    ))


def find_divisions(key: str) -> list[Division]:
    """Divisions matching an OCD id, a Census GEOID/FIPS (28049 is a county, but 28037 is both Franklin
    County and Senate District 37, so several may match), or a county name ('Hinds', 'Hinds County')."""
    key = key.strip()
    if key.startswith("ocd-division/"):
        return list(db.session.scalars(db.select(Division).where(Division.ocd_id == key)))
    if key.isdigit():
        return list(db.session.scalars(db.select(Division).where(Division.geoid == key).order_by(Division.type)))
    name = re.sub(r"\s+county$", "", key, flags=re.I)
    return list(db.session.scalars(
        db.select(Division).where(Division.type == DivisionType.COUNTY,
                                  db.func.lower(Division.name) == f"{name.lower()} county")
    ))


def describe_division(division: Division) -> dict[str, object]:
    """A division with its offices, holders and 287(g) agreements, as plain data (for CLI/JSON)."""
    offices = []
    for office in offices_for_division(division):
        holder = office.holder
        offices.append({
            "title": office.title, "type": office.type.value, "seat": office.seat,
            "email": office.email, "phone": office.phone, "fax": office.fax,
            "postal_address": office.postal_address, "web_form_url": office.web_form_url,
            "cwc_office_code": office.cwc_office_code,
            "source": office.source, "as_of": office.as_of,
            "holder": None if holder is None else {
                "name": holder.name, "party": holder.party, "email": holder.email,
                "start_date": holder.start_date, "person_key": holder.person_key,
                "source": holder.source, "as_of": holder.as_of,
            },
            "agreements_287g": [
                {"agency": a.agency, "support_type": a.support_type, "status": a.status.value,
                 "signed_on": a.signed_on, "as_of": a.as_of}
                for a in office.agreements if a.ended_on is None
            ],
            "former_holders": [
                {"name": o.name, "left_on": o.left_on} for o in office.officials if o.left_on is not None
            ],
        })
    return {"ocd_id": division.ocd_id, "name": division.name, "type": division.type.value,
            "geoid": division.geoid, "offices": offices}
