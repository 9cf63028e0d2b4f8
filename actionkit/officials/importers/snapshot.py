"""Our own snapshot format (officials/snapshot.py): the whole directory of one state, for offline loads.

Every row keeps the source and as-of date it had when exported. Loading is additive like every sync: it
creates or updates through the services and never deletes; a second load of the same file changes nothing.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from actionkit.extensions import db
from actionkit.officials import snapshot
from actionkit.officials.importers import ImportContext
from actionkit.officials.models import (
    OFFICE_DIVISION, Agreement287g, AgreementStatus, Boundary, Division, DivisionType, Office, OfficeType,
    Official, SyncRun, ZipDivision,
)
from actionkit.officials.services import (
    CONTACT_FIELDS, HOLDER_FIELDS, DivisionRecord, HolderRecord, OfficeRecord, SourceError, SyncReport,
    apply_office, ensure_division, find_office,
)

KIND = snapshot.SNAPSHOT_KIND
ORDER = 5

OfficeKey = tuple[str, str, str]


def sniff(path: Path, head: str) -> bool:
    """A .json.gz/.json file whose first bytes name our format."""
    return snapshot.looks_like(path, head)


@dataclass
class _Stamp:
    source: str
    as_of: Optional[dt.date]


@dataclass
class _Office:
    record: OfficeRecord
    stamp: _Stamp
    holder_stamp: Optional[_Stamp]
    former: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> OfficeKey:
        return (self.record.division.ocd_id, self.record.type.value, self.record.seat)


@dataclass
class _Parsed:
    divisions: list[tuple[DivisionRecord, _Stamp]]
    offices: list[_Office]
    agreements: list[dict[str, Any]]
    boundaries: list[dict[str, Any]]
    zips: list[tuple[str, str, str]]
    provenance: list[dict[str, Any]]


class _Reader:
    """Field access that turns a bad value into a SourceError naming the file and the row."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def fail(self, where: str, message: str) -> SourceError:
        return SourceError(f"{where}: {message}", path=self.path)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def text(self, row: dict[str, Any], key: str, where: str, *, required: bool = True) -> Optional[str]:
        value = row.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value and key != "seat"):
            raise self.fail(where, f"{key} must be a {'non-empty ' if required else ''}string, not {value!r}")
        return value

    def date(self, row: dict[str, Any], key: str, where: str) -> Optional[dt.date]:
        value = row.get(key)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(where, f"{key} {value!r} is not a date (YYYY-MM-DD)") from None

    def stamp(self, row: dict[str, Any], where: str) -> _Stamp:
        return _Stamp(self.text(row, "source", where) or "", self.date(row, "as_of", where))

    def enum(self, cls: type, row: dict[str, Any], key: str, where: str) -> Any:
        try:
            return cls(row.get(key))
        except ValueError:
            raise self.fail(where, f"unknown {key} {row.get(key)!r}") from None


def parse(path: Path, state: str) -> _Parsed:
    """Read and validate the whole snapshot before anything is written."""
    data = snapshot.read(path)
    r = _Reader(path)
    if data.get("state") != state:
        raise SourceError(f"this snapshot is for {str(data.get('state')).upper()}, not {state.upper()}", path=str(path))

    divisions: dict[str, tuple[DivisionRecord, _Stamp]] = {}
    for i, raw in enumerate(data.get("divisions", [])):
        where = f"divisions[{i}]"
        row = r.obj(raw, where)
        rec = DivisionRecord(r.text(row, "ocd_id", where) or "", r.text(row, "name", where) or "",
                             r.enum(DivisionType, row, "type", where), r.text(row, "state", where) or "",
                             r.text(row, "geoid", where, required=False))
        if rec.state != state:
            raise r.fail(where, f"division {rec.ocd_id} is in {rec.state.upper()}, not {state.upper()}")
        if rec.ocd_id in divisions:
            raise r.fail(where, f"division {rec.ocd_id} listed twice")
        divisions[rec.ocd_id] = (rec, r.stamp(row, where))

    def division_of(row: dict[str, Any], where: str) -> DivisionRecord:
        ocd = r.text(row, "division", where) or ""
        if ocd not in divisions:
            raise r.fail(where, f"division {ocd} is not in the snapshot's divisions")
        return divisions[ocd][0]

    offices: list[_Office] = []
    keys: set[OfficeKey] = set()
    for i, raw in enumerate(data.get("offices", [])):
        where = f"offices[{i}]"
        row = r.obj(raw, where)
        division = division_of(row, where)
        kind = r.enum(OfficeType, row, "type", where)
        if OFFICE_DIVISION[kind] is not division.type:
            raise r.fail(where, f"{kind.value} cannot sit in a {division.type.value} division")
        people = row.get("officials", [])
        if not isinstance(people, list):
            raise r.fail(where, "officials must be a list")
        current: Optional[tuple[HolderRecord, _Stamp]] = None
        former: list[dict[str, Any]] = []
        for j, raw_person in enumerate(people):
            pwhere = f"{where}.officials[{j}]"
            person = r.obj(raw_person, pwhere)
            values: dict[str, Any] = {"person_key": r.text(person, "person_key", pwhere),
                                      "name": r.text(person, "name", pwhere)}
            for name in HOLDER_FIELDS:
                if name in ("start_date", "term_end"):
                    values[name] = r.date(person, name, pwhere)
                elif name != "name":
                    values[name] = r.text(person, name, pwhere, required=False)
            stamp = r.stamp(person, pwhere)
            left_on = r.date(person, "left_on", pwhere)
            if left_on is None:
                current = (HolderRecord(**values), stamp)
            else:
                former.append({**values, "left_on": left_on, "source": stamp.source, "as_of": stamp.as_of})
        record = OfficeRecord(
            type=kind, division=division, title=r.text(row, "title", where) or "",
            seat=r.text(row, "seat", where) or "",
            contact={k: r.text(row, k, where, required=False) for k in CONTACT_FIELDS},
            holder=current[0] if current else None, source_url=r.text(row, "source_url", where, required=False),
        )
        office = _Office(record, r.stamp(row, where), current[1] if current else None, former)
        if office.key in keys:
            raise r.fail(where, f"office {office.key} listed twice")
        keys.add(office.key)
        offices.append(office)

    agreements = []
    for i, raw in enumerate(data.get("agreements_287g", [])):
        where = f"agreements_287g[{i}]"
        row = r.obj(raw, where)
        ref = row.get("office")
        if ref is not None:
            if not (isinstance(ref, list) and len(ref) == 3 and all(isinstance(x, str) for x in ref)
                    and tuple(ref) in keys):
                raise r.fail(where, f"office {ref!r} is not in the snapshot's offices")
            ref = tuple(ref)
        agreements.append({
            "state": r.text(row, "state", where), "agency": r.text(row, "agency", where),
            "support_type": r.text(row, "support_type", where),
            "status": r.enum(AgreementStatus, row, "status", where),
            **{k: r.text(row, k, where, required=False) for k in ("agency_type", "county", "moa_url", "addendum_url")},
            **{k: r.date(row, k, where) for k in ("signed_on", "ended_on", "as_of")},
            "source": r.text(row, "source", where), "office": ref,
        })

    boundaries = []
    for i, raw in enumerate(data.get("boundaries", [])):
        where = f"boundaries[{i}]"
        row = r.obj(raw, where)
        boundaries.append({"division": division_of(row, where).ocd_id, "geometry": r.text(row, "geometry", where),
                           "source": r.text(row, "source", where), "as_of": r.date(row, "as_of", where)})

    zips = []
    for i, raw in enumerate(data.get("zip_divisions", [])):
        where = f"zip_divisions[{i}]"
        row = r.obj(raw, where)
        code = r.text(row, "zip", where) or ""
        if not re.fullmatch(r"\d{5}", code):
            raise r.fail(where, f"zip {code!r} is not 5 digits")
        zips.append((code, division_of(row, where).ocd_id, r.text(row, "source", where) or ""))

    provenance = []
    for i, raw in enumerate(data.get("provenance", [])):
        where = f"provenance[{i}]"
        row = r.obj(raw, where)
        finished = r.text(row, "finished_at", where, required=False)
        try:
            finished_at = dt.datetime.fromisoformat(finished.replace("Z", "+00:00")) if finished else None
        except ValueError:
            raise r.fail(where, f"finished_at {finished!r} is not a timestamp") from None
        provenance.append({"source": r.text(row, "source", where), "location": r.text(row, "location", where),
                           "sha256": r.text(row, "sha256", where, required=False),
                           "as_of": r.date(row, "as_of", where), "finished_at": finished_at})
    return _Parsed(list(divisions.values()), offices, agreements, boundaries, zips, provenance)


def _end_departed(office: Office, item: _Office) -> Optional[str]:
    """Close the current holder with the date the snapshot records for their departure, if it has one."""
    holder = office.holder
    new = item.record.holder
    if holder is None or (new is not None and new.person_key == holder.person_key):
        return None
    if new is None and holder.source != item.stamp.source:
        return None  # as apply_office: a vacancy only ends a holder that came from the same source
    dates = [f["left_on"] for f in item.former if f["person_key"] == holder.person_key]
    if not dates:
        return None
    holder.left_on = max(dates)
    return f"{holder.name} left on {holder.left_on}" + ("" if new else ", vacant")


def _add_history(office: Office, item: _Office) -> list[str]:
    """Insert former holders the database does not have yet (matched on person and end or start date)."""
    added = []
    for f in item.former:
        known = any(
            o.left_on is not None and o.person_key == f["person_key"]
            and (o.left_on == f["left_on"] or (f["start_date"] is not None and o.start_date == f["start_date"]))
            for o in office.officials
        )
        if not known:
            db.session.add(Official(office=office, **f))
            added.append(f"former holder {f['name']} (left {f['left_on']})")
    return added


def _apply_offices(parsed: _Parsed, divisions: dict[str, Division], report: SyncReport,
                   ctx: ImportContext, label: str) -> dict[OfficeKey, Office]:
    offices: dict[OfficeKey, Office] = {}
    for item in ctx.progress(parsed.offices, len(parsed.offices), label):
        existing = find_office(divisions[item.record.division.ocd_id], item.record.type, item.record.seat)
        departed = _end_departed(existing, item) if existing is not None else None
        before = existing.holder if existing is not None else None
        counted = (report.created, report.updated, report.vacated)
        office = apply_office(item.record, item.stamp.source, item.stamp.as_of, report)
        holder = office.holder
        if holder is not None and holder is not before and item.holder_stamp is not None:
            holder.source, holder.as_of = item.holder_stamp.source, item.holder_stamp.as_of
        extra = ([departed] if departed else []) + _add_history(office, item)
        if extra:
            if counted == (report.created, report.updated, report.vacated):  # apply_office saw no change
                report.unchanged -= 1
                if departed and item.record.holder is None:
                    report.vacated += 1
                else:
                    report.updated += 1
            report.changes.append(f"{office.title}: " + "; ".join(extra))
        offices[item.key] = office
    db.session.flush()
    return offices


def _upsert(obj: object, values: dict[str, Any]) -> bool:
    """Set every differing value; True when something changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _newer_or_same(existing: Optional[dt.date], incoming: Optional[dt.date]) -> bool:
    """An older snapshot never overwrites data the database already has as of a later date."""
    return existing is None or incoming is None or incoming >= existing


def _apply_agreements(parsed: _Parsed, offices: dict[OfficeKey, Office], report: SyncReport) -> None:
    existing = {(a.state, a.agency, a.support_type, a.status): a
                for a in db.session.scalars(db.select(Agreement287g))}
    for row in parsed.agreements:
        values = {k: v for k, v in row.items() if k != "office"}
        values["office_id"] = offices[row["office"]].id if row["office"] else None
        key = (row["state"], row["agency"], row["support_type"], row["status"])
        label = f"287(g) {row['agency']} {row['support_type']} ({row['status'].value})"
        agreement = existing.get(key)
        if agreement is None:
            db.session.add(Agreement287g(**values))
            report.created += 1
            report.changes.append(f"{label}: new")
        elif _newer_or_same(agreement.as_of, row["as_of"]) and _upsert(agreement, values):
            report.updated += 1
            report.changes.append(f"{label}: updated")
        else:
            report.unchanged += 1


def _apply_boundaries(parsed: _Parsed, divisions: dict[str, Division], report: SyncReport) -> None:
    ids = [d.id for d in divisions.values()]
    existing = {b.division_id: b for b in db.session.scalars(db.select(Boundary).where(Boundary.division_id.in_(ids)))}
    for row in parsed.boundaries:
        division = divisions[row["division"]]
        values = {"geometry": row["geometry"], "source": row["source"], "as_of": row["as_of"]}
        boundary = existing.get(division.id)
        if boundary is None:
            db.session.add(Boundary(division_id=division.id, **values))
            report.created += 1
            report.changes.append(f"{division.name}: new boundary")
        elif _newer_or_same(boundary.as_of, row["as_of"]) and _upsert(boundary, values):
            report.updated += 1
            report.changes.append(f"{division.name}: boundary updated")
        else:
            report.unchanged += 1


def _apply_zips(parsed: _Parsed, divisions: dict[str, Division], report: SyncReport) -> None:
    ids = [d.id for d in divisions.values()]
    existing = {(z.zip, z.division_id): z
                for z in db.session.scalars(db.select(ZipDivision).where(ZipDivision.division_id.in_(ids)))}
    for code, ocd, source in parsed.zips:
        division = divisions[ocd]
        row = existing.get((code, division.id))
        if row is None:
            db.session.add(ZipDivision(zip=code, division_id=division.id, source=source))
            report.created += 1
            report.changes.append(f"ZIP {code} -> {division.name}: new")
        elif row.source != source:
            row.source = source
            report.updated += 1
        else:
            report.unchanged += 1


def _record_provenance(parsed: _Parsed, path: Path, report: SyncReport) -> None:
    """Keep the snapshot's sources in sync_runs, so a re-export names the same provenance."""
    known = {(run.source, re.split(r"[\\/]", run.location.rstrip("/\\"))[-1], run.sha256)
             for run in db.session.scalars(db.select(SyncRun))}
    added = 0
    for p in parsed.provenance:
        if (p["source"], p["location"], p["sha256"]) in known:
            continue
        run = SyncRun(source=p["source"], location=p["location"], sha256=p["sha256"], as_of=p["as_of"],
                      counts={}, changes=[f"recorded from snapshot {path.name}"])
        if p["finished_at"] is not None:
            run.finished_at = p["finished_at"]
        db.session.add(run)
        added += 1
    if added:
        report.changes.append(f"provenance: {added} source file(s) recorded in sync_runs")


def load(path: Path, state: str, ctx: ImportContext) -> SyncReport:
    """Recreate or update the state's directory from a snapshot; idempotent."""
    parsed = parse(path, state)
    report = SyncReport(KIND)
    divisions: dict[str, Division] = {}
    for rec, stamp in parsed.divisions:
        division, created = ensure_division(rec, stamp.source, stamp.as_of)
        divisions[rec.ocd_id] = division
        if created:
            report.created += 1
            report.changes.append(f"{rec.name}: new division")
        elif db.session.is_modified(division):
            report.updated += 1
            report.changes.append(f"{rec.name}: GEOID {division.geoid}")
        else:
            report.unchanged += 1
    offices = _apply_offices(parsed, divisions, report, ctx, f"{KIND} {state.upper()}")
    _apply_agreements(parsed, offices, report)
    _apply_boundaries(parsed, divisions, report)
    _apply_zips(parsed, divisions, report)
    _record_provenance(parsed, path, report)
    db.session.flush()
    return report
