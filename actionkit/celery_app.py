"""Celery wired the Flask way: every task runs inside an app context."""
from __future__ import annotations

from celery import Celery, Task
from celery.schedules import crontab
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
        "delivery.sweep": {
            "task": "delivery.sweep",
            "schedule": float(app.config["DELIVERY"]["sweep_seconds"]),
            "options": {"expires": float(app.config["DELIVERY"]["sweep_seconds"])},  # no pile-up while down
        },
        # Signatures whose recording task was lost; targets that waited for the geocoder; addresses past
        # retention; stats rollups.
        "letters.sweep_submissions": {
            "task": "letters.sweep_submissions",
            "schedule": float(app.config["SUBMISSION_SWEEP_SECONDS"]),
            "options": {"expires": float(app.config["SUBMISSION_SWEEP_SECONDS"])},
        },
        "letters.sweep_pending": {"task": "letters.sweep_pending", "schedule": 600.0, "options": {"expires": 600.0}},
        "privacy.purge_expired": {"task": "privacy.purge_expired", "schedule": 3600.0,
                                  "options": {"expires": 3600.0}},
        "delivery.refresh_cwc_offices": {"task": "delivery.refresh_cwc_offices",
                                         "schedule": float(app.config["CWC"]["offices_refresh_hours"]) * 3600,
                                         "options": {"expires": 3600.0}},
        "stats.refresh": {"task": "stats.refresh", "schedule": 300.0, "options": {"expires": 300.0}},
        "stats.rebuild": {"task": "stats.refresh", "schedule": crontab(hour=3, minute=20), "kwargs": {"full": True},
                          "options": {"expires": 3600.0}},
        **celery.conf.get("beat_schedule", {}),
    }
    if str(app.config["CELERY"]["broker_url"]).startswith("sqla+"):
        # The embedded SQL broker is polled: after every late-acked task the worker sleeps polling_interval
        # before fetching the next message, and kombu's 1 s default caps each pool process at ~1 task/s.
        # (kombu passes transport_options to create_engine for this transport, so it cannot be set there.)
        from kombu.transport import sqlalchemy as sql_transport

        sql_transport.Transport.polling_interval = 0.02
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
