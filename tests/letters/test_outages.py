"""Outages with real processes: with Redis (broker and rate-limit counters) stopped, the public journey still
answers and signatures are accepted, then recorded once Redis is back; a killed worker's confirmation e-mail is
sent again within minutes."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.extensions import db
from actionkit.letters.models import Action, Submission, SubmissionStatus
from tests.conftest import REPO, PrivateRedis, _config, stop_process_group, worker_environment
from tests.letters.conftest import GULFPORT, JACKSON, Journey
from tests.officials.conftest import geocoder_settings


def wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def count_where(model: type, *conditions) -> int:  # type: ignore[no-untyped-def]
    db.session.rollback()  # a fresh snapshot of what the worker committed
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*conditions))


def start_worker_and_beat(app: Flask, tmp_path: Path, **settings: str) -> subprocess.Popen:
    env = {**worker_environment(app), "ACTIONKIT_SUBMISSION_SWEEP_SECONDS": "1",
           "ACTIONKIT_CELERY__beat_schedule_filename": json.dumps(str(tmp_path / f"beat-{uuid.uuid4().hex[:6]}")),
           **settings}
    log_path = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "actionkit.worker", "worker", "-B", "--loglevel=INFO",
         "--concurrency=1", "--pool=prefork", "-Q", app.config["CELERY"]["task_default_queue"],
         "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


@pytest.mark.services
def test_with_redis_stopped_the_journey_answers_and_signatures_are_recorded_later(
        app: Flask, journey: Journey, private_redis: PrivateRedis, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Redis holds the queue and the rate-limit counters (as in production); it stops for the whole journey."""
    on_redis = create_app(_config(
        app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "redis-instance",
        CELERY={"broker_url": private_redis.url, "task_default_queue": app.config["CELERY"]["task_default_queue"]},
        RATELIMIT_STORAGE_URI=private_redis.url, PUBLIC_RATE_LIMIT="6/minute",
        GEOCODER={**app.config["GEOCODER"], **geocoder_settings(journey.fake.url, retries=0)},  # type: ignore[union-attr]
        DELIVERY={"publish_timeout": 1.0}))
    client = on_redis.test_client()
    supporters = Journey(client, journey.campaign, fake=journey.fake)
    supporters.record_here = False
    assert client.get(supporters.base).status_code == 200  # counters and broker on Redis while it is up

    private_redis.stop()
    caplog.set_level(logging.INFO)
    slowest = 0.0
    for i in range(4):
        started = time.monotonic()
        resp = supporters.complete(JACKSON if i % 2 else GULFPORT, email=f"supporter{i}@example.org")
        slowest = max(slowest, time.monotonic() - started)
        assert resp.status_code == 303 and "/thanks/" in resp.headers["Location"], resp.get_data(as_text=True)
        thanks = client.get(resp.headers["Location"])
        assert thanks.status_code == 200
    assert slowest < 6, slowest  # four requests each, none waits for Redis (fake geocoder: ~1 s per lookup)
    assert count_where(Submission, Submission.status == SubmissionStatus.RECEIVED) == 4
    assert caplog.text.count("falling back to in-memory storage") == 1  # logged once, not per request
    assert "supporter" not in caplog.text.replace("supporters", "")  # no e-mail address in any log line

    # The limits still hold, counted in this process while Redis is away.
    statuses = [supporters.find(JACKSON, email="bad").status_code for _ in range(7)]
    assert 429 in statuses and not [s for s in statuses if s >= 500], statuses

    private_redis.start()  # append-only file: whatever was queued before the stop is still there
    worker = start_worker_and_beat(on_redis, tmp_path, ACTIONKIT_SUBMISSION_REQUEUE_SECONDS="1")
    try:
        assert wait_for(lambda: count_where(Submission, Submission.status == SubmissionStatus.RECORDED) == 4,
                        timeout=90), worker.log_path.read_text()[-3000:]  # type: ignore[attr-defined]
        assert count_where(Action) == 4
    finally:
        stop_process_group(worker)


@pytest.fixture
def stalled_smtp():  # type: ignore[no-untyped-def]
    """A mail server that accepts the connection and never answers: the worker hangs in a send."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.services
def test_a_confirmation_lost_with_a_killed_worker_is_sent_within_minutes(
        app: Flask, journey: Journey, tmp_path: Path, stalled_smtp: int) -> None:
    """kill -9 of the worker while it hangs on the mail server: the confirmation e-mail's message is gone (or
    unacknowledged for the broker's hour) and its claim rolled back; the confirmations sweep sends it again.
    Intervals are scaled down here (2 s instead of the default 120 s)."""
    import os
    import signal

    journey.record_here = False
    outbox = Path(app.config["MAIL"]["outbox"])
    stuck = start_worker_and_beat(app, tmp_path, ACTIONKIT_MAIL=json.dumps(
        {"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": stalled_smtp, "smtp_timeout": 120,
         "from_address": "letters@example.org"}))
    try:
        assert journey.complete(JACKSON).status_code == 303
        assert wait_for(lambda: count_where(Action) == 1, timeout=60), stuck.log_path.read_text()[-3000:]  # type: ignore[attr-defined]
        time.sleep(2)  # the worker is now hanging in a send
    finally:
        os.killpg(stuck.pid, signal.SIGKILL)
        stuck.wait()
    assert count_where(Action, Action.confirmation_sent_at.is_not(None)) == 0
    assert not list(outbox.glob("confirmation-*.eml"))

    started = time.monotonic()
    worker = start_worker_and_beat(app, tmp_path, ACTIONKIT_CONFIRMATION_REQUEUE_SECONDS="2")
    try:
        assert wait_for(lambda: list(outbox.glob("confirmation-*.eml")), timeout=60), \
            worker.log_path.read_text()[-3000:]  # type: ignore[attr-defined]
        assert time.monotonic() - started < 60
        assert len(list(outbox.glob("confirmation-*.eml"))) == 1
    finally:
        stop_process_group(worker)
