"""Queue behaviour with a real worker process: a signature goes through the broker as an id and is recorded by
the worker, its deliveries and confirmation e-mail are sent by the worker, and the thank-you page's JSON shows
them sent; signatures accepted while the broker was down are recorded once beat's sweep queues them."""
from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from kombu.exceptions import OperationalError

from actionkit.celery_app import Publisher
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Submission, SubmissionStatus
from tests.conftest import REPO, purge_queue, stop_process_group, worker_environment
from tests.letters.conftest import GULFPORT, JACKSON, Journey


def wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.services
def test_worker_sends_the_letters_and_the_confirmation(journey: Journey, app: Flask, worker_process) -> None:  # type: ignore[no-untyped-def]
    journey.record_here = False  # the worker process records the signature
    resp = journey.complete(JACKSON)
    assert resp.status_code == 303
    outbox = Path(app.config["MAIL"]["outbox"])
    # The sign redirect's page is a receipt; the statuses are behind the link the worker e-mails.
    assert wait_for(lambda: any(p.name.startswith("confirmation-") for p in outbox.glob("*.eml"))), (
        worker_process.log_path.read_text()[-3000:])
    confirmation = email.message_from_bytes(next(outbox.glob("confirmation-*.eml")).read_bytes(),
                                            policy=email.policy.default).get_content()
    assert "Hello Ana," in confirmation
    link = re.search(r"https?://[^/\s]+(/act/end-ice-detainers-ms/thanks/[^\s?]+)\?lang=en", confirmation)
    assert link is not None and link.group(1) not in resp.headers["Location"]
    status_url = f"{link.group(1)}/status?lang=en"
    assert journey.client.get(resp.headers["Location"].replace("?", "/status?")).get_json()["letters"] == []

    def statuses() -> dict[str, int]:
        counts: dict[str, int] = {}
        db.session.rollback()  # the test's app context keeps one session across requests: see the worker's commits
        for letter in journey.client.get(status_url).get_json()["letters"]:
            counts[letter["status"]] = counts.get(letter["status"], 0) + 1
        return counts

    # Hinds sheriff, state senator and representative have e-mail; Congress letters wait for a print batch.
    assert wait_for(lambda: statuses() == {"sent": 3, "print_queued": 3}), (
        statuses(), worker_process.log_path.read_text()[-3000:])
    letters = [p for p in outbox.glob("delivery-*.eml")]
    assert len(letters) == 3


def count_where(model: type, *conditions) -> int:  # type: ignore[no-untyped-def]
    db.session.rollback()  # a fresh snapshot of what the worker committed
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*conditions))


@pytest.mark.services
def test_signatures_taken_while_the_broker_was_down_are_recorded_by_the_sweep(
        journey: Journey, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    journey.record_here = False

    def broker_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Publisher, "producer", broker_down)
    for i in range(10):
        resp = journey.complete(JACKSON if i % 2 else GULFPORT, email=f"ana{i}@example.org")
        assert resp.status_code == 303 and "/thanks/" in resp.headers["Location"]  # the supporter is not failed
    assert count_where(Submission, Submission.status == SubmissionStatus.RECEIVED) == 10
    assert caplog.text.count("could not queue letters.process_submission") == 10 and "@" not in caplog.text
    monkeypatch.undo()

    env = {**worker_environment(app), "ACTIONKIT_SUBMISSION_SWEEP_SECONDS": "1",
           "ACTIONKIT_SUBMISSION_REQUEUE_SECONDS": "1",
           "ACTIONKIT_CELERY__beat_schedule_filename": json.dumps(str(tmp_path / "beat-schedule"))}
    log_path = tmp_path / "worker-beat.log"
    purge_queue(app)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "actionkit.worker", "worker", "-B", "--loglevel=INFO",
         "--concurrency=1", "--pool=prefork", "-Q", app.config["CELERY"]["task_default_queue"],
         "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: count_where(Submission, Submission.status == SubmissionStatus.RECORDED) == 10, timeout=90), \
            log_path.read_text()[-3000:]
        assert count_where(Action) == 10 and count_where(Submission, Submission.payload.is_not(None)) == 0
        emails = count_where(Delivery, Delivery.channel == Channel.EMAIL)
        assert emails == 25  # Jackson: sheriff and both legislators by e-mail; Gulfport: the legislators
        assert wait_for(lambda: count_where(Delivery, Delivery.status == DeliveryStatus.SENT) == emails,
                        timeout=60), log_path.read_text()[-3000:]
    finally:
        stop_process_group(proc)
