"""Celery wired the Flask way: every task runs inside an app context."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from app.config["CELERY"] and register it as app.extensions["celery"]."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.beat_schedule = {
        "system.heartbeat": {
            "task": "system.heartbeat",
            "schedule": float(app.config["WORKER_HEARTBEAT_SECONDS"]),
        },
        **celery.conf.get("beat_schedule", {}),
    }
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
