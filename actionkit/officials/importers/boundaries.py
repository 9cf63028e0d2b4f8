"""GeoJSON boundaries -> one Boundary per division, for point-in-polygon matching and cross-checks.

Reads FeatureCollections of Census-style features: counties (GEOID 5 digits, e.g. us-atlas
`ms_counties_us-atlas-2023_10m.geojson`), congressional districts (CD119FP / 4-digit GEOID, `ms_cd119.geojson`),
state outlines (2-digit GEOID) and, if given, TIGER/cartographic SLDU/SLDL files (SLDUST/SLDLST). Features of
other states are skipped, so a national file works too; when a folder also holds state files, the national file
is left out by select(). TopoJSON and bare geometries are not claimed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import shapely
from shapely.geometry import mapping, shape

from actionkit.extensions import db
from actionkit.officials.importers import ImportContext
from actionkit.officials.models import Boundary, Division, DivisionType
from actionkit.officials.services import (
    STATE_FIPS, DivisionRecord, SourceError, SyncReport, ensure_division,
)

KIND = "boundaries"
ORDER = 60

_FEATURE_COLLECTION = re.compile(r'"type"\s*:\s*"FeatureCollection"')
_CD_FIELD = re.compile(r"^CD\d+FP$")
_NATIONAL = re.compile(r"national", re.I)


def sniff(path: Path, head: str) -> bool:
    """A GeoJSON FeatureCollection (.geojson/.json); TopoJSON and geocoder responses are not."""
    return (path.suffix.lower() in (".geojson", ".json") and path.is_file()
            and bool(_FEATURE_COLLECTION.search(head)) and '"Topology"' not in head)


def select(paths: list[Path]) -> list[Path]:
    """Skip national files (e.g. the 3.4 MB 119th-Congress CD file) in folders that also hold state files."""
    kept = []
    for path in paths:
        siblings = [p for p in paths if p.parent == path.parent and p != path]
        if _NATIONAL.search(path.stem) and any(not _NATIONAL.search(p.stem) for p in siblings):
            continue
        kept.append(path)
    return kept


@dataclass
class Shape:
    """One feature of the state, classified and validated, before anything touches the database."""

    division: DivisionRecord
    geometry: str  # GeoJSON geometry, compact JSON
    repaired: bool


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def classify(props: Mapping[str, Any], feature_id: Any, state: str) -> DivisionRecord | None:
    """The division a feature describes, or None when it belongs to another state or is not one of ours."""
    p = {str(k).upper(): v for k, v in (props or {}).items()}
    geoid = _text(p.get("GEOID")) or _text(feature_id)
    fips = STATE_FIPS[state]
    statefp = _text(p.get("STATEFP")) or geoid[:2]
    if statefp.zfill(2) != fips or not geoid.isdigit():
        return None
    name = _text(p.get("NAME")) or _text(p.get("BASENAME")) or _text(p.get("NAMELSAD"))
    cd_field = next((k for k in p if _CD_FIELD.match(k)), None)
    lsad = _text(p.get("LSAD"))
    if cd_field or lsad == "C2" or len(geoid) == 4:
        number = _text(p.get(cd_field)) if cd_field else geoid[2:]
        return DivisionRecord.for_district(state, DivisionType.CD, number) if number.isdigit() else None
    if "SLDUST" in p or lsad == "LU":
        number = _text(p.get("SLDUST")) or geoid[2:]
        return DivisionRecord.for_district(state, DivisionType.SLDU, number) if number.isdigit() else None
    if "SLDLST" in p or lsad == "LL":
        number = _text(p.get("SLDLST")) or geoid[2:]
        return DivisionRecord.for_district(state, DivisionType.SLDL, number) if number.isdigit() else None
    if len(geoid) == 5:
        return DivisionRecord.for_county(state, name or geoid, geoid)
    if len(geoid) == 2:
        return DivisionRecord.for_state(state)
    return None


def parse(path: Path, state: str) -> tuple[list[Shape], int]:
    """Every feature of `state`, validated; returns (shapes, features of other states skipped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"not valid GeoJSON: {exc}", path=str(path)) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise SourceError("not a GeoJSON FeatureCollection", path=str(path))
    shapes: list[Shape] = []
    seen: dict[str, int] = {}
    skipped = 0
    for i, feature in enumerate(data["features"], start=1):
        if not isinstance(feature, dict):
            raise SourceError(f"feature {i} is not an object", path=str(path))
        rec = classify(feature.get("properties") or {}, feature.get("id"), state)
        if rec is None:
            skipped += 1
            continue
        raw = feature.get("geometry")
        if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
            raise SourceError(f"feature {i} ({rec.name}) has no polygon geometry", path=str(path))
        try:
            geom = shape(raw)
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
            raise SourceError(f"feature {i} ({rec.name}): bad coordinates ({exc})", path=str(path)) from None
        if geom.is_empty:
            raise SourceError(f"feature {i} ({rec.name}): empty geometry", path=str(path))
        repaired = not geom.is_valid
        if repaired:
            geom = shapely.make_valid(geom)
            polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
            geom = shapely.union_all(polys)
            raw = mapping(geom)
        if rec.ocd_id in seen:
            raise SourceError(f"feature {i}: {rec.name} already given by feature {seen[rec.ocd_id]}", path=str(path))
        seen[rec.ocd_id] = i
        shapes.append(Shape(rec, json.dumps(raw, separators=(",", ":")), repaired))
    return shapes, skipped


class _Divisions:
    """The state's divisions, fetched once: by GEOID (whatever name another source gave them), else OCD id."""

    def __init__(self, state: str, as_of: Any) -> None:
        self.as_of = as_of
        rows = db.session.scalars(db.select(Division).where(Division.state == state)).all()
        self.by_geoid = {(d.type, d.geoid): d for d in rows if d.geoid}
        self.by_ocd = {d.ocd_id: d for d in rows}

    def get(self, rec: DivisionRecord) -> Division:
        found = self.by_geoid.get((rec.type, rec.geoid)) or self.by_ocd.get(rec.ocd_id)
        if found is None:
            found = ensure_division(rec, KIND, self.as_of)[0]
            self.by_ocd[found.ocd_id] = found
        elif rec.geoid and not found.geoid:
            found.geoid = rec.geoid
        return found


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Upsert one Boundary per division of the state found in the file; re-runs change nothing."""
    shapes, skipped = parse(path, state)
    as_of = ctx.date_for(path)
    report = SyncReport(KIND)
    if not shapes:
        report.problems.append(f"{path.name}: no {state.upper()} features ({skipped} of other states/kinds)")
        return report
    divisions = _Divisions(state, as_of)
    boundaries = {b.division_id: b for b in db.session.scalars(
        db.select(Boundary).join(Division, Boundary.division_id == Division.id).where(Division.state == state))}
    for item in ctx.progress(shapes, len(shapes), f"{KIND} {path.stem[:20]}"):
        division = divisions.get(item.division)
        if item.repaired:
            report.problems.append(f"{division.name}: invalid polygon repaired (make_valid)")
        boundary = boundaries.get(division.id)
        if boundary is None:
            db.session.add(Boundary(division=division, geometry=item.geometry, source=KIND, as_of=as_of))
            report.created += 1
            report.changes.append(f"{division.name}: boundary added")
        elif boundary.geometry != item.geometry:
            boundary.geometry, boundary.source, boundary.as_of = item.geometry, KIND, as_of
            report.updated += 1
            report.changes.append(f"{division.name}: boundary changed")
        else:
            report.unchanged += 1
    db.session.flush()
    return report
