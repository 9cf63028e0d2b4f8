"""Stories tasks: thin, named, taking ids only (never the text or the e-mail address)."""
from __future__ import annotations

import logging

from celery import shared_task

from actionkit.extensions import db
from actionkit.letters.confirmation import TryLater
from actionkit.stories import receipt

log = logging.getLogger(__name__)


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
