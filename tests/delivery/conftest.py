"""Delivery fixtures: an aiosmtpd sink in the test process, bulk outbox rows, and worker processes that can be
started with options (concurrency, embedded beat, config) and killed with SIGKILL."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from email.parser import BytesParser
from email import policy
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, MatchAccuracy, Supporter
from actionkit.officials.models import OfficeType
from actionkit.privacy.crypto import crypto, email_hash
from tests.conftest import REPO, purge_queue, worker_environment
from tests.factories import make_campaign, make_office


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    """Accepts every message unless told otherwise; records Message-IDs, envelopes and connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.connections = 0
        self.servers: list[Any] = []
        self.rcpt_replies: dict[str, str] = {}  # address -> reply, e.g. "550 5.1.1 mailbox unavailable"
        self.data_reply: Optional[str] = None
        self.drop_after_data = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        with self.lock:
            self.connections += 1
            self.servers.append(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.data_reply:
            return self.data_reply
        headers = BytesParser(policy=policy.default).parsebytes(envelope.content, headersonly=True)
        with self.lock:
            self.messages.append({"message_id": str(headers["Message-ID"]), "mail_from": envelope.mail_from,
                                  "rcpt_tos": list(envelope.rcpt_tos), "data": envelope.content})
        if self.drop_after_data:  # accepted, but the client never hears so
            server.transport.close()
        return "250 Message accepted"

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(m["message_id"] for m in self.messages)


class Sink:
    def __init__(self, controller: Controller, handler: SinkHandler, port: int) -> None:
        self.controller, self.handler, self.port = controller, handler, port

    def drop_connections(self) -> None:
        """Close every client connection from the server side."""
        done = threading.Event()

        def close() -> None:
            for server in self.handler.servers:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self.controller.loop.call_soon_threadsafe(close)
        done.wait(5)
        time.sleep(0.05)

    def mail_config(self, **extra: Any) -> dict[str, Any]:
        return {"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_timeout": 10,
                "from_address": "letters@actionkit.test", **extra}


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, in this process."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield Sink(controller, handler, port)
    finally:
        controller.stop()


def seed_deliveries(n: int, *, offices: int = 10, channel: Channel = Channel.EMAIL,
                    email: bool = True) -> list[int]:
    """n pending deliveries (one supporter, action and letter each) spread over a few offices; flushed only."""
    campaign = make_campaign(target_types=[OfficeType.STATE_REPRESENTATIVE])
    targets = [make_office(OfficeType.STATE_REPRESENTATIVE, number=i + 1, holder=f"Rep Number{i + 1}",
                           email=f"rep{i + 1}@legislature.example" if email else None) for i in range(offices)]
    deliveries = []
    for i in range(n):
        address = f"s{i}-{secrets.token_hex(3)}@example.org"
        supporter = Supporter(email_hash=email_hash(address), email=address, first_name="Ana",
                              last_name="García", language="es")
        action = Action(campaign=campaign, supporter=supporter, state="ms", street="400 High St", city="Jackson",
                        zip="39201", token_hash=crypto().lookup_hash(secrets.token_urlsafe(16), "action-token"),
                        accuracy=MatchAccuracy.STREET, division_ids=[])
        office = targets[i % offices]
        letter = Letter(action=action, office=office, office_type=office.type.value, addressed_to=office.title,
                        office_title=office.title, subject="Please end 287(g) cooperation",
                        body="Dear Representative,\n\nPlease end it.\n\nAna García")
        delivery = Delivery(letter=letter, channel=channel, destination=office.email,
                            status=DeliveryStatus.PENDING)
        db.session.add_all([supporter, action, letter, delivery])
        deliveries.append(delivery)
    db.session.flush()
    return [d.id for d in deliveries]


def status_counts() -> Counter[str]:
    db.session.rollback()  # see the workers' commits
    return Counter(s.value for s in db.session.scalars(db.select(Delivery.status)))


class Worker:
    """A `celery worker` process (its own process group, so SIGKILL takes the pool children too)."""

    def __init__(self, proc: subprocess.Popen, log_path: Path) -> None:
        self.proc, self.log_path = proc, log_path

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """Warm shutdown, but a test does not wait long for it: the outbox does not depend on it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def wait_ready(self, timeout: float = 60) -> None:
        assert wait_for(lambda: "ready." in self.log_path.read_text(errors="replace") or self.proc.poll() is not None,
                        timeout), self.log()
        assert self.proc.poll() is None, self.log()


@pytest.fixture
def start_worker(app: Flask, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start worker processes on this test's database and broker, with options; all are stopped at the end.

    Like tests/conftest.py's worker_process, plus: concurrency, an embedded beat (-B), and MAIL, DELIVERY and
    CELERY settings for the worker (e.g. the SMTP sink, a short lease).
    """
    workers: list[Worker] = []
    purge_queue(app)

    def start(*, concurrency: int = 1, beat: bool = False, mail: Optional[dict[str, Any]] = None,
              delivery: Optional[dict[str, Any]] = None, celery: Optional[dict[str, Any]] = None,
              include: Optional[str] = None, env_extra: Optional[dict[str, str]] = None) -> Worker:
        env = worker_environment(app)
        env.update(env_extra or {})
        env["ACTIONKIT_CELERY__beat_schedule_filename"] = str(tmp_path / f"beat-{len(workers)}")
        if mail is not None:
            env["ACTIONKIT_MAIL"] = json.dumps({**app.config["MAIL"], **mail})
        if delivery is not None:
            env["ACTIONKIT_DELIVERY"] = json.dumps(delivery)
        for key, value in (celery or {}).items():
            env[f"ACTIONKIT_CELERY__{key}"] = json.dumps(value)
        log_path = tmp_path / f"worker-{len(workers)}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "actionkit.worker", "worker", "--loglevel=INFO",
               f"--concurrency={concurrency}", "--pool=prefork", "-Q", app.config["CELERY"]["task_default_queue"],
               "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip"]
        if beat:
            cmd.append("-B")
        if include:
            cmd += ["--include", include]
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        worker = Worker(proc, log_path)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
