"""Health checks and heartbeats; plain functions that never commit."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import text

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.system.models import WorkerHeartbeat


def check_database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the class name is enough to diagnose
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def check_broker(timeout: float = 2.0) -> dict[str, Any]:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            transport = conn.transport_cls
        return {"ok": True, "transport": str(transport)}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}


def worker_status(max_age: dt.timedelta) -> dict[str, Any]:
    """The freshest heartbeat; a worker is 'connected' if it beat within max_age."""
    try:
        beat = db.session.scalars(db.select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc())).first()
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        return {"connected": False, "error": type(exc).__name__}
    if beat is None:
        return {"connected": False, "last_seen": None}
    seen = beat.seen_at if beat.seen_at.tzinfo else beat.seen_at.replace(tzinfo=dt.timezone.utc)
    return {"connected": utcnow() - seen <= max_age, "last_seen": seen.isoformat()}


def record_heartbeat(hostname: str) -> None:
    beat = db.session.get(WorkerHeartbeat, hostname)
    if beat is None:
        db.session.add(WorkerHeartbeat(hostname=hostname, seen_at=utcnow()))
    else:
        beat.seen_at = utcnow()
    db.session.flush()
