"""Periodic heartbeat so /healthz can tell whether a worker is consuming the queue."""
from __future__ import annotations

import socket

from celery import shared_task
from celery.signals import worker_ready

from actionkit.extensions import db
from actionkit.system import services


@shared_task(name="system.heartbeat", ignore_result=True)
def heartbeat(hostname: str | None = None) -> None:
    """Record that a worker is alive and consuming."""
    services.record_heartbeat(hostname or socket.gethostname())
    db.session.commit()


@worker_ready.connect
def _beat_on_start(sender=None, **_: object) -> None:  # type: ignore[no-untyped-def]
    """Send one heartbeat through the queue as soon as the worker is ready, before beat's first tick."""
    heartbeat.delay()
