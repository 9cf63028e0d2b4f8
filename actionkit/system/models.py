"""Operational state: worker heartbeats."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from actionkit.db import utcnow
from actionkit.extensions import db


class WorkerHeartbeat(db.Model):
    """Last time a Celery worker ran the heartbeat task: proves broker -> worker -> database works."""

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
