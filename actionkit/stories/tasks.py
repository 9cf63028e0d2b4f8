"""Stories tasks: thin, named, taking ids only (never the text or the e-mail address)."""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from flask import current_app

from actionkit.extensions import db
from actionkit.letters.confirmation import TryLater
from actionkit.letters.tasks import publish
from actionkit.stories import receipt

log = logging.getLogger(__name__)

RECEIPT_MAX_AGE = dt.timedelta(days=2)  # the sweep stops re-queueing a receipt after this


@shared_task(name="stories.send_receipt", bind=True, ignore_result=True, max_retries=8)
def send_receipt(self, story_id: int) -> bool:  # type: ignore[no-untyped-def]
    """E-mail the storyteller the link to delete their story, once; a transient mail failure retries."""
    try:
        sent = receipt.send_receipt(int(story_id))
    except TryLater as exc:
        db.session.rollback()
        log.warning("story receipt %s not sent yet (%s); retrying", story_id, exc)
        raise self.retry(countdown=min(3600, 60 * 2 ** self.request.retries)) from None
    db.session.commit()
    return sent


@shared_task(name="stories.sweep_receipts", ignore_result=True)
def sweep_receipts() -> int:
    """Queue again the receipts still unsent (the broker was down at submit time, a worker died, the mail server
    was down past the task's retries) on the confirmations' schedule: at ACTIONKIT_CONFIRMATION_REQUEUE_SECONDS
    of age, then twice, four times ... that age, for two days."""
    first = float(current_app.config["CONFIRMATION_REQUEUE_SECONDS"])
    window = float(current_app.config["SUBMISSION_SWEEP_SECONDS"])  # this task runs once per window
    due = receipt.unsent(dt.timedelta(seconds=first), RECEIPT_MAX_AGE, every=dt.timedelta(seconds=window))
    db.session.rollback()
    for story_id in due:
        publish(send_receipt, story_id)
    if due:
        log.info("queued %d story receipts again", len(due))
    return len(due)
