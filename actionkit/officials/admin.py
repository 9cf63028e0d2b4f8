"""Staff work on the directory: search offices, correct contact channels and holders, and import the sheriffs CSV
from the browser (upload -> preview -> apply). Plain functions that flush and never commit; the views audit."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Optional

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from actionkit.extensions import db
from actionkit.officials import importers
from actionkit.officials.importers import police_chiefs, sheriffs
from actionkit.db import utcnow
from actionkit.officials.models import (ChannelChange, ChannelChangeStatus, Division, Office, OfficeType, Official,
                                        SyncRun)
from actionkit.officials.services import (
    CONTACT_FIELDS, DivisionRecord, HolderRecord, OfficeRecord, SyncReport, apply_office,
)

STAFF_SOURCE = "staff"
# The contact fields letters are delivered through: a change to one of them decides where supporters' letters
# (name, e-mail, paragraph) go, so it takes an admin (an editor's change waits for an admin's approval).
CHANNEL_FIELDS = ("email", "fax", "postal_address", "cwc_office_code")
HOLDER_FIELDS = ("name", "first_name", "last_name", "party", "email", "phone")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class AdminError(Exception):
    """A directory edit or import was refused; the message is for staff."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def no_channel() -> ColumnElement[bool]:
    """SQL condition: the office has neither an email address nor a postal address, so nothing can be sent."""
    return and_(or_(Office.email.is_(None), func.trim(Office.email) == ""),
                or_(Office.postal_address.is_(None), func.trim(Office.postal_address) == ""))


def search(query: str = "", *, office_type: Optional[OfficeType] = None, state: Optional[str] = None,
           undeliverable: bool = False, page: int = 1, per_page: int = 50) -> tuple[list[Office], int]:
    """Offices whose title, district or county name, GEOID or current holder's name contains the query."""
    where = []
    q = (query or "").strip().lower()
    if q:
        holder = exists(select(Official.id).where(Official.office_id == Office.id, Official.left_on.is_(None),
                                                  func.lower(Official.name).contains(q, autoescape=True)))
        where.append(or_(func.lower(Office.title).contains(q, autoescape=True),
                         func.lower(Division.name).contains(q, autoescape=True),
                         Division.geoid == q, holder))
    if office_type is not None:
        where.append(Office.type == office_type)
    if state:
        where.append(Division.state == state)
    if undeliverable:
        where.append(no_channel())
    base = select(Office).join(Division, Office.division_id == Division.id).where(*where)
    total = int(db.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = db.session.scalars(
        base.options(selectinload(Office.officials), selectinload(Office.division))
        .order_by(Office.type, Division.name, Office.seat).limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), total


def undeliverable_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Office).where(no_channel())) or 0)


def can_deliver(office: Office) -> bool:
    return not (_blank(office.email) and _blank(office.postal_address))


def get_office(office_id: int) -> Optional[Office]:
    return db.session.scalar(select(Office).where(Office.id == office_id)
                             .options(selectinload(Office.officials), selectinload(Office.division),
                                      selectinload(Office.agreements)))


def update_contact(office: Office, values: dict[str, Optional[str]], today: Optional[dt.date] = None) -> dict[str, Any]:
    """Set the office's contact channels (a blank clears a value, unlike a source sync); returns
    {field: [old, new]} for the audit log. The office's source becomes 'staff' as of today."""
    changes: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        if name not in values:
            continue
        new = None if _blank(values[name]) else str(values[name]).strip()
        old = getattr(office, name)
        if (old or None) != new:
            setattr(office, name, new)
            changes[name] = [old, new]
    if changes:
        office.source, office.as_of = STAFF_SOURCE, today or dt.date.today()
    db.session.flush()
    return changes


def contact_diff(office: Office, values: dict[str, Optional[str]]) -> dict[str, list[Optional[str]]]:
    """{field: [current, new]} for the values that differ from the office's (blank means none)."""
    diff = {}
    for name, value in values.items():
        new = None if _blank(value) else str(value).strip()
        if (getattr(office, name) or None) != new:
            diff[name] = [getattr(office, name), new]
    return diff


def propose_channels(office: Office, values: dict[str, Optional[str]], proposer_id: Optional[int]) -> Optional[
        ChannelChange]:
    """Record an editor's change to delivery channels for an admin to approve (None when nothing differs); an
    earlier proposal of theirs for the office still waiting is replaced."""
    diff = contact_diff(office, {k: v for k, v in values.items() if k in CHANNEL_FIELDS})
    if not diff:
        return None
    for old in db.session.scalars(select(ChannelChange).where(
            ChannelChange.office_id == office.id, ChannelChange.status == ChannelChangeStatus.PENDING,
            ChannelChange.proposed_by_id == proposer_id)):
        old.status, old.decided_at = ChannelChangeStatus.REJECTED, utcnow()
    change = ChannelChange(office=office, changes=diff, status=ChannelChangeStatus.PENDING,
                           proposed_by_id=proposer_id)
    db.session.add(change)
    db.session.flush()
    return change


def pending_channel_changes(office_id: Optional[int] = None) -> list[ChannelChange]:
    where = [ChannelChange.status == ChannelChangeStatus.PENDING]
    if office_id is not None:
        where.append(ChannelChange.office_id == office_id)
    return list(db.session.scalars(select(ChannelChange).where(*where)
                                   .options(selectinload(ChannelChange.office)).order_by(ChannelChange.id)))


def decide_channel_change(change: ChannelChange, admin_id: int, approve: bool,
                          today: Optional[dt.date] = None) -> dict[str, Any]:
    """Apply (approve) or reject a proposed change; returns what was applied. A proposal whose fields were changed
    since (by a sync or another admin) is refused, so nobody approves a change against values they did not see."""
    if change.status is not ChannelChangeStatus.PENDING:
        raise AdminError("This change was already decided.")
    applied: dict[str, Any] = {}
    if approve:
        office = change.office
        moved = [name for name, (old, _new) in change.changes.items() if (getattr(office, name) or None) != old]
        if moved:
            raise AdminError(f"The office's {', '.join(moved)} changed since this was proposed; reject it and "
                             "ask for a new proposal.")
        applied = update_contact(office, {name: new for name, (_old, new) in change.changes.items()}, today)
    change.status = ChannelChangeStatus.APPLIED if approve else ChannelChangeStatus.REJECTED
    change.decided_by_id, change.decided_at = admin_id, utcnow()
    db.session.flush()
    return applied


def channel_changes_in(preview: "ImportPreview") -> list[dict[str, Any]]:
    """The preview rows of an upload that change an office's delivery channels."""
    return [row for row in preview.rows if set(row.get("contact_changes") or {}) & set(CHANNEL_FIELDS)]


def update_holder(office: Office, mode: str, values: dict[str, Optional[str]],
                  today: Optional[dt.date] = None) -> dict[str, Any]:
    """mode 'keep': correct the current holder's details; 'new': someone else holds the office now (the
    previous tenure is ended, never deleted); 'vacant': nobody (or nobody known) holds it. Returns changes."""
    today = today or dt.date.today()
    holder = office.holder
    clean = {k: (None if _blank(values.get(k)) else str(values.get(k)).strip()) for k in HOLDER_FIELDS}
    if mode == "vacant":
        if holder is None:
            return {}
        holder.left_on = today
        db.session.flush()
        return {"holder": [holder.name, None]}
    if mode == "keep" and holder is not None:
        if clean["name"] is None:
            raise AdminError("The holder's name cannot be empty; choose 'vacant' to remove the holder.")
        changes = {}
        for name, value in clean.items():
            if getattr(holder, name) != value:
                changes[name] = [getattr(holder, name), value]
                setattr(holder, name, value)
        if changes:
            holder.as_of = today
        db.session.flush()
        return changes
    if mode not in ("keep", "new"):
        raise AdminError(f"unknown holder change {mode!r}")
    if clean["name"] is None:
        if mode == "keep":
            return {}
        raise AdminError("Give the new holder's name.")
    if holder is not None:
        if holder.name == clean["name"] and mode == "keep":
            return {}
        holder.left_on = today
    key = f"{STAFF_SOURCE}:{office.id}:{sheriffs.name_key(clean['name']) or secrets.token_hex(4)}"
    new = Official(office=office, person_key=key, source=STAFF_SOURCE, as_of=today, start_date=None,
                   **{k: v for k, v in clean.items()})
    db.session.add(new)
    db.session.flush()
    return {"holder": [holder.name if holder else None, new.name]}


# --- fixed targets: offices every supporter writes to, whatever their address -----------------------------------

FIXED_TARGET_CHANNELS = ("email", "postal_address", "fax", "web_form_url")


def fixed_targets() -> list[Office]:
    """Every fixed target (e.g. the Secretary of Homeland Security), with holders loaded."""
    return list(db.session.scalars(
        select(Office).where(Office.type == OfficeType.FIXED_TARGET)
        .options(selectinload(Office.officials)).order_by(Office.title)))


def fixed_target_problem(office: Office) -> Optional[str]:
    """Why letters to a fixed target cannot go anywhere, or None."""
    if any(getattr(office, name) for name in FIXED_TARGET_CHANNELS):
        return None
    return (f"{office.title} has no way to receive letters: give it an email, a postal address, a fax number or a "
            "web form link in the officials admin.")


def create_fixed_target(values: dict[str, Optional[str]], today: Optional[dt.date] = None) -> Office:
    """A new fixed target with its title, holder's name and channels; AdminError when it could not receive
    letters or duplicates an existing one. History and audit then work as for every office."""
    clean = {k: (None if _blank(v) else str(v).strip()) for k, v in values.items()}
    title = clean.get("title")
    if not title:
        raise AdminError("Give the target's title, e.g. 'Secretary of Homeland Security'.")
    if not any(clean.get(name) for name in FIXED_TARGET_CHANNELS):
        raise AdminError("Give at least one way to reach this target: an email, a postal address, a fax number "
                         "or a web form link. A target nobody can reach cannot receive letters.")
    existing = fixed_targets()
    if any(o.title.casefold() == title.casefold() for o in existing):
        raise AdminError(f"A fixed target called {title!r} already exists; edit it instead.")
    seat = str(max((int(o.seat) for o in existing if o.seat.isdigit()), default=0) + 1)
    name = clean.get("name")
    holder = None if not name else HolderRecord(
        person_key=f"{STAFF_SOURCE}:fixed:{seat}:{sheriffs.name_key(name) or secrets.token_hex(4)}", name=name,
        first_name=clean.get("first_name"), last_name=clean.get("last_name"))
    record = OfficeRecord(OfficeType.FIXED_TARGET, DivisionRecord.for_country(), title, seat=seat,
                          contact={k: clean.get(k) for k in CONTACT_FIELDS}, holder=holder)
    return apply_office(record, STAFF_SOURCE, today or dt.date.today(), SyncReport(STAFF_SOURCE))


def latest_sync_runs() -> list[SyncRun]:
    """The most recent run of each source, for the 'sync status' table."""
    newest = select(func.max(SyncRun.id)).group_by(SyncRun.source)
    return list(db.session.scalars(select(SyncRun).where(SyncRun.id.in_(newest)).order_by(SyncRun.source)))


# --- the sheriffs CSV, uploaded from the browser ----------------------------------------------------------------

def upload_dir(instance: Path) -> Path:
    return instance / "uploads"


def upload_path(instance: Path, token: str) -> Path:
    """The stored upload for a token; tokens are checked so no other path can be named."""
    if not _TOKEN.match(token or ""):
        raise AdminError("This upload is unknown or has expired; upload the file again.")
    path = upload_dir(instance) / f"sheriffs-{token}.csv"
    if not path.is_file():
        raise AdminError("This upload is unknown or has expired; upload the file again.")
    return path


def store_upload(instance: Path, stream: IO[bytes]) -> str:
    """Keep an uploaded CSV under instance/uploads with a random name until it is applied or cancelled;
    returns its token. Stale uploads (older than a day) are removed on the way."""
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise AdminError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; a sheriffs CSV is "
                         "a few kilobytes.")
    if not data.strip():
        raise AdminError("The file is empty.")
    folder = upload_dir(instance)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("sheriffs-*.csv"):
        try:
            if time.time() - old.stat().st_mtime > UPLOAD_MAX_AGE_SECONDS:
                old.unlink()
        except OSError:
            pass
    token = secrets.token_hex(16)
    path = folder / f"sheriffs-{token}.csv"
    path.write_bytes(data)
    path.chmod(0o600)
    return token


def discard_upload(instance: Path, token: str) -> None:
    try:
        upload_path(instance, token).unlink()
    except (AdminError, OSError):
        pass


@dataclass
class ImportPreview:
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("changed")]


def _upload_importer(path: Path) -> Any:
    """The staff CSV importer for an upload: police chiefs (a chief_name column) or sheriffs (the default)."""
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace")
    return police_chiefs if police_chiefs.sniff(path, head) else sheriffs


def preview_upload(instance: Path, token: str, state: str) -> ImportPreview:
    """What applying the upload would change (nothing is written); SourceError for a malformed file."""
    path = upload_path(instance, token)
    rows = _upload_importer(path).preview(path, state)
    return ImportPreview([r for r in rows if "error" not in r], [r for r in rows if "error" in r])


def apply_upload(instance: Path, token: str, state: str, file_name: str) -> SyncReport:
    """Load the previewed upload through the sheriffs importer and record a sync run; the file is kept until
    the caller commits and discards it (a rolled-back apply can be retried)."""
    path = upload_path(instance, token)
    ctx = importers.ImportContext()
    report = _upload_importer(path).load(path, state, ctx)
    db.session.add(SyncRun(source=report.source, location=f"upload: {file_name}"[:1024],
                           sha256=importers.sha256_of(path), as_of=ctx.date_for(path), counts=report.counts(),
                           changes=report.changes[:500]))
    db.session.flush()
    return report

