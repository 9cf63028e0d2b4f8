"""Officials' responses to the campaign's ask, as staff record them: position, date, a short public note and a
source. A change adds a row (history stays; the public page shows the latest with its date). Plain functions:
flush, never commit; the view audits."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional
from urllib.parse import urlsplit

from sqlalchemy import func, select

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials.models import Office, OfficialResponse, Position

MAX_NOTE = 280


class ResponseError(Exception):
    """A response was refused; the message is for staff."""


def check_source_url(url: str) -> Optional[str]:
    """An http(s) URL with a host, or None for none; anything else (javascript:, data:, ftp:) is refused."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ResponseError("The source must be a web address starting with http:// or https://.")
    if len(url) > 512:
        raise ResponseError("The source address is too long (512 characters at most).")
    return url


def record(office: Office, position: Position, responded_on: dt.date, *, note: str = "", source_url: str = "",
           source_label: str = "", actor_id: Optional[int] = None,
           today: Optional[dt.date] = None) -> Optional[OfficialResponse]:
    """Record a response of the office's current holder; None when it is the same as the latest one."""
    today = today or utcnow().date()
    if responded_on > today:
        raise ResponseError("The date of the response cannot be in the future.")
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE:
        raise ResponseError(f"The public note is too long ({MAX_NOTE} characters at most).")
    url = check_source_url(source_url)
    label = " ".join((source_label or "").split())[:120]
    latest = current(office.id)
    if latest is not None and (latest.position, latest.responded_on, latest.note, latest.source_url,
                               latest.source_label) == (position, responded_on, note, url, label):
        return None
    holder = office.holder
    response = OfficialResponse(office_id=office.id, official_id=holder.id if holder else None, position=position,
                                responded_on=responded_on, note=note, source_url=url, source_label=label,
                                recorded_by_id=actor_id)
    db.session.add(response)
    db.session.flush()
    return response


def current(office_id: int) -> Optional[OfficialResponse]:
    return db.session.scalar(select(OfficialResponse).where(OfficialResponse.office_id == office_id)
                             .order_by(OfficialResponse.recorded_at.desc(), OfficialResponse.id.desc()).limit(1))


def history(office_id: int) -> list[OfficialResponse]:
    return list(db.session.scalars(select(OfficialResponse).where(OfficialResponse.office_id == office_id)
                                   .order_by(OfficialResponse.recorded_at.desc(), OfficialResponse.id.desc())))


def latest_for(office_ids: Iterable[int] | None = None) -> dict[int, OfficialResponse]:
    """The latest response per office (of these offices, or of every office with one), in one query."""
    newest = (select(func.max(OfficialResponse.id).label("id")).group_by(OfficialResponse.office_id))
    if office_ids is not None:
        ids = list(office_ids)
        if not ids:
            return {}
        newest = newest.where(OfficialResponse.office_id.in_(ids))
    rows = db.session.scalars(select(OfficialResponse).where(OfficialResponse.id.in_(newest.subquery().select())))
    return {r.office_id: r for r in rows}
