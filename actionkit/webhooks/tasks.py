"""Webhook tasks: thin, named, taking message ids only (no personal data in the broker)."""
from __future__ import annotations

from celery import shared_task

from actionkit.extensions import db
from actionkit.webhooks import services


@shared_task(name=services.SEND_TASK, ignore_result=True, acks_late=True, soft_time_limit=30)
def send(message_id: int) -> None:
    """Send one message; a second task for the same id sends nothing (the claim is a conditional UPDATE)."""
    message = services.claim(int(message_id))
    db.session.commit()
    if message is not None:
        services.attempt(message)
        db.session.commit()


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> int:
    """Queue messages that are due (retries after backoff) or whose lease expired."""
    ids = services.due()
    db.session.rollback()
    return services.publish(ids)
