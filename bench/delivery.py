"""Delivery throughput against a no-op Celery task, on the same worker settings and broker.

    .venv/bin/python bench/delivery.py [-n 1000] [--concurrency 2]

Self-contained: a temporary SQLite database and SQLite broker (or ACTIONKIT_BENCH_DATABASE_URL, a PostgreSQL
server URL on which a scratch database is created and dropped, and ACTIONKIT_BENCH_BROKER_URL, e.g. Redis), an
aiosmtpd sink in this process and real `celery worker` processes. Each phase fills the queue first, then
starts a worker and times it from its first received task to its last finished one (the worker's own log
clock), so worker start-up and publishing are not counted. Target (PRODUCT.md section 11): ratio >= 0.7.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from celery import shared_task

REPO = Path(__file__).resolve().parent.parent
NOOP_TASK = "bench.noop"


@shared_task(name=NOOP_TASK, ignore_result=True)
def noop(i: int) -> None:
    """The baseline: a task that does nothing (loaded into the worker with --include bench.delivery)."""


class Sink:
    """aiosmtpd handler counting accepted messages by Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: dict[str, int] = {}

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        match = re.search(rb"^Message-ID: (<[^>]+>)", envelope.content, re.M | re.I)
        with self.lock:
            key = match.group(1).decode() if match else "?"
            self.ids[key] = self.ids.get(key, 0) + 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_database(tmp: Path) -> tuple[str, object]:
    """A database URL and a cleanup callable."""
    import sqlalchemy as sa

    server = os.environ.get("ACTIONKIT_BENCH_DATABASE_URL")
    if not server:
        return f"sqlite:///{tmp / 'bench.sqlite'}", lambda: None
    base = sa.make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"actionkit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def seed(n: int, destinations: int) -> list[int]:
    """n pending email deliveries (one supporter and action each), spread over `destinations` inboxes."""
    from actionkit.campaigns.models import Campaign, CampaignStatus, Personalisation
    from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
    from actionkit.extensions import db
    from actionkit.letters.models import Action, Letter, MatchAccuracy, Supporter
    from actionkit.officials.models import Division, DivisionType, Office, OfficeType
    from actionkit.privacy.crypto import crypto, email_hash

    division = Division(ocd_id="ocd-division/country:us/state:ms/county:hinds", name="Hinds County",
                        type=DivisionType.COUNTY, state="ms", source="bench")
    office = Office(division=division, type=OfficeType.SHERIFF, title="Sheriff of Hinds County", source="bench")
    campaign = Campaign(slug="bench", state="ms", status=CampaignStatus.LIVE,
                        personalisation=Personalisation.PARAGRAPH, target_types=["sheriff"])
    db.session.add_all([division, office, campaign])
    deliveries = []
    for i in range(n):
        address = f"supporter{i}@example.org"
        supporter = Supporter(email_hash=email_hash(address), email=address, first_name="Ana", last_name="García")
        action = Action(campaign=campaign, supporter=supporter, state="ms", street="400 High St", city="Jackson",
                        zip="39201", token_hash=crypto().lookup_hash(secrets.token_urlsafe(16), "action-token"),
                        accuracy=MatchAccuracy.STREET, division_ids=[])
        letter = Letter(action=action, office=office, office_type="sheriff", addressed_to="Sheriff",
                        office_title=office.title, subject="Please end 287(g) cooperation",
                        body="Dear Sheriff,\n\nAs a resident of Hinds County, I ask you to end the 287(g) "
                             "agreement.\n\nSincerely,\nAna García")
        delivery = Delivery(letter=letter, channel=Channel.EMAIL, status=DeliveryStatus.PENDING,
                            destination=f"inbox{i % destinations}@sheriff.example")
        db.session.add_all([supporter, action, letter, delivery])
        deliveries.append(delivery)
    db.session.commit()
    return [d.id for d in deliveries]


def fill_queue(app, name: str, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    celery = app.extensions["celery"]
    with celery.connection_for_write() as conn:
        producer = celery.amqp.Producer(conn)
        for i in ids:
            celery.send_task(name, args=[i], producer=producer)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Task ([\w.]+)\[[^\]]+\] (received|succeeded)")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (the worker and its pool)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_phase(env: dict[str, str], queue: str, task: str, n: int, concurrency: int, log: Path,
              timeout: float) -> tuple[float, float]:
    """Start a worker on a full queue: tasks per second between its first receipt and its n-th success, and
    the worker's CPU milliseconds per task over the same stretch (sampled, so approximate)."""
    cmd = [sys.executable, "-m", "celery", "-A", "actionkit.worker", "worker", "--loglevel=INFO",
           f"--concurrency={concurrency}", "--pool=prefork", "-Q", queue, "--include", "bench.delivery",
           "--hostname", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
           "--without-heartbeat"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    cpu_start = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"worker exited:\n{log.read_text()[-3000:]}")
            done = log.read_text(errors="replace").count(f"Task {task}[")
            if cpu_start is None and done:
                cpu_start = group_cpu_seconds(proc.pid)
            if done >= 2 * n:  # one "received" and one "succeeded" line per task
                cpu_used = group_cpu_seconds(proc.pid) - (cpu_start or 0.0)
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"timed out:\n{log.read_text()[-3000:]}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # measured; a warm shutdown would only add waiting
        proc.wait()
    first = last = None
    for line in log.read_text(errors="replace").splitlines():
        match = _STAMP.match(line)
        if match and match.group(2) == task:
            stamp = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
            if match.group(3) == "received" and first is None:
                first = stamp
            if match.group(3) == "succeeded":
                last = stamp
    assert first and last, "no task lines in the worker log"
    return n / max((last - first).total_seconds(), 1e-6), cpu_used * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="tasks per phase")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--destinations", type=int, default=100, help="distinct inboxes (pacing: 30/h each)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from aiosmtpd.controller import Controller
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from actionkit import create_app
    from actionkit.delivery.models import Delivery, DeliveryStatus
    from actionkit.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="actionkit-bench-"))
    url, drop = scratch_database(tmp)
    broker = os.environ.get("ACTIONKIT_BENCH_BROKER_URL") or f"sqla+sqlite:///{tmp / 'broker.sqlite'}"
    queue = f"actionkit-bench-{uuid.uuid4().hex[:8]}"
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    mail = {"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "from_address": "letters@bench.test"}
    config = {"DATABASE_URL": url, "EMBEDDED": True, "SECRET_KEY": secrets.token_urlsafe(16),
              "ENCRYPTION_KEY": Fernet.generate_key().decode(), "HMAC_KEY": secrets.token_hex(16),
              "INSTANCE_PATH": str(tmp / "instance"), "MAIL": mail,
              "CELERY": {"broker_url": broker, "task_default_queue": queue}}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONKIT_")}
    env.update({f"ACTIONKIT_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    env.pop("ACTIONKIT_INSTANCE_PATH")
    env["ACTIONKIT_CELERY__beat_schedule_filename"] = str(tmp / "beat")
    env["ACTIONKIT_LOG_LEVEL"] = "INFO"
    try:
        app = create_app({**config, "TESTING": False})
        with app.app_context():
            upgrade(directory=str(REPO / "migrations"))
            ids = seed(args.n, args.destinations)

            fill_queue(app, NOOP_TASK, list(range(args.n)))
            noop_rate, noop_cpu = run_phase(env, queue, NOOP_TASK, args.n, args.concurrency, tmp / "noop.log", 600)

            fill_queue(app, "delivery.send", ids)
            send_rate, send_cpu = run_phase(env, queue, "delivery.send", args.n, args.concurrency,
                                            tmp / "send.log", 600)

            db.session.rollback()
            sent = db.session.scalar(db.select(db.func.count()).where(Delivery.status == DeliveryStatus.SENT))
            db.session.remove()
            db.engine.dispose()
        assert sent == args.n, f"only {sent} of {args.n} deliveries sent"
        assert len(sink.ids) == args.n and max(sink.ids.values()) == 1, "the sink did not get each message once"
        db_kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        load = os.getloadavg()[0]
        print(f"database {db_kind}, broker {broker.split(':', 1)[0]}, {args.n} tasks, "
              f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, load average {load:.1f}")
        print(f"no-op task:            {noop_rate:8.1f} tasks/s       {noop_cpu:6.1f} ms worker CPU per task")
        print(f"delivery to SMTP sink: {send_rate:8.1f} deliveries/s  {send_cpu:6.1f} ms worker CPU per task")
        print(f"ratio:                 {send_rate / noop_rate:8.2f}  (target >= 0.70)")
    finally:
        controller.stop()
        drop()  # type: ignore[operator]
        if args.keep:
            print(f"logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
