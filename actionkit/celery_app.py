"""Celery wired the Flask way: every task runs inside an app context; one bounded way to publish."""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Optional, Sequence

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, current_app

log = logging.getLogger(__name__)

WEBHOOK_QUEUE = "webhooks"
WEBHOOK_TASKS = "webhooks.*"  # task names of the webhooks domain (glob, as Celery's task_routes read it)


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
        # Signatures whose recording task was lost; unsent confirmations; targets that waited for the geocoder;
        # addresses past retention; stats rollups. docs/architecture.md lists these intervals.
        "letters.sweep_submissions": {
            "task": "letters.sweep_submissions",
            "schedule": float(app.config["SUBMISSION_SWEEP_SECONDS"]),
            "options": {"expires": float(app.config["SUBMISSION_SWEEP_SECONDS"])},
        },
        "delivery.send_digests": {"task": "delivery.send_digests", "schedule": 3600.0, "options": {"expires": 3600.0}},
        "letters.sweep_confirmations": {
            "task": "letters.sweep_confirmations",
            "schedule": float(app.config["SUBMISSION_SWEEP_SECONDS"]),
            "options": {"expires": float(app.config["SUBMISSION_SWEEP_SECONDS"])},
        },
        "stories.sweep_receipts": {
            "task": "stories.sweep_receipts",
            "schedule": float(app.config["SUBMISSION_SWEEP_SECONDS"]),
            "options": {"expires": float(app.config["SUBMISSION_SWEEP_SECONDS"])},
        },
        "letters.sweep_pending": {
            "task": "letters.sweep_pending",
            "schedule": float(app.config["PENDING_SWEEP_SECONDS"]),
            "options": {"expires": float(app.config["PENDING_SWEEP_SECONDS"])},
        },
        "webhooks.sweep": {"task": "webhooks.sweep", "schedule": 60.0, "options": {"expires": 60.0}},
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
    # Calls to the organisation's own systems (webhooks, CRM) have their own queue and, in production, their own
    # worker (`-Q webhooks`): a slow or failing endpoint then never holds a slot that a letter needs.
    celery.conf.task_routes = {WEBHOOK_TASKS: {"queue": WEBHOOK_QUEUE}, **dict(celery.conf.get("task_routes") or {})}
    if str(app.config["CELERY"]["broker_url"]).startswith("sqla+"):
        # The embedded SQL broker is polled: after every late-acked task the worker sleeps polling_interval
        # before fetching the next message, and kombu's 1 s default caps each pool process at ~1 task/s.
        # (kombu passes transport_options to create_engine for this transport, so it cannot be set there.)
        from kombu.transport import sqlalchemy as sql_transport

        sql_transport.Transport.polling_interval = 0.02
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


class Publisher:
    """One broker connection per process and thread, kept between requests (a new one costs more CPU than the
    publishing), with a short connect timeout and no retries: a down broker must not hold a request up."""

    _local = threading.local()

    @classmethod
    def producer(cls, celery: Any, timeout: float) -> tuple[Any, bool]:
        """The cached producer for this Celery app (or a new one), and whether it was reused."""
        state = cls._local
        if getattr(state, "pid", None) != os.getpid():  # inherited across fork: the parent's socket, not ours
            state.producer = state.key = None
        key = (id(celery), str(celery.conf.broker_url))
        if getattr(state, "key", None) == key and state.producer is not None:
            return state.producer, True
        cls.discard()
        options = dict(celery.conf.broker_transport_options or {})
        # Half the budget to connect, half for a send: a broker that accepts and then stalls costs at most both.
        if str(celery.conf.broker_url).startswith(("redis://", "rediss://")):
            options.update(socket_connect_timeout=timeout / 2, socket_timeout=timeout / 2)
        conn = celery.connection_for_write(connect_timeout=timeout / 2, transport_options=options)
        try:
            conn.ensure_connection(max_retries=0, timeout=timeout / 2)
        except BaseException:
            conn.release()
            raise
        state.key, state.producer, state.pid = key, celery.amqp.Producer(conn), os.getpid()
        return state.producer, False

    @classmethod
    def discard(cls) -> None:
        """Forget this thread's connection (after an error its state is unknown)."""
        state = cls._local
        producer, state.producer, state.key = getattr(state, "producer", None), None, None
        if producer is not None and getattr(state, "pid", None) == os.getpid():
            try:
                producer.connection.release()
            except Exception:  # closing a broken connection may fail too; it is dropped either way
                pass


def publish_many(task_name: str, arg_lists: Sequence[Sequence[Any]], countdown: Optional[float] = None) -> int:
    """Publish `task_name` once per argument list (ids only) after the commit that wrote its rows (run no sooner
    than `countdown` seconds from now, when given: a wake-up, never the schedule itself); the number published. Never raises and never waits for the broker longer than ACTIONKIT_DELIVERY__publish_timeout
    (connect, then each send; no kombu retries): what is not published is left to the periodic sweeps."""
    if not arg_lists:
        return 0
    celery = current_app.extensions["celery"]
    timeout = float(current_app.config["DELIVERY"]["publish_timeout"])
    published, started = 0, time.monotonic()
    for fresh_try in (False, True):
        reused = False
        try:
            producer, reused = Publisher.producer(celery, timeout)
            for args in arg_lists[published:]:
                celery.send_task(task_name, args=list(args), producer=producer, retry=False, countdown=countdown)
                published += 1
            return published
        except Exception as exc:  # the broker is down or failing: the rows are committed, a sweep publishes
            Publisher.discard()
            if reused and not fresh_try and time.monotonic() - started < timeout / 4:
                continue  # the kept connection had gone stale (e.g. Redis restarted): one try on a new one
            log.warning("could not queue %s (%s): %d of %d left for the sweep", task_name, type(exc).__name__,
                        len(arg_lists) - published, len(arg_lists))
            return published
    return published


def publish(task_name: str, *args: Any) -> bool:
    """Publish one task (see publish_many); False when the broker did not take it in time."""
    return publish_many(task_name, [args]) == 1
