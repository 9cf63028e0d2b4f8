"""The tasks called directly (their logic), their registration and schedule, config checks, and the CLI."""
from __future__ import annotations

import datetime as dt

import pytest

from actionkit import create_app
from actionkit.config import ConfigError
from actionkit.db import utcnow
from actionkit.delivery import services, tasks
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from tests.conftest import _config
from tests.factories import make_action, make_office


def test_tasks_are_registered_and_the_sweeper_is_on_beat(app):
    celery = app.extensions["celery"]
    assert {"delivery.send", "delivery.sweep"} <= set(celery.tasks)
    entry = celery.conf.beat_schedule["delivery.sweep"]
    assert entry["task"] == "delivery.sweep" and entry["schedule"] == 60.0
    conf = celery.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier,
            conf.task_serializer) == (True, True, 1, "json")
    assert conf.task_soft_time_limit < conf.task_time_limit < app.config["DELIVERY"]["lease_seconds"]


def test_send_task_sends_once_through_the_file_backend(app, tmp_path):
    delivery_id = make_action().letters[0].delivery.id
    db.session.commit()
    tasks.send(delivery_id)
    tasks.send(delivery_id)  # a duplicate task: nothing more is sent
    db.session.expire_all()
    row = db.session.get(Delivery, delivery_id)
    assert row.status is DeliveryStatus.SENT and row.attempts == 1
    assert len(list((tmp_path / "instance" / "outbox").glob("*.eml"))) == 1


def test_sweep_task_publishes_after_commit(app, monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda ids: published.extend(ids) or len(ids))
    stuck = make_action().letters[0].delivery
    stuck.status, stuck.attempts, stuck.lease_expires_at = DeliveryStatus.SENDING, 1, utcnow() - dt.timedelta(1)
    db.session.commit()
    totals = tasks.sweep()
    assert totals == {"requeued": 0, "recovered": 1, "dead": 0, "held": 0, "published": 1}
    assert published == [stuck.id]


def test_a_lease_shorter_than_the_task_time_limit_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="lease_seconds"):
        create_app(_config("sqlite://", tmp_path, DELIVERY={"lease_seconds": 100}))
    with pytest.raises(ConfigError, match="must be a number"):
        create_app(_config("sqlite://", tmp_path, DELIVERY={"max_attempts": "many"}))


def test_cli_status_retry_and_sweep(app, runner, monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda ids: published.extend(ids) or len(ids))
    failed = make_action().letters[0].delivery
    failed.status, failed.last_error = DeliveryStatus.FAILED, "smtp 550 recipient refused"
    dead = make_action().letters[0].delivery
    dead.status = DeliveryStatus.DEAD
    make_action(offices=[make_office(county="Madison", email=None)], channel=Channel.PRINT)
    db.session.commit()

    status = runner.invoke(args=["delivery", "status"])
    assert status.exit_code == 0, status.output
    assert status.output.splitlines()[0].split() == ["status", "email", "print", "total"]
    assert status.output.strip().endswith("3 deliveries: 1 pending, 1 failed, 1 dead")

    assert runner.invoke(args=["delivery", "retry"]).exit_code == 2
    retried = runner.invoke(args=["delivery", "retry", "--failed", str(dead.id), "999"])
    assert retried.exit_code == 0, retried.output
    assert "2 deliveries back to pending (attempts reset); 1 named ids were not failed, dead or held" in retried.output
    assert sorted(published) == sorted([failed.id, dead.id])

    swept = runner.invoke(args=["delivery", "sweep"])
    assert swept.exit_code == 0 and swept.output.startswith("Swept: 0 published")


def test_logs_and_last_error_carry_no_personal_data(app, smtp_sink, caplog):
    app.config["MAIL"].update(smtp_sink.mail_config())
    smtp_sink.handler.rcpt_replies["gone@hinds.example"] = "550 5.1.1 <gone@hinds.example> unknown; from ana@x.org"
    action = make_action(offices=[make_office(email="gone@hinds.example")])
    db.session.commit()
    caplog.set_level("DEBUG")
    tasks.send(action.letters[0].delivery.id)
    db.session.expire_all()
    row = db.session.get(Delivery, action.letters[0].delivery.id)
    # A permanent failure moves the letter to the next channel of the office's chain (print, by hand).
    assert row.status is DeliveryStatus.PENDING and row.channel is Channel.PRINT and "@" not in row.last_error
    assert row.last_error == "smtp 550 recipient refused: 5.1.1 <address> unknown; from <address>"
    assert "@" not in row.channel_notes
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("actionkit"))
    assert f"delivery {row.id} failed" in logged
    for personal in ("@", "García", "Ana", "Jackson", "400 High"):
        assert personal not in logged
