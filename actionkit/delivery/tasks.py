"""Delivery tasks: thin, idempotent, named explicitly; they take ids, call services and commit."""
from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_shutdown
from flask import current_app

from actionkit.delivery import channels, digests, services
from actionkit.extensions import db

MAX_SWEEP_BATCHES = 20  # one sweep publishes at most this many batches; the next sweep continues


@shared_task(name="delivery.send", ignore_result=True)
def send(delivery_id: int) -> None:
    """Send one delivery; a duplicate, late or redelivered task for the same id sends nothing."""
    delivery = services.claim(int(delivery_id))
    db.session.commit()  # the lease is visible to every worker before anything leaves
    if delivery is not None:
        services.attempt(delivery)
        db.session.commit()


@shared_task(name="delivery.send_digests", ignore_result=True)
def send_digests() -> int:
    """Send each due office its daily digest (hourly on beat; an office gets at most one per day)."""
    sent = 0
    for office_id in digests.due_offices():
        claimed = digests.claim(office_id)
        db.session.commit()  # the lease is visible before anything leaves
        sent += digests.send(office_id, claimed)
        db.session.commit()
    return sent


@shared_task(name="delivery.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Re-publish due deliveries and recover expired leases, batch by batch, each published after its commit."""
    totals = {"requeued": 0, "recovered": 0, "dead": 0, "held": 0, "published": 0}
    batch = int(current_app.config["DELIVERY"]["sweep_batch"])
    for _ in range(MAX_SWEEP_BATCHES):
        result = services.sweep(limit=batch)
        db.session.commit()
        totals["published"] += services.enqueue(result.ids)
        for key in ("requeued", "recovered", "dead", "held"):
            totals[key] += getattr(result, key)
        if result.scanned < batch:
            break
    return totals


@shared_task(name="delivery.refresh_cwc_offices", ignore_result=True)
def refresh_cwc_offices() -> dict[str, str]:
    """Refresh the cached CWC active-office lists (daily); a failed fetch keeps the cached list."""
    done = services.refresh_cwc_offices()
    db.session.commit()
    return done


@worker_process_shutdown.connect
def _close_smtp_connection(**_: object) -> None:
    """Say QUIT on the pool process's kept SMTP connection rather than leave the server to time it out."""
    channels.SmtpTransport.close()
