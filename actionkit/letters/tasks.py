"""Letters tasks: thin, named, taking ids only (never an address or e-mail); each commits its own work."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable

from celery import shared_task
from flask import current_app

from actionkit import celery_app
from actionkit.extensions import db
from actionkit.letters import confirmation, services

log = logging.getLogger(__name__)

PENDING_MAX_AGE = dt.timedelta(days=7)  # after this a pending target is left for staff, not retried
CONFIRMATION_MAX_AGE = dt.timedelta(days=2)  # the sweep stops re-queueing a confirmation after this
# Periodic tasks for celery beat (merged into beat_schedule by celery_init_app).
def publish(task: Any, *args: Any) -> bool:
    """Queue a task after commit without ever failing or holding up the request: if the broker is down or slow,
    the sweep queues it (celery_app.publish, bounded by ACTIONKIT_DELIVERY__publish_timeout)."""
    return celery_app.publish(task.name, *args)


def _enqueue(delivery_ids: list[int]) -> None:
    if delivery_ids:
        from actionkit.delivery import enqueue

        enqueue(delivery_ids)


@shared_task(name="letters.process_submission", ignore_result=True)
def process_submission(submission_id: int) -> bool:
    """Record a signature (supporter, action, letters, deliveries), then queue its deliveries and confirmation.
    A duplicate or late task does nothing; a failed try is counted and left for the sweep to queue again."""
    submission_id = int(submission_id)
    try:
        processed = services.process_submission(submission_id)
        db.session.commit()
    except Exception as exc:  # a bug or the database: count the try (a fresh transaction) and let the sweep retry.
        # Only the exception's type is logged: a database error's text would carry the row's values.
        db.session.rollback()
        services.submission_failed(submission_id, type(exc).__name__)
        db.session.commit()
        return False
    if processed is not None and processed.repeat_of is not None:
        publish(send_repeat_notice, processed.repeat_of)
    if processed is None or processed.action_id is None:
        return False
    _enqueue(processed.delivery_ids)
    publish(send_confirmation, processed.action_id)
    log.info("submission %s recorded as action %s: %d deliveries queued", submission_id, processed.action_id,
             len(processed.delivery_ids))
    return True


@shared_task(name="letters.resolve_pending", ignore_result=True)
def resolve_pending(action_id: int) -> int:
    """Retry matching for an action's pending targets; write, commit and queue their letters when it works."""
    ids = services.resolve_pending(int(action_id))
    db.session.commit()
    _enqueue(ids)
    return len(ids)


@shared_task(name="letters.sweep_pending", ignore_result=True)
def sweep_pending() -> int:
    """Queue resolve_pending for actions still waiting for the geocoder (every ACTIONKIT_PENDING_SWEEP_SECONDS)."""
    max_age = dt.timedelta(days=float(current_app.config.get("PENDING_MAX_AGE_DAYS") or PENDING_MAX_AGE.days))
    waiting = services.actions_waiting(max_age)
    db.session.rollback()
    for action_id in waiting:
        publish(resolve_pending, action_id)
    if waiting:
        log.info("queued %d actions with pending targets", len(waiting))
    return len(waiting)


@shared_task(name="letters.sweep_confirmations", ignore_result=True)
def sweep_confirmations() -> int:
    """Queue again the confirmations still unsent (a worker died, the broker or the mail server was down) when
    their action reaches ACTIONKIT_CONFIRMATION_REQUEUE_SECONDS of age, then twice, four times ... that age:
    recovery within minutes, and never a pile of copies during a long mail outage."""
    first = float(current_app.config["CONFIRMATION_REQUEUE_SECONDS"])
    window = float(current_app.config["SUBMISSION_SWEEP_SECONDS"])  # this task runs once per window
    due = services.actions_unconfirmed(dt.timedelta(seconds=first), CONFIRMATION_MAX_AGE,
                                       every=dt.timedelta(seconds=window))
    db.session.rollback()
    for action_id in due:
        publish(send_confirmation, action_id)
    if due:
        log.info("queued %d confirmations again", len(due))
    return len(due)


@shared_task(name="letters.sweep_submissions", ignore_result=True)
def sweep_submissions() -> int:
    """Queue again every signature left unrecorded for ACTIONKIT_SUBMISSION_REQUEUE_SECONDS (default 300): its
    task was lost, the broker was down when it was signed, or a try failed; give up those older than two days."""
    grace = dt.timedelta(seconds=float(current_app.config["SUBMISSION_REQUEUE_SECONDS"]))
    services.expire_submissions()
    services.expire_unconfirmed()  # signatures whose e-mail link was not opened in time are erased
    received = services.submissions_to_requeue(grace)
    checks = services.email_checks_to_send(grace)
    db.session.commit()  # marked before publishing: the next sweep leaves them alone for a while
    for submission_id in received:
        publish(process_submission, submission_id)
    for submission_id in checks:
        publish(send_email_check, submission_id)
    if received or checks:
        log.info("queued %d signatures to record again, %d e-mail checks", len(received), len(checks))
    return len(received)


@shared_task(name="letters.send_email_check", bind=True, ignore_result=True, max_retries=8)
def send_email_check(self, submission_id: int) -> bool:  # type: ignore[no-untyped-def]
    """E-mail the link that releases a waiting signature's letters; a repeat address gets the owner's notice."""
    try:
        outcome = confirmation.send_email_check(int(submission_id))
    except confirmation.TryLater as exc:
        db.session.rollback()
        log.warning("e-mail check for submission %s not sent yet (%s); retrying", submission_id, exc)
        raise self.retry(countdown=min(3600, 60 * 2 ** self.request.retries)) from None
    db.session.commit()
    if outcome is not True and outcome is not False:
        publish(send_repeat_notice, outcome)
    return outcome is True


def _mail_once(task, send: Callable[[int], bool], action_id: int, what: str) -> bool:  # type: ignore[no-untyped-def]
    """Send one e-mail about an action and commit; a transient mail failure retries the task with backoff."""
    try:
        sent = send(int(action_id))
    except confirmation.TryLater as exc:
        db.session.rollback()
        log.warning("%s for action %s not sent yet (%s); retrying", what, action_id, exc)
        raise task.retry(countdown=min(3600, 60 * 2 ** task.request.retries)) from None
    db.session.commit()
    return sent


@shared_task(name="letters.send_repeat_notice", bind=True, ignore_result=True, max_retries=8)
def send_repeat_notice(self, action_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Tell an address's owner that it was used to sign again (nothing sent twice), with a fresh status link."""
    return _mail_once(self, confirmation.send_repeat_notice, action_id, "repeat notice")


@shared_task(name="letters.send_confirmation", bind=True, ignore_result=True, max_retries=8)
def send_confirmation(self, action_id: int) -> bool:  # type: ignore[no-untyped-def]
    """E-mail the supporter their links once; a transient mail failure retries with backoff."""
    return _mail_once(self, confirmation.send_confirmation, action_id, "confirmation")
