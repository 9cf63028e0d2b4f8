"""The periodic stats refresh: thin, idempotent, one commit."""
from __future__ import annotations

import logging

from celery import shared_task

from actionkit.extensions import db
from actionkit.stats import services

log = logging.getLogger(__name__)


@shared_task(name="stats.refresh", ignore_result=True)
def refresh(full: bool = False) -> None:
    """Bring the stats rollups up to date (full=True rebuilds them, e.g. nightly); a second run finds nothing new."""
    report = services.refresh(full=full)
    db.session.commit()
    log.info(report.summary())
