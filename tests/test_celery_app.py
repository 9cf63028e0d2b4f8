"""Every periodic job on beat names a task the worker has registered, and unsafe settings are refused."""
import pytest

from actionkit import config
from actionkit.celery_app import celery_init_app  # noqa: F401  (imported for the module under test)


def test_beat_schedule_names_registered_tasks(app):
    celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    expected = {"system.heartbeat", "delivery.sweep", "letters.sweep_pending", "letters.sweep_submissions",
                "letters.sweep_confirmations", "privacy.purge_expired",
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
