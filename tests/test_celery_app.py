"""Every periodic job on beat names a task the worker has registered, and unsafe settings are refused."""
import pytest

from actionkit import config
from actionkit.celery_app import celery_init_app  # noqa: F401  (imported for the module under test)


def test_beat_schedule_names_registered_tasks(app):
    celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    expected = {"system.heartbeat", "delivery.sweep", "letters.sweep_pending", "letters.sweep_submissions",
                "letters.sweep_confirmations", "stories.sweep_receipts", "privacy.purge_expired",
                "stats.refresh"}
    assert expected <= {entry["task"] for entry in schedule.values()}
    for entry in schedule.values():
        assert entry["task"] in celery.tasks, entry["task"]


def test_task_always_eager_is_refused_outside_tests(tmp_path):
    from flask import Flask

    app = Flask("probe")
    app.instance_path = str(tmp_path)
    with pytest.raises(config.ConfigError, match="task_always_eager"):
        config.load(app, {"CELERY": {"task_always_eager": True}})


@pytest.fixture
def stalled_broker():  # type: ignore[no-untyped-def]
    """A TCP port that accepts connections and never answers: a broker hung or behind a dead network path."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.mark.parametrize("broker", ["stalled", "refused"])
def test_every_publish_returns_within_the_configured_timeout(app, stalled_broker, caplog, broker):
    import time

    from actionkit import celery_app
    from actionkit.delivery import services as delivery
    from actionkit.letters import tasks
    from tests.conftest import free_port

    app.extensions["celery"].conf.broker_url = (stalled_broker if broker == "stalled"
                                                else f"redis://127.0.0.1:{free_port()}/0")
    app.config["DELIVERY"]["publish_timeout"] = 0.6
    celery_app.Publisher.discard()
    publishes = (lambda: tasks.publish(tasks.process_submission, 1),
                 lambda: tasks.publish(tasks.send_confirmation, 2),
                 lambda: delivery.enqueue([1, 2, 3]))
    for publish_number, publish in enumerate(publishes):
        started = time.monotonic()
        assert not publish()
        # 0.4 s for the CPU work of a fresh connection on a busy test machine; the waits themselves are bounded.
        assert time.monotonic() - started < 0.6 + 0.4, (publish_number, time.monotonic() - started)
    assert "could not queue letters.process_submission" in caplog.text
    celery_app.Publisher.discard()


def test_webhook_tasks_have_their_own_queue_and_letters_keep_the_default(app):  # type: ignore[no-untyped-def]
    """A slow webhook endpoint must never hold a worker slot a letter needs: production runs `-Q webhooks` apart."""
    router = app.extensions["celery"].amqp.router
    assert router.route({}, "webhooks.send")["queue"].name == "webhooks"
    assert router.route({}, "webhooks.sweep")["queue"].name == "webhooks"
    for name in ("delivery.send", "letters.process_submission", "letters.send_confirmation"):
        assert router.route({}, name)["queue"].name == app.extensions["celery"].conf.task_default_queue
