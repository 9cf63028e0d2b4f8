"""A state's whole officials directory as one small gzip'd JSON file, so `make demo` can load it offline.

Layout (version 1), keys in this order so a sniffer sees the format in the first bytes:
    format, version, state, exported_at, provenance, divisions, offices, agreements_287g, boundaries,
    zip_divisions
Rows are plain objects with sorted keys, lists sorted by their natural key, gzip mtime 0: exporting the same
database twice gives identical bytes. `exported_at` is the finish time of the newest sync recorded in the
provenance (not the wall clock) for the same reason. Loading is done by importers/snapshot.py.
"""
from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy.orm import selectinload

from actionkit.extensions import db
from actionkit.officials.models import Agreement287g, Boundary, Division, Office, SyncRun, ZipDivision
from actionkit.officials.services import CONTACT_FIELDS, HOLDER_FIELDS, SourceError

FORMAT = "actionkit-officials-snapshot"
VERSION = 1
SNAPSHOT_KIND = "snapshot"  # sync_runs.source of a snapshot load; left out of a re-export's provenance

DIVISION_FIELDS = ("ocd_id", "name", "type", "state", "geoid", "source", "as_of")
OFFICE_FIELDS = ("type", "seat", "title", *CONTACT_FIELDS, "source", "source_url", "as_of")
OFFICIAL_FIELDS = ("person_key", *HOLDER_FIELDS, "left_on", "source", "as_of")
AGREEMENT_FIELDS = ("state", "agency", "agency_type", "county", "support_type", "status", "signed_on", "moa_url",
                    "addendum_url", "ended_on", "source", "as_of")
SECTIONS = ("divisions", "offices", "agreements_287g", "boundaries", "zip_divisions")

_HEAD = re.compile(r'^\ufeff?\s*\{\s*"format"\s*:\s*"' + re.escape(FORMAT) + '"')


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "value"):  # str enums
        return value.value
    return value


def _row(obj: object, names: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    row = {name: _plain(getattr(obj, name)) for name in names}
    row.update(extra)
    return dict(sorted(row.items()))


def _canon(row: Any) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sorted(rows: list[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    """Natural key first, then the whole row, so equal keys still sort the same way every time."""
    return sorted(rows, key=lambda r: (tuple(_canon(r.get(k)) for k in key), _canon(r)))


def office_key(office: Office) -> list[str]:
    """How rows refer to an office inside a snapshot: [division OCD id, type, seat]."""
    return [office.division.ocd_id, office.type.value, office.seat]


def _provenance() -> list[dict[str, Any]]:
    """The newest sync of each (source, file name); file names only, never local paths."""
    latest: dict[tuple[str, str], SyncRun] = {}
    for run in db.session.scalars(db.select(SyncRun).where(SyncRun.source != SNAPSHOT_KIND).order_by(SyncRun.id)):
        name = re.split(r"[\\/]", run.location.rstrip("/\\"))[-1]
        key = (run.source, name)
        if key not in latest or _plain(run.finished_at) >= _plain(latest[key].finished_at):
            latest[key] = run
    rows = [
        {"source": source, "location": name, "sha256": run.sha256, "as_of": _plain(run.as_of),
         "finished_at": _plain(run.finished_at)}
        for (source, name), run in latest.items()
    ]
    return _sorted(rows, "source", "location")


def collect(state: str) -> dict[str, Any]:
    """The state's directory as snapshot data (see the module docstring)."""
    divisions = list(db.session.scalars(db.select(Division).where(Division.state == state)))
    ids = {d.id: d.ocd_id for d in divisions}
    offices = list(db.session.scalars(
        db.select(Office).join(Division).where(Division.state == state)
        .options(selectinload(Office.officials), selectinload(Office.division))
    ))
    office_rows = []
    for office in offices:
        people = _sorted([_row(o, OFFICIAL_FIELDS) for o in office.officials], "left_on", "start_date", "person_key")
        # Current holders last, like the id order Office.holder relies on.
        people.sort(key=lambda r: r["left_on"] is None)
        office_rows.append(_row(office, OFFICE_FIELDS, division=office.division.ocd_id, officials=people))
    agreements = list(db.session.scalars(
        db.select(Agreement287g).where(db.func.lower(Agreement287g.state) == state)
        .options(selectinload(Agreement287g.office).selectinload(Office.division))
    ))
    boundaries = list(db.session.scalars(db.select(Boundary).where(Boundary.division_id.in_(ids or [-1]))))
    zips = list(db.session.scalars(db.select(ZipDivision).where(ZipDivision.division_id.in_(ids or [-1]))))
    provenance = _provenance()
    finished = [p["finished_at"] for p in provenance if p["finished_at"]]
    return {
        "format": FORMAT,
        "version": VERSION,
        "state": state,
        "exported_at": max(finished) if finished else None,
        "provenance": provenance,
        "divisions": _sorted([_row(d, DIVISION_FIELDS) for d in divisions], "ocd_id"),
        "offices": _sorted(office_rows, "division", "type", "seat"),
        "agreements_287g": _sorted(
            [_row(a, AGREEMENT_FIELDS, office=office_key(a.office) if a.office else None) for a in agreements],
            "agency", "support_type", "status"),
        "boundaries": _sorted(
            [_row(b, ("geometry", "source", "as_of"), division=ids[b.division_id]) for b in boundaries], "division"),
        "zip_divisions": _sorted(
            [_row(z, ("zip", "source"), division=ids[z.division_id]) for z in zips], "zip", "division"),
    }


def dumps(data: dict[str, Any]) -> bytes:
    """Gzip'd compact JSON, byte-for-byte reproducible (no file name or time in the gzip header)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8") + b"\n")
    return buf.getvalue()


def export(state: str, path: Path) -> dict[str, int]:
    """Write the state's directory to path (gzip'd, or plain JSON when the name ends in .json); return counts."""
    data = collect(state)
    path = Path(path)
    if path.name.endswith(".json"):
        raw = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    else:
        raw = dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    return {
        "divisions": len(data["divisions"]),
        "offices": len(data["offices"]),
        "officials": sum(len(o["officials"]) for o in data["offices"]),
        "agreements_287g": len(data["agreements_287g"]),
        "boundaries": len(data["boundaries"]),
        "zip_divisions": len(data["zip_divisions"]),
    }


def looks_like(path: Path, head: str) -> bool:
    """Cheap check: a .json/.json.gz file that starts with our format field (reads ~512 bytes)."""
    name = path.name.lower()
    if not path.is_file() or not (name.endswith(".json") or name.endswith(".json.gz")):
        return False
    if name.endswith(".json"):
        return bool(_HEAD.match(head))
    try:
        with gzip.open(path, "rb") as gz:
            start = gz.read(512)
    except (OSError, EOFError, zlib.error):
        return False
    return bool(_HEAD.match(start.decode("utf-8", errors="replace")))


def read(path: Path) -> dict[str, Any]:
    """The whole snapshot as data; SourceError for a corrupt file, another format or an unknown version."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"not a readable snapshot ({type(exc).__name__}: {exc})", path=str(path)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SourceError(f"not an {FORMAT} file", path=str(path))
    if data.get("version") != VERSION:
        raise SourceError(f"snapshot version {data.get('version')!r} is not supported (this actionkit reads "
                          f"version {VERSION}); export it again with this version", path=str(path))
    for section in ("provenance", *SECTIONS):
        if not isinstance(data.get(section, []), list):
            raise SourceError(f"{section} must be a list", path=str(path))
    return data
