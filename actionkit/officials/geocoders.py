"""Geocoders: an address or a point becomes Census geographies (county, CD, SLDU, SLDL), behind one small
interface with classified errors, timeouts, retries and a per-process circuit breaker.

Nothing here logs or stores an address or coordinates; log lines carry only error classes and layer names.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import requests

from actionkit.officials.models import DivisionType

log = logging.getLogger(__name__)


class GeocoderError(Exception):
    """Base class: the geocoder gave no usable answer (the caller falls back, it never guesses)."""


class GeocoderUnavailable(GeocoderError):
    """Timeouts, connection errors, HTTP 5xx or an open circuit: the same request may work later."""


class GeocoderBadResponse(GeocoderError):
    """The service answered, but not with a usable body (malformed JSON, HTTP 4xx, unexpected shape)."""


@dataclass(frozen=True)
class Area:
    """One division a geocoder placed the address in, in Census terms."""

    type: DivisionType
    geoid: str  # "28", "28049", "2802", "28037"
    name: str

    @property
    def number(self) -> int | None:
        """District number for CD/SLDU/SLDL (0 = at-large), None for states and counties."""
        if self.type in (DivisionType.STATE, DivisionType.COUNTY, DivisionType.PLACE):
            return None
        return int(self.geoid[2:])


@dataclass
class Geographies:
    """The areas of one match, by division type, plus the layers that came back as an error status."""

    areas: dict[DivisionType, list[Area]] = field(default_factory=dict)
    layer_errors: list[str] = field(default_factory=list)
    answered: set[DivisionType] = field(default_factory=set)  # layers present and without an error status

    def one(self, kind: DivisionType) -> Area | None:
        """The single area of a type, or None when absent or ambiguous."""
        found = self.areas.get(kind) or []
        return found[0] if len(found) == 1 else None

    @property
    def state_fips(self) -> str | None:
        for kind in (DivisionType.STATE, DivisionType.COUNTY, DivisionType.CD, DivisionType.SLDU,
                     DivisionType.SLDL):
            for area in self.areas.get(kind, []):
                return area.geoid[:2]
        return None


@dataclass
class AddressMatch:
    """One entry of result.addressMatches."""

    matched_address: str
    lon: float | None
    lat: float | None
    state: str | None  # addressComponents.state, e.g. "MS"
    geographies: Geographies


@dataclass
class GeocodeResult:
    """Zero, one or several address matches (several = the supporter must pick)."""

    matches: list[AddressMatch]
    benchmark: str | None = None
    vintage: str | None = None


@dataclass(frozen=True)
class AddressQuery:
    """What is sent to the geocoder: structured fields when known, else one line."""

    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    oneline: str = ""


class Geocoder(Protocol):
    """What matching needs from any geocoder."""

    name: str
    vintage_key: str  # part of the cache key: a different data vintage must not reuse old answers

    def geocode(self, query: AddressQuery) -> GeocodeResult: ...

    def geographies_at(self, lat: float, lon: float) -> Geographies: ...


# --- parsing the real response format --------------------------------------------------------------------------

# Layer names change with each Congress and map year ("115th/116th/119th Congressional Districts",
# "2016/2024 State Legislative Districts - Upper", no prefix in Census2020 vintages): match by suffix.
LAYER_SUFFIXES: tuple[tuple[str, DivisionType], ...] = (
    ("Congressional Districts", DivisionType.CD),
    ("State Legislative Districts - Upper", DivisionType.SLDU),
    ("State Legislative Districts - Lower", DivisionType.SLDL),
    ("Counties", DivisionType.COUNTY),
    ("States", DivisionType.STATE),
    ("Incorporated Places", DivisionType.PLACE),
)
_CD_FIELD = re.compile(r"^CD\d+$")  # CD111, CD115, CD116, CD119 …


def layer_type(name: str) -> DivisionType | None:
    """The division type a Census layer name stands for, whatever its Congress/year prefix."""
    for suffix, kind in LAYER_SUFFIXES:
        if name == suffix or name.endswith(" " + suffix):
            return kind
    return None


def _text(value: Any) -> str:
    """Census values are strings in some vintages and numbers in others; compare them as text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _district(record: Mapping[str, Any], field_names: tuple[str, ...]) -> int | None:
    for key in field_names:
        raw = _text(record.get(key))
        if raw.isdigit():
            return int(raw)
    return None


def parse_record(kind: DivisionType, record: Mapping[str, Any]) -> Area | None:
    """One layer record as an Area; None for error/status entries or districts without a number (e.g. ZZ)."""
    if not isinstance(record, Mapping) or "GEOID" not in record:
        return None
    geoid = _text(record["GEOID"])
    state = _text(record.get("STATE")).zfill(2) if _text(record.get("STATE")) else geoid[:2].zfill(2)
    name = _text(record.get("NAME")) or _text(record.get("BASENAME"))
    if kind is DivisionType.STATE:
        return Area(kind, state, name)
    if kind is DivisionType.COUNTY:
        county = _text(record.get("COUNTY"))
        geoid = state + county.zfill(3) if county.isdigit() else geoid.zfill(5)
        return Area(kind, geoid, name) if geoid.isdigit() and len(geoid) == 5 else None
    if kind is DivisionType.PLACE:
        place = _text(record.get("PLACE"))
        geoid = state + place.zfill(5) if place.isdigit() else geoid.zfill(7)
        name = _text(record.get("BASENAME")) or name
        return Area(kind, geoid, name) if geoid.isdigit() and len(geoid) == 7 else None
    if kind is DivisionType.CD:
        cd_fields = tuple(k for k in record if _CD_FIELD.match(k))
        number = _district(record, cd_fields + ("BASENAME",))
        if number is None and geoid[2:].isdigit():
            number = int(geoid[2:])
        return Area(kind, state + f"{number:02d}", name) if number is not None else None
    key = "SLDU" if kind is DivisionType.SLDU else "SLDL"
    number = _district(record, (key, "BASENAME"))
    return Area(kind, state + f"{number:03d}", name) if number is not None else None


def parse_geographies(geographies: Mapping[str, Any] | None) -> Geographies:
    """Keep the layers we use; records without a GEOID (e.g. {"status": "Layer query encountered an error…"})
    are skipped and their layer noted, so the caller can treat that level as unknown."""
    out = Geographies()
    for layer, records in (geographies or {}).items():
        kind = layer_type(layer)
        if kind is None:
            continue
        if not isinstance(records, list):
            out.layer_errors.append(layer)
            continue
        if not any(isinstance(r, Mapping) and "status" in r and "GEOID" not in r for r in records):
            out.answered.add(kind)  # an empty list is an answer: e.g. no incorporated place here
        for record in records:
            area = parse_record(kind, record)
            if area is None:
                if isinstance(record, Mapping) and "status" in record:
                    out.layer_errors.append(layer)
                continue
            if area not in out.areas.setdefault(kind, []):
                out.areas[kind].append(area)
    return out


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_response(body: Any) -> GeocodeResult:
    """A Census geographies/locations address response; GeocoderBadResponse if it is not one."""
    if not isinstance(body, Mapping) or not isinstance(body.get("result"), Mapping):
        raise GeocoderBadResponse("response has no 'result' object")
    result = body["result"]
    raw_matches = result.get("addressMatches")
    if raw_matches is None:
        raw_matches = []
    if not isinstance(raw_matches, list):
        raise GeocoderBadResponse("'addressMatches' is not a list")
    matches = []
    for raw in raw_matches:
        if not isinstance(raw, Mapping):
            raise GeocoderBadResponse("an address match is not an object")
        coords = raw.get("coordinates") or {}
        components = raw.get("addressComponents") or {}
        matches.append(AddressMatch(
            matched_address=_text(raw.get("matchedAddress")),
            lon=_float(coords.get("x")), lat=_float(coords.get("y")),
            state=_text(components.get("state")).upper() or None,
            geographies=parse_geographies(raw.get("geographies")),
        ))
    given = result.get("input") or {}
    return GeocodeResult(matches,
                         benchmark=(given.get("benchmark") or {}).get("benchmarkName"),
                         vintage=(given.get("vintage") or {}).get("vintageName"))


def parse_coordinates_response(body: Any) -> Geographies:
    """A Census geographies/coordinates response (result.geographies, no addressMatches level)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("result"), Mapping):
        raise GeocoderBadResponse("response has no 'result' object")
    geographies = body["result"].get("geographies")
    if geographies is not None and not isinstance(geographies, Mapping):
        raise GeocoderBadResponse("'geographies' is not an object")
    return parse_geographies(geographies)


# --- circuit breaker --------------------------------------------------------------------------------------------

class CircuitBreaker:
    """After `failures` consecutive failed lookups, fail fast for `reset_seconds`, then let one trial through;
    a success closes it again. Per process: each web worker learns about an outage on its own."""

    def __init__(self, failures: int = 5, reset_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, int(failures))
        self.reset_seconds = float(reset_seconds)
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "open" if self.clock() < self._open_until else "half-open"

    def allow(self) -> bool:
        """May a request go out now? In half-open state only one trial request at a time."""
        with self._lock:
            if self._open_until is None:
                return True
            if self.clock() < self._open_until or self._trial:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._failures, self._open_until, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                if self._open_until is None or self._trial:
                    log.warning("geocoder circuit opened after %d consecutive failures", self._failures)
                self._open_until = self.clock() + self.reset_seconds
            self._trial = False


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(url: str, failures: int, reset_seconds: float) -> CircuitBreaker:
    """The process-wide breaker of one service URL (shared by every app and geocoder object in the process)."""
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(url)
        if breaker is None or (breaker.threshold, breaker.reset_seconds) != (max(1, int(failures)),
                                                                            float(reset_seconds)):
            breaker = _BREAKERS[url] = CircuitBreaker(failures, reset_seconds)
        return breaker


def reset_breakers() -> None:
    """Forget every breaker (tests, or an operator who knows the service is back)."""
    with _BREAKERS_LOCK:
        _BREAKERS.clear()


# --- the Census client ------------------------------------------------------------------------------------------

class CensusGeocoder:
    """US Census Geocoder (geocoding.geo.census.gov): free, no key, no SLA, hence the timeouts and breaker."""

    name = "census"

    def __init__(self, base_url: str, *, benchmark: str = "Public_AR_Current", vintage: str = "Current_Current",
                 layers: str = "all", connect_timeout: float = 3.0, read_timeout: float = 10.0,
                 retries: int = 2, backoff: float = 0.5, total_timeout: float = 15.0,
                 breaker: CircuitBreaker | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.benchmark, self.vintage, self.layers = benchmark, vintage, layers
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.retries, self.backoff, self.total_timeout = int(retries), float(backoff), float(total_timeout)
        self.breaker = breaker or CircuitBreaker()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "actionkit-geocoder/0.1"
        self.sleep = sleep
        self.vintage_key = f"census:{benchmark}:{vintage}"
        self._missing_logged: set[DivisionType] = set()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "CensusGeocoder":
        """Build from app.config["GEOCODER"]; the breaker is shared per service URL within the process."""
        url = str(cfg["census_url"])
        return cls(url, benchmark=str(cfg["benchmark"]), vintage=str(cfg["vintage"]), layers=str(cfg["layers"]),
                   connect_timeout=float(cfg["connect_timeout"]), read_timeout=float(cfg["read_timeout"]),
                   retries=int(cfg["retries"]), backoff=float(cfg["backoff"]),
                   total_timeout=float(cfg["total_timeout"]),
                   breaker=breaker_for(url, int(cfg["breaker_failures"]), float(cfg["breaker_reset_seconds"])))

    def _params(self) -> dict[str, str]:
        return {"benchmark": self.benchmark, "vintage": self.vintage, "layers": self.layers, "format": "json"}

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        """geographies/address when the street is known, else geographies/onelineaddress."""
        if query.street:
            params = {"street": query.street, "city": query.city, "state": query.state, "zip": query.zip}
            path = "geographies/address"
        else:
            params, path = {"address": query.oneline}, "geographies/onelineaddress"
        result = parse_response(self._get(path, {k: v for k, v in params.items() if v} | self._params()))
        for match in result.matches:
            self._note_missing_layers(match.geographies)
        return result

    def geographies_at(self, lat: float, lon: float) -> Geographies:
        """geographies/coordinates for a point (x = longitude, y = latitude)."""
        geos = parse_coordinates_response(self._get("geographies/coordinates",
                                                    {"x": f"{lon:.6f}", "y": f"{lat:.6f}"} | self._params()))
        self._note_missing_layers(geos)
        return geos

    def _note_missing_layers(self, geos: Geographies) -> None:
        """A layer renamed by Census (new Congress / map year) silently vanishes: say so once per process."""
        if not geos.areas or geos.layer_errors:
            return
        for kind in (DivisionType.COUNTY, DivisionType.CD, DivisionType.SLDU, DivisionType.SLDL):
            if kind not in geos.areas and kind not in self._missing_logged:
                self._missing_logged.add(kind)
                log.warning("geocoder response has no %s layer; check ACTIONKIT_GEOCODER__layers "
                            "(layers=%s, vintage=%s)", kind.value, self.layers, self.vintage)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        """One lookup with retries and backoff on 5xx/timeouts, within total_timeout, guarded by the breaker."""
        if not self.breaker.allow():
            raise GeocoderUnavailable("circuit open")
        url = f"{self.base_url}/{path}"
        deadline = time.monotonic() + self.total_timeout
        error: GeocoderUnavailable | None = None
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                resp = self.session.get(url, params=params,
                                        timeout=(min(self.timeout[0], remaining), min(self.timeout[1], remaining)))
            except requests.Timeout:
                error = GeocoderUnavailable("timeout")
            except requests.RequestException as exc:
                error = GeocoderUnavailable(f"connection error ({type(exc).__name__})")
            else:
                if resp.status_code >= 500:
                    error = GeocoderUnavailable(f"HTTP {resp.status_code}")
                elif resp.status_code >= 400:
                    self.breaker.success()  # the service is up; our request was refused
                    raise GeocoderBadResponse(f"HTTP {resp.status_code}")
                else:
                    try:
                        body = resp.json()
                    except ValueError:
                        self.breaker.failure()
                        raise GeocoderBadResponse("malformed JSON") from None
                    self.breaker.success()
                    return body
            pause = self.backoff * (2 ** attempt)
            if attempt < self.retries and deadline - time.monotonic() > pause:
                log.info("geocoder attempt %d failed (%s); retrying", attempt + 1, error)
                self.sleep(pause)
            else:
                break
        self.breaker.failure()
        raise error or GeocoderUnavailable("total timeout exceeded")


class DisabledGeocoder:
    """ACTIONKIT_GEOCODER__backend=none: every lookup is 'unavailable', so matching uses its offline fallback."""

    name = "none"
    vintage_key = "none"

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        raise GeocoderUnavailable("geocoding is switched off")

    def geographies_at(self, lat: float, lon: float) -> Geographies:
        raise GeocoderUnavailable("geocoding is switched off")


def from_config(cfg: Mapping[str, Any]) -> Geocoder:
    """The geocoder app.config["GEOCODER"] describes."""
    if cfg.get("backend") == "none":
        return DisabledGeocoder()
    return CensusGeocoder.from_config(cfg)
