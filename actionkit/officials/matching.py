"""Address matching: a supporter's address -> districts -> offices and their current holders.

Evidence, best first: the cache (districts only, keyed by an HMAC of the normalised address), the Census
geocoder (street level), then the ZIP crosswalk (ZIP level: the supporter confirms; state legislative districts
stay *pending* until resolve_pending() succeeds). A shared location goes to the Census coordinates search, else
to the boundary polygons. Nothing is ever guessed: ambiguity becomes candidates, missing evidence becomes pending
levels, and each problem with the input is an AddressError with a translatable message.

Accuracy grades: "rooftop" = a precise point (a shared device location); "street" = the Census geocoder
interpolated the house number along its street segment; "zip" = ZIP only (low accuracy, supporter must
confirm); "none" = only the state is known. Services here flush (cache rows) and never commit.
"""
from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, cast

import usaddress
from flask import current_app
from shapely.geometry import Point, shape
from shapely.prepared import prep
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials import geocoders, services
from actionkit.officials.geocoders import AddressQuery, Area, GeocodeResult, Geocoder
from actionkit.officials.models import (
    OFFICE_DIVISION, Boundary, Division, DivisionType, GeocodeCacheEntry, Office, OfficeType, ZipDivision,
)

log = logging.getLogger(__name__)


def _l(text: str) -> str:
    """Marks a message for translation; identity until Flask-Babel's lazy_gettext is wired in."""
    return text


# Message ids -> English text. Errors are raised as AddressError(code); notices are Match.warnings codes.
MESSAGES: dict[str, str] = {
    "address_empty": _l("Please enter your street address."),
    "address_too_long": _l("That address is too long. Please enter only your street address, city and ZIP code."),
    "address_invalid_characters": _l("The address contains characters we cannot use. Please type it again "
                                     "with letters, numbers and ordinary punctuation."),
    "address_not_latin": _l("Please write your address in Latin letters, the way it appears on your mail."),
    "address_po_box": _l("Please give the street address where you live. A P.O. box does not tell us who "
                         "represents you."),
    "address_incomplete": _l("Please enter your full street address: house number, street, and city or ZIP code."),
    "address_outside_state": _l("This address is outside %(state)s. This campaign is for people who live in "
                                "%(state)s."),
    "address_not_found": _l("We could not find this address. Please check the house number, street name and "
                            "ZIP code."),
    "location_invalid": _l("We could not read that location. Please enter your address instead."),
    "location_outside_state": _l("That location is outside %(state)s. This campaign is for people who live in "
                                 "%(state)s."),
    "zip_only": _l("We could only place you by your ZIP code. Please check that these are your officials."),
    "zip_spans_districts": _l("Your ZIP code is split between districts. Please choose yours, or enter your "
                              "full street address."),
    "several_addresses": _l("We found more than one address like yours. Please choose yours."),
    "geocoder_unavailable": _l("Our address service is not answering right now. Your letters are saved and will "
                               "go to the right officials once your address is matched."),
    "geocoder_partial": _l("Part of our address service did not answer; some of your officials will be added "
                           "later."),
    "address_not_found_zip_used": _l("We could not find your street address, so we used your ZIP code. Please "
                                     "check your address."),
    "rural_route": _l("Rural route addresses cannot be placed on a map, so we used your ZIP code."),
    "levels_pending": _l("Some of your officials will be added once your full address is matched."),
    "near_district_line": _l("Your location is close to a district line. Please choose your district, or enter "
                             "your address."),
    "district_recently_redrawn": _l("Your state legislative district was redrawn recently; we will double-check "
                                    "it before your letter is delivered."),
    "boundary_disagreement": _l("Our map data disagree about your district; we will double-check it before your "
                                "letter is delivered."),
    "division_not_in_directory": _l("One of your districts is not in our directory yet."),
    "no_office": _l("We do not have one of your officials in our directory yet."),
    "no_city_police": _l("Your address is outside any city or town, so you have no city police: your sheriff is "
                         "your local law enforcement."),
    "place_not_in_directory": _l("Your city or town's police department is not in our directory yet, so no letter "
                                 "goes to its police chief."),
}


def message(code: str, **params: object) -> str:
    """The English text of a message id (the UI passes the id through gettext instead)."""
    text = MESSAGES[code]
    return text % params if params else text


class AddressError(ValueError):
    """Input we cannot match; `code` is the message id for the UI, str() the English text."""

    def __init__(self, code: str, **params: object) -> None:
        self.code, self.params = code, params
        super().__init__(message(code, **params))


class Accuracy(str, enum.Enum):
    ROOFTOP = "rooftop"
    STREET = "street"
    ZIP = "zip"
    NONE = "none"


MAX_ADDRESS_CHARS = 200
ALL_LEVELS: tuple[OfficeType, ...] = tuple(OfficeType)
DISTRICT_TYPES = (DivisionType.COUNTY, DivisionType.CD, DivisionType.SLDU, DivisionType.SLDL)

# Court-ordered remedial districts with Nov 2025 special elections (shared/data NOTES section 6): the Census
# "2024 State Legislative Districts" layer most likely predates them, so answers there get checked by hand.
RECENTLY_REDRAWN: dict[str, dict[DivisionType, frozenset[int]]] = {
    "ms": {DivisionType.SLDU: frozenset({2, 24, 26, 42, 44, 45}), DivisionType.SLDL: frozenset({22})},
}


# --- the result -------------------------------------------------------------------------------------------------

@dataclass
class Match:
    """Where an address (or point) is, which seats it elects for the requested levels, and how sure we are."""

    state: str
    accuracy: Accuracy
    source: str  # "census", "cache", "zip", "boundaries", "none"
    levels: tuple[OfficeType, ...]
    divisions: dict[DivisionType, Division] = field(default_factory=dict)
    candidates: dict[DivisionType, list[Division]] = field(default_factory=dict)  # supporter picks one
    offices: dict[OfficeType, list[Office]] = field(default_factory=dict)  # current holder: office.holder
    pending: frozenset[OfficeType] = frozenset()  # levels whose district is not known yet
    absent: frozenset[DivisionType] = frozenset()  # e.g. no incorporated place: no city police to write to
    warnings: list[str] = field(default_factory=list)  # message ids
    address_candidates: list[str] = field(default_factory=list)  # geocoder's matched addresses, when several
    retryable: bool = False  # pending levels may resolve by retrying the geocoder later (resolve_pending)

    @property
    def needs_confirmation(self) -> bool:
        """True when the supporter must confirm or choose before letters are addressed."""
        return self.accuracy in (Accuracy.ZIP, Accuracy.NONE) or bool(self.candidates or self.address_candidates)

    @property
    def complete(self) -> bool:
        return not self.pending and not self.candidates and not self.address_candidates

    def holders(self) -> list[tuple[Office, Any]]:
        """(office, current holder or None) for every matched seat, in level order."""
        return [(o, o.holder) for level in self.levels for o in self.offices.get(level, [])]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (CLI, API)."""
        def div(d: Division) -> dict[str, Any]:
            return {"ocd_id": d.ocd_id, "name": d.name, "geoid": d.geoid, "in_directory": d.id is not None}

        def office(o: Office) -> dict[str, Any]:
            h = o.holder
            return {"title": o.title, "type": o.type.value, "seat": o.seat, "division": o.division.ocd_id,
                    "email": o.email, "phone": o.phone, "postal_address": o.postal_address,
                    "web_form_url": o.web_form_url,
                    "holder": None if h is None else {"name": h.name, "party": h.party, "email": h.email,
                                                      "person_key": h.person_key}}

        return {
            "state": self.state, "accuracy": self.accuracy.value, "source": self.source,
            "needs_confirmation": self.needs_confirmation, "retryable": self.retryable,
            "levels": [lv.value for lv in self.levels],
            "divisions": {t.value: div(d) for t, d in self.divisions.items()},
            "candidates": {t.value: [div(d) for d in ds] for t, ds in self.candidates.items()},
            "offices": {lv.value: [office(o) for o in os] for lv, os in self.offices.items()},
            "pending": sorted(lv.value for lv in self.pending),
            "absent": sorted(t.value for t in self.absent),
            "warnings": [{"code": w, "message": message(w)} for w in self.warnings],
            "address_candidates": list(self.address_candidates),
        }


# --- input: validation and normalisation -------------------------------------------------------------------------

_ALLOWED_SYMBOLS = set("#&/+°'’\"“”-.,;:()")
_DIRECTIONS = {"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW",
               "SOUTHEAST": "SE", "SOUTHWEST": "SW"}
_STREET_TYPES = {
    "STREET": "ST", "AVENUE": "AVE", "AV": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD", "LANE": "LN",
    "COURT": "CT", "PLACE": "PL", "HIGHWAY": "HWY", "PARKWAY": "PKWY", "CIRCLE": "CIR", "TERRACE": "TER",
    "TRAIL": "TRL", "SQUARE": "SQ", "PLAZA": "PLZ", "CROSSING": "XING", "EXPRESSWAY": "EXPY", "FREEWAY": "FWY",
    "COVE": "CV", "POINT": "PT", "RIDGE": "RDG", "PIKE": "PIKE", "LOOP": "LOOP", "WAY": "WAY", "ALLEY": "ALY",
}
_STREET_PARTS = ("StreetNamePreModifier", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
                 "StreetNamePostType", "StreetNamePostDirectional")


@dataclass(frozen=True)
class NormalizedAddress:
    """The parts of an address that decide its districts, in canonical upper case (the unit is dropped)."""

    number: str
    street: str
    city: str
    state: str | None  # lower-case postal code when the supporter gave one
    zip: str | None
    kind: str  # "street" or "rural_route"

    def cache_text(self, default_state: str) -> str:
        """Stable text for the cache key: city only counts when there is no ZIP."""
        return "|".join([self.number, self.street, "" if self.zip else self.city,
                         self.state or default_state, self.zip or ""])

    def query(self, default_state: str) -> AddressQuery:
        street = f"{self.number} {self.street}".strip()
        state = (self.state or default_state).upper()
        if self.city or self.zip:
            return AddressQuery(street=street, city=self.city, state=state, zip=self.zip or "")
        return AddressQuery(oneline=f"{street}, {state}")


def _canonical(part: str, table: Mapping[str, str]) -> str:
    word = part.upper().replace(".", "").strip()
    return table.get(word, word)


def _check_characters(text: str) -> None:
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "C":
            raise AddressError("address_invalid_characters")
        if category[0] == "L" and "LATIN" not in unicodedata.name(ch, ""):
            raise AddressError("address_not_latin")
        if category == "Nd" and not ch.isascii():
            raise AddressError("address_not_latin")
        if category[0] in "SP" and ch not in _ALLOWED_SYMBOLS and not (category == "Pd"):
            raise AddressError("address_invalid_characters")


def _tags(text: str) -> dict[str, str]:
    try:
        tags, _ = usaddress.tag(text)
        return dict(tags)
    except usaddress.RepeatedLabelError:
        out: dict[str, str] = {}
        for token, label in usaddress.parse(text):
            if label not in out:
                out[label] = token.strip(",")
        return out


def normalise_address(address: str | Mapping[str, Any] | None) -> NormalizedAddress:
    """Validate and canonicalise what the supporter typed (one line, or form fields street/city/state/zip)."""
    if isinstance(address, Mapping):
        address = ", ".join(str(address.get(k) or "").strip() for k in ("street", "city", "state", "zip")
                            if str(address.get(k) or "").strip())
    if not isinstance(address, str) or not address.strip():
        raise AddressError("address_empty")
    if len(address) > MAX_ADDRESS_CHARS:
        raise AddressError("address_too_long")
    text = unicodedata.normalize("NFC", address)
    text = re.sub(r"\s*[\r\n]+\s*", ", ", text).replace("\t", " ")
    _check_characters(text)
    text = " ".join(text.split()).strip(" ,")
    if not text:
        raise AddressError("address_empty")

    tags = _tags(text)
    if "USPSBoxType" in tags and "USPSBoxGroupType" not in tags:
        raise AddressError("address_po_box")
    state = None
    if tags.get("StateName"):
        try:
            state = services.state_code(tags["StateName"].replace(".", ""))
        except services.SourceError:
            state = None
    zip_match = re.fullmatch(r"(\d{5})(?:-?\d{4})?", tags.get("ZipCode", "").strip())
    zip_code = zip_match.group(1) if zip_match else None
    city = " ".join(tags.get("PlaceName", "").upper().replace(".", "").split())
    if "USPSBoxGroupType" in tags:
        if not zip_code:
            raise AddressError("address_incomplete")
        return NormalizedAddress("", "", city, state, zip_code, "rural_route")
    number = tags.get("AddressNumber", "").upper().strip(" ,")
    parts = []
    for label in _STREET_PARTS:
        if tags.get(label):
            table = _DIRECTIONS if "Directional" in label else _STREET_TYPES if "Type" in label else {}
            parts.append(" ".join(_canonical(w, table) for w in tags[label].split()))
    street = " ".join(" ".join(parts).replace(",", " ").split())
    if not number or not any(ch.isdigit() for ch in number) or not street or not (zip_code or city):
        raise AddressError("address_incomplete")
    return NormalizedAddress(number, street, city, state, zip_code, "street")


def _levels(levels: Iterable[OfficeType | str] | None) -> tuple[OfficeType, ...]:
    if levels is None:
        return ALL_LEVELS
    out = []
    for level in levels:
        value = OfficeType(level.strip() if isinstance(level, str) else level)
        if value not in out:
            out.append(value)
    return tuple(out)


# --- the cache ---------------------------------------------------------------------------------------------------

def cache_key(norm: NormalizedAddress, state: str, geocoder: Geocoder) -> str:
    """Keyed hash (the app's HMAC key) of the normalised address: addresses are guessable, so a plain hash
    would not keep them out of the database. The geocoder's data vintage is part of the key."""
    from actionkit.privacy.crypto import crypto

    return crypto().lookup_hash(f"v2|{geocoder.vintage_key}|{norm.cache_text(state)}", "geocode-cache")


def _cache_get(key: str) -> GeocodeCacheEntry | None:
    return db.session.scalar(db.select(GeocodeCacheEntry).where(
        GeocodeCacheEntry.key == key, GeocodeCacheEntry.expires_at > utcnow()))


def _cache_put(key: str, found: Mapping[DivisionType, list[Division]], accuracy: Accuracy, source: str,
               absent: Iterable[DivisionType] = ()) -> None:
    """Upsert districts (public GEOIDs and names only) under the key; `absent`: division types the geocoder said
    the address is in none of (no incorporated place), stored as null. Concurrent writers just overwrite."""
    payload: dict[str, Any] = {
        # a place's name is the supporter's city: only its GEOID is kept (districts are coarser than that)
        t.value: {"geoid": ds[0].geoid, "name": "" if t is DivisionType.PLACE else ds[0].name}
        for t, ds in found.items() if len(ds) == 1 and ds[0].geoid}
    payload.update({t.value: None for t in absent})
    now = utcnow()
    values = {"key": key, "divisions": payload, "accuracy": accuracy.value, "source": source, "created_at": now,
              "expires_at": now + dt.timedelta(days=float(current_app.config["GEOCODER"]["cache_days"]))}
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(db.session.get_bind().dialect.name)
    if insert is None:
        entry = db.session.scalar(db.select(GeocodeCacheEntry).where(GeocodeCacheEntry.key == key))
        if entry is None:
            db.session.add(GeocodeCacheEntry(**values))
        else:
            for k, v in values.items():
                setattr(entry, k, v)
        db.session.flush()
        return
    stmt = insert(GeocodeCacheEntry).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        k: stmt.excluded[k] for k in ("divisions", "accuracy", "source", "created_at", "expires_at")})
    db.session.execute(stmt)


def purge_expired_cache() -> int:
    """Delete expired cache rows (for a periodic task); returns how many went."""
    result = db.session.execute(db.delete(GeocodeCacheEntry).where(GeocodeCacheEntry.expires_at <= utcnow())
                                .execution_options(synchronize_session="fetch"))
    return int(result.rowcount or 0)


# --- divisions and offices ----------------------------------------------------------------------------------------

def _transient(state: str, area: Area) -> Division:
    """A division the geocoder knows but the directory lacks (not added to the session)."""
    if area.type is DivisionType.COUNTY:
        rec = services.DivisionRecord.for_county(state, area.name or area.geoid, area.geoid)
    elif area.type is DivisionType.PLACE:
        rec = services.DivisionRecord.for_place(state, area.name or area.geoid, area.geoid)
    elif area.type is DivisionType.STATE:
        rec = services.DivisionRecord.for_state(state)
    else:
        rec = services.DivisionRecord.for_district(state, area.type, area.geoid[2:])
    return Division(ocd_id=rec.ocd_id, name=rec.name, type=rec.type, state=state, geoid=rec.geoid,
                    source="geocoder")


def _resolve_areas(state: str, areas: Mapping[DivisionType, list[Area]],
                   warnings: list[str]) -> dict[DivisionType, list[Division]]:
    """Directory divisions for geocoder areas, by (type, GEOID), plus the state itself; one query."""
    fips = services.STATE_FIPS[state]
    wanted = [(t, a) for t, items in areas.items() if t is not DivisionType.STATE for a in items]
    wanted.append((DivisionType.STATE, Area(DivisionType.STATE, fips, services.STATE_NAMES[state])))
    rows = db.session.scalars(db.select(Division).where(
        Division.state == state, Division.geoid.in_({a.geoid for _, a in wanted}))).all()
    by_key = {(d.type, d.geoid): d for d in rows}
    out: dict[DivisionType, list[Division]] = {}
    for t, area in wanted:
        division = by_key.get((t, area.geoid))
        if division is None and t is DivisionType.STATE:
            division = _state_division(state)
        elif division is None:
            division = _transient(state, area)
            log.warning("division %s %s is not in the directory", t.value, area.geoid)
            # A city with no police chief on file yet is common (staff add them as they learn them).
            _warn(warnings, "place_not_in_directory" if t is DivisionType.PLACE else "division_not_in_directory")
        out.setdefault(t, []).append(division)
    return out


def _state_division(state: str) -> Division:
    division = db.session.scalar(db.select(Division).where(Division.ocd_id == services.state_ocd(state)))
    return division or _transient(state, Area(DivisionType.STATE, services.STATE_FIPS[state], ""))


def _country_division() -> Division | None:
    return db.session.scalar(db.select(Division).where(Division.ocd_id == services.COUNTRY_OCD))


def _offices(divisions: Mapping[DivisionType, Division], levels: tuple[OfficeType, ...]) -> dict[OfficeType,
                                                                                                  list[Office]]:
    ids = {d.id: t for t, d in divisions.items() if d.id is not None}
    if not ids or not levels:
        return {}
    rows = db.session.scalars(
        db.select(Office).where(Office.division_id.in_(list(ids)), Office.type.in_(list(levels)))
        .options(joinedload(Office.officials)).order_by(Office.type, Office.seat)).unique().all()
    out: dict[OfficeType, list[Office]] = {}
    for office in rows:
        if OFFICE_DIVISION[office.type] is ids[office.division_id]:
            out.setdefault(office.type, []).append(office)
    return out


def _warn(warnings: list[str], code: str) -> None:
    if code not in warnings:
        warnings.append(code)


def _assemble(state: str, levels: tuple[OfficeType, ...], found: Mapping[DivisionType, list[Division]], *,
              accuracy: Accuracy, source: str, warnings: list[str], retryable: bool = False,
              address_candidates: Iterable[str] = (), absent: Iterable[DivisionType] = ()) -> Match:
    """Turn divisions found (one = resolved, several = candidates) into a Match with offices for `levels`;
    `absent`: division types the address is known to be in none of (its levels are neither offered nor pending)."""
    absent = frozenset(absent)
    places = found.get(DivisionType.PLACE) or []
    if places and all(d.id is None for d in places):
        # A city not in the directory has no police chief on file: nothing to write to, nothing to wait for.
        found = {k: v for k, v in found.items() if k is not DivisionType.PLACE}
        absent |= {DivisionType.PLACE}
    divisions: dict[DivisionType, Division] = {}
    candidates: dict[DivisionType, list[Division]] = {}
    for kind, items in found.items():
        unique = list({d.ocd_id: d for d in items}.values())
        if len(unique) == 1:
            divisions[kind] = unique[0]
        elif unique:
            candidates[kind] = unique
    if DivisionType.STATE not in divisions:
        divisions[DivisionType.STATE] = _state_division(state)
    if DivisionType.COUNTRY not in divisions and OfficeType.FIXED_TARGET in levels:
        country = _country_division()
        if country is not None:  # no fixed target created yet: nothing to write to
            divisions[DivisionType.COUNTRY] = country
    divisions = {k: divisions[k] for k in DivisionType if k in divisions}  # state, county, cd, sldu, sldl, …
    offices = _offices(divisions, levels)
    pending = frozenset(lv for lv in levels if OFFICE_DIVISION[lv] not in divisions
                        and OFFICE_DIVISION[lv] not in candidates and OFFICE_DIVISION[lv] not in absent
                        and lv is not OfficeType.FIXED_TARGET)
    for level in levels:
        division = divisions.get(OFFICE_DIVISION[level])
        if division is not None and division.id is not None and not offices.get(level):
            _warn(warnings, "no_office")
    if OfficeType.POLICE_CHIEF not in levels and "place_not_in_directory" in warnings:
        warnings.remove("place_not_in_directory")  # only worth saying when the campaign writes to police chiefs
    elif DivisionType.PLACE in absent and OfficeType.POLICE_CHIEF in levels \
            and "place_not_in_directory" not in warnings:  # in no city at all, not merely one we lack
        _warn(warnings, "no_city_police")
    redrawn = RECENTLY_REDRAWN.get(state, {})
    for kind, numbers in redrawn.items():
        division = divisions.get(kind)
        if division is not None and division.geoid and int(division.geoid[2:]) in numbers:
            _warn(warnings, "district_recently_redrawn")
    if pending:
        _warn(warnings, "levels_pending")
    return Match(state=state, accuracy=accuracy, source=source, levels=levels, divisions=divisions,
                 candidates=candidates, offices=offices, pending=pending, warnings=warnings,
                 address_candidates=list(address_candidates), retryable=retryable and bool(pending),
                 absent=absent)


def choose(match: Match, division: Division) -> Match:
    """The supporter picked one of the candidates: a new Match with that division resolved."""
    options = match.candidates.get(division.type, [])
    if division.ocd_id not in {d.ocd_id for d in options}:
        raise ValueError(f"{division.ocd_id} is not a candidate of this match")
    found: dict[DivisionType, list[Division]] = {t: [d] for t, d in match.divisions.items()}
    found.update({t: list(ds) for t, ds in match.candidates.items()})
    found[division.type] = [division]
    settled = ("zip_spans_districts", "several_addresses", "near_district_line", "levels_pending", "no_office",
               "no_city_police")
    result = _assemble(match.state, match.levels, found, accuracy=match.accuracy, source=match.source,
                       warnings=[w for w in match.warnings if w not in settled], retryable=match.retryable,
                       address_candidates=match.address_candidates, absent=match.absent)
    if not result.candidates:
        result.address_candidates = []
    elif match.address_candidates:
        _warn(result.warnings, "several_addresses")
    return result


# --- the ZIP fallback -----------------------------------------------------------------------------------------

def _zip_divisions(zip_code: str | None, state: str) -> dict[DivisionType, list[Division]]:
    if not zip_code:
        return {}
    rows = db.session.scalars(
        db.select(Division).join(ZipDivision, ZipDivision.division_id == Division.id)
        .where(ZipDivision.zip == zip_code, Division.state == state).order_by(Division.type, Division.geoid)).all()
    out: dict[DivisionType, list[Division]] = {}
    for division in rows:
        if division not in out.setdefault(division.type, []):
            out[division.type].append(division)
    return out


def _zip_match(norm: NormalizedAddress, state: str, levels: tuple[OfficeType, ...], *, reason: str,
               retryable: bool, not_found: bool = False) -> Match:
    """County and CD candidates from the ZIP (supporter confirms); SLDU/SLDL cannot come from a ZIP: pending."""
    found = _zip_divisions(norm.zip, state)
    warnings = [reason]
    if not found:
        if not_found:
            raise AddressError("address_not_found")
        return _assemble(state, levels, {}, accuracy=Accuracy.NONE, source="none", warnings=warnings,
                         retryable=True)
    _warn(warnings, "zip_only")
    if any(len(ds) > 1 for ds in found.values()):
        _warn(warnings, "zip_spans_districts")
    return _assemble(state, levels, found, accuracy=Accuracy.ZIP, source="zip", warnings=warnings,
                     retryable=retryable)


# --- boundaries: point in polygon ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Indexed:
    division_id: int
    geoid: str
    geom: Any
    prepared: Any
    bounds: tuple[float, float, float, float]


_INDEX: dict[tuple[str, str], tuple[tuple[Any, ...], dict[DivisionType, list[_Indexed]]]] = {}
_INDEX_LOCK = threading.Lock()


def _boundary_index(state: str) -> dict[DivisionType, list[_Indexed]]:
    """Prepared polygons of the state's divisions, built once per process and rebuilt when boundaries change."""
    version = tuple(db.session.execute(
        db.select(db.func.count(Boundary.id), db.func.max(Boundary.updated_at))
        .join(Division, Boundary.division_id == Division.id).where(Division.state == state)).one())
    key = (str(db.session.get_bind().url), state)
    with _INDEX_LOCK:
        cached = _INDEX.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
    rows = db.session.execute(
        db.select(Boundary.geometry, Division.id, Division.type, Division.geoid)
        .join(Division, Boundary.division_id == Division.id).where(Division.state == state)).all()
    index: dict[DivisionType, list[_Indexed]] = {}
    for geometry, division_id, kind, geoid in rows:
        geom = shape(json.loads(geometry))
        if not geom.is_valid:
            geom = geom.buffer(0)
        index.setdefault(kind, []).append(_Indexed(division_id, geoid or "", geom, prep(geom), geom.bounds))
    with _INDEX_LOCK:
        _INDEX[key] = (version, index)
    return index


def _tolerance_degrees() -> float:
    """Boundary files are coarse (1:10m-1:20m): points this close to a line are treated as ambiguous."""
    return float(current_app.config["GEOCODER"]["boundary_tolerance_m"]) / 111_320.0


def _locate(items: list[_Indexed], point: Point, tolerance: float) -> tuple[list[_Indexed], list[_Indexed]]:
    """(polygons containing the point, other polygons within tolerance of it)."""
    containing, near = [], []
    for item in items:
        minx, miny, maxx, maxy = item.bounds
        if not (minx - tolerance <= point.x <= maxx + tolerance and miny - tolerance <= point.y <= maxy + tolerance):
            continue
        if item.prepared.contains(point):
            containing.append(item)
        elif item.geom.distance(point) <= tolerance:
            near.append(item)
    return containing, near


def _cross_check(lat: float | None, lon: float | None, state: str,
                 found: Mapping[DivisionType, list[Division]], warnings: list[str]) -> None:
    """Compare the geocoder's county/CD with the boundary files; log disagreements (GEOIDs only, never
    the address or point) and flag the match when the point is not merely near a line."""
    if lat is None or lon is None:
        return
    index = _boundary_index(state)
    if not index:
        return
    point, tolerance = Point(lon, lat), _tolerance_degrees()
    for kind in (DivisionType.COUNTY, DivisionType.CD):
        divisions = found.get(kind) or []
        if len(divisions) != 1 or not index.get(kind):
            continue
        containing, near = _locate(index[kind], point, tolerance)
        if divisions[0].geoid in {i.geoid for i in containing}:
            continue
        near_line = divisions[0].geoid in {i.geoid for i in near}
        log.warning("geocoder and boundary files disagree on %s: geocoder %s, boundaries %s (%s)", kind.value,
                    divisions[0].geoid, ",".join(i.geoid for i in containing) or "none",
                    "near a line" if near_line else "not near a line")
        if not near_line:
            _warn(warnings, "boundary_disagreement")


def _polygon_divisions(lat: float, lon: float, state: str,
                       warnings: list[str]) -> dict[DivisionType, list[Division]] | None:
    """Divisions whose boundary holds the point (plus those within the tolerance: candidates); None when no
    county or CD boundaries are loaded; AddressError when they are and none is near the point."""
    index = _boundary_index(state)
    if not index.get(DivisionType.COUNTY) and not index.get(DivisionType.CD):
        return None
    point, tolerance = Point(lon, lat), _tolerance_degrees()
    ids: dict[DivisionType, list[int]] = {}
    for kind, items in index.items():
        if kind is DivisionType.STATE:
            continue
        containing, near = _locate(items, point, tolerance)
        if containing or near:
            ids[kind] = [i.division_id for i in containing + near]
            if len(ids[kind]) > 1:
                _warn(warnings, "near_district_line")
    if not ids:
        raise _outside(state, "location_outside_state")
    rows = {d.id: d for d in db.session.scalars(
        db.select(Division).where(Division.id.in_([i for v in ids.values() for i in v])))}
    return {kind: [rows[i] for i in v] for kind, v in ids.items()}


# --- the geocoder path ---------------------------------------------------------------------------------------

def get_geocoder() -> Geocoder:
    """The app's geocoder, built from app.config["GEOCODER"] on first use (never at import time)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    geocoder = app.extensions.get("actionkit.geocoder")
    if geocoder is None:
        geocoder = app.extensions["actionkit.geocoder"] = geocoders.from_config(app.config["GEOCODER"])
    return geocoder


def _outside(state: str, code: str = "address_outside_state") -> AddressError:
    return AddressError(code, state=services.STATE_NAMES[state])


def _from_result(result: GeocodeResult, norm: NormalizedAddress, state: str, levels: tuple[OfficeType, ...],
                 key: str, geocoder: Geocoder, *, fallback: bool) -> Match | None:
    """A Match from geocoder matches; without `fallback`, None when the geocoder alone cannot settle it."""
    fips = services.STATE_FIPS[state]
    matches = [m for m in result.matches if (m.geographies.state_fips or fips) == fips
               and (not m.state or m.state.lower() == state)]
    if result.matches and not matches:
        raise _outside(state)
    if not matches:
        log.info("geocoder found no match; %s", "using the ZIP fallback" if fallback else "still unresolved")
        if not fallback:
            return None
        return _zip_match(norm, state, levels, reason="address_not_found_zip_used", retryable=False,
                          not_found=True)
    areas: dict[DivisionType, list[Area]] = {}
    for m in matches:
        for kind, items in m.geographies.areas.items():
            for area in items:
                if area not in areas.setdefault(kind, []):
                    areas[kind].append(area)
    warnings: list[str] = []
    # The places layer answered with no place: the address is outside any city or town (no city police).
    absent = {DivisionType.PLACE} if all(DivisionType.PLACE in m.geographies.answered
                                         and not m.geographies.areas.get(DivisionType.PLACE)
                                         for m in matches) else set()
    several = len(matches) > 1 and any(len(v) > 1 for v in areas.values())
    found = _resolve_areas(state, {k: v for k, v in areas.items() if k is not DivisionType.STATE}, warnings)
    missing = [k for k in DISTRICT_TYPES if k not in found]
    # No places layer in the answer (not asked for, or an error): city police chiefs wait for a retry.
    places_unknown = OfficeType.POLICE_CHIEF in levels and not any(
        DivisionType.PLACE in m.geographies.answered for m in matches)
    if several:
        if not fallback:
            return None
        _warn(warnings, "several_addresses")
        return _assemble(state, levels, found, accuracy=Accuracy.STREET, source=geocoder.name, warnings=warnings,
                         retryable=bool(missing), address_candidates=[m.matched_address for m in matches],
                         absent=absent)
    if missing:
        log.warning("geocoder answer lacks %s (layer errors: %d)", ",".join(k.value for k in missing),
                    sum(len(m.geographies.layer_errors) for m in matches))
        if not fallback:
            return None
        _warn(warnings, "geocoder_partial")
        from_zip = _zip_divisions(norm.zip, state)
        for kind in missing:
            if from_zip.get(kind):
                found[kind] = from_zip[kind]
                _warn(warnings, "zip_spans_districts" if len(from_zip[kind]) > 1 else "zip_only")
    _cross_check(matches[0].lat, matches[0].lon, state, found, warnings)
    if not missing:
        _cache_put(key, found, Accuracy.STREET, geocoder.name, absent)
    filled_from_zip = any(k in found for k in missing)  # then only ZIP-level for those: the supporter confirms
    return _assemble(state, levels, found, accuracy=Accuracy.ZIP if filled_from_zip else Accuracy.STREET,
                     source=geocoder.name, warnings=warnings, retryable=bool(missing) or places_unknown,
                     absent=absent)


def _prepare(address: str | Mapping[str, Any], state: str, geocoder: Geocoder | None
             ) -> tuple[NormalizedAddress, str, Geocoder, str]:
    state = services.state_code(state)
    norm = normalise_address(address)
    if norm.state and norm.state != state:
        raise _outside(state)
    geocoder = geocoder or get_geocoder()
    return norm, state, geocoder, cache_key(norm, state, geocoder)


def _cache_covers(entry: GeocodeCacheEntry, levels: tuple[OfficeType, ...]) -> bool:
    """False when police chiefs are wanted but the cached answer came without the places layer: ask again."""
    return OfficeType.POLICE_CHIEF not in levels or DivisionType.PLACE.value in entry.divisions


def _from_cache(entry: GeocodeCacheEntry, state: str, levels: tuple[OfficeType, ...]) -> Match:
    areas = {DivisionType(t): [Area(DivisionType(t), v["geoid"], v.get("name") or "")]
             for t, v in entry.divisions.items() if v is not None}
    absent = {DivisionType(t) for t, v in entry.divisions.items() if v is None}
    warnings: list[str] = []
    found = _resolve_areas(state, areas, warnings)
    return _assemble(state, levels, found, accuracy=Accuracy(entry.accuracy), source="cache", warnings=warnings,
                     absent=absent)


def match(address: str | Mapping[str, Any], levels: Iterable[OfficeType | str] | None = None, *,
          state: str = "ms", geocoder: Geocoder | None = None) -> Match:
    """Districts, offices and holders for an address, with an honest accuracy grade; raises AddressError for
    input we cannot use. When the geocoder is down or finds nothing, falls back to the ZIP code."""
    wanted = _levels(levels)
    norm, state, geocoder, key = _prepare(address, state, geocoder)
    entry = _cache_get(key)
    if entry is not None and _cache_covers(entry, wanted):
        return _from_cache(entry, state, wanted)
    if norm.kind == "rural_route":
        return _zip_match(norm, state, wanted, reason="rural_route", retryable=False)
    try:
        result = geocoder.geocode(norm.query(state))
    except geocoders.GeocoderUnavailable as exc:
        log.warning("geocoder unavailable (%s); using the ZIP fallback", exc)
        return _zip_match(norm, state, wanted, reason="geocoder_unavailable", retryable=True)
    except geocoders.GeocoderBadResponse as exc:
        log.error("geocoder sent an unusable response (%s); using the ZIP fallback", exc)
        return _zip_match(norm, state, wanted, reason="geocoder_unavailable", retryable=True)
    return cast(Match, _from_result(result, norm, state, wanted, key, geocoder, fallback=True))


def resolve_pending(address: str | Mapping[str, Any], levels: Iterable[OfficeType | str] | None = None, *,
                    state: str = "ms", geocoder: Geocoder | None = None) -> Match | None:
    """For a retry task: a complete street-level Match, or None while the geocoder still cannot settle it
    (down, no match, several matches, missing layers). AddressError means the address will never resolve."""
    wanted = _levels(levels)
    norm, state, geocoder, key = _prepare(address, state, geocoder)
    entry = _cache_get(key)
    if entry is not None and _cache_covers(entry, wanted):
        return _from_cache(entry, state, wanted)
    if norm.kind == "rural_route":
        return None
    try:
        result = geocoder.geocode(norm.query(state))
    except geocoders.GeocoderError as exc:
        log.info("pending match still unresolved (%s)", exc)
        return None
    found = _from_result(result, norm, state, wanted, key, geocoder, fallback=False)
    return found if found is not None and found.complete else None


def match_point(lat: float, lon: float, levels: Iterable[OfficeType | str] | None = None, *,
                state: str = "ms", geocoder: Geocoder | None = None) -> Match:
    """Districts for a shared location: the Census coordinates search, else the boundary polygons (county and
    CD; SLDU/SLDL pending unless their shapes are loaded). Points near a coarse boundary line get candidates."""
    wanted = _levels(levels)
    state = services.state_code(state)
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise AddressError("location_invalid") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise AddressError("location_invalid")
    geocoder = geocoder or get_geocoder()
    warnings: list[str] = []
    try:
        geos = geocoder.geographies_at(lat, lon)
    except geocoders.GeocoderError as exc:
        log.warning("geocoder unavailable for a point (%s); using boundary files", exc)
        _warn(warnings, "geocoder_unavailable")
        geos = None
    if geos is not None and not geos.areas and not geos.layer_errors:
        raise _outside(state, "location_outside_state")  # the Census answered: no US geography here
    if geos is not None and geos.state_fips not in (None, services.STATE_FIPS[state]):
        raise _outside(state, "location_outside_state")
    found = {} if geos is None else _resolve_areas(
        state, {k: v for k, v in geos.areas.items() if k is not DivisionType.STATE}, warnings)
    if any(len(v) > 1 for v in found.values()):
        _warn(warnings, "near_district_line")
    missing = [k for k in DISTRICT_TYPES if k not in found]
    source = geocoder.name
    if missing:
        if geos is not None:
            _warn(warnings, "geocoder_partial")
        polygons = _polygon_divisions(lat, lon, state, warnings)
        if polygons is None and geos is None:
            return _assemble(state, wanted, {}, accuracy=Accuracy.NONE, source="none", warnings=warnings,
                             retryable=True)
        for kind in missing:
            if polygons and polygons.get(kind):
                found[kind] = polygons[kind]
        source = "boundaries" if geos is None else source
    else:
        _cross_check(lat, lon, state, found, warnings)
    return _assemble(state, wanted, found, accuracy=Accuracy.ROOFTOP, source=source, warnings=warnings,
                     retryable=any(k not in found for k in missing))


__all__ = ["Accuracy", "AddressError", "MESSAGES", "Match", "NormalizedAddress", "cache_key", "choose",
           "get_geocoder", "match", "match_point", "message", "normalise_address", "purge_expired_cache",
           "resolve_pending"]

