"""Delivery throughput against a no-op Celery task, on the same worker settings and broker.

    .venv/bin/python bench/delivery.py [-n 1000] [--concurrency 2] [--profile] [--profile-only] [--pstats N]

Self-contained: a temporary SQLite database and SQLite broker (or ACTIONKIT_BENCH_DATABASE_URL, a PostgreSQL
server URL on which a scratch database is created and dropped, and ACTIONKIT_BENCH_BROKER_URL, e.g. Redis), an
aiosmtpd sink in this process and real `celery worker` processes. Each phase fills the queue first, then
starts a worker and times it from its first received task to its last finished one (the worker's own log
clock), so worker start-up and publishing are not counted. Target (PRODUCT.md section 11): ratio >= 0.7.
When the ratio misses it (or with --profile), the send task is then profiled in this process.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import logging
import pstats
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from celery import shared_task

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script (python bench/x.py) as well as imported as bench.x
    sys.path.insert(0, str(REPO))
from bench.profiling import (  # noqa: E402
    by_library, free_port, group_cpu_seconds, print_sections, timed_sections)
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




def own_cpu_seconds() -> float:
    """User + system CPU of this process: the SMTP sink's work (and this script's polling of the log)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_phase(env: dict[str, str], queue: str, task: str, n: int, concurrency: int, log: Path,
              timeout: float) -> tuple[float, float, float]:
    """Start a worker on a full queue: tasks per second between its first receipt and its n-th success, and
    the CPU milliseconds per task of the worker and of this process (the SMTP sink) over the same stretch
    (sampled, so approximate)."""
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
                cpu_start, own_start = group_cpu_seconds(proc.pid), own_cpu_seconds()
            if done >= 2 * n:  # one "received" and one "succeeded" line per task
                cpu_used = group_cpu_seconds(proc.pid) - (cpu_start or 0.0)
                own_used = own_cpu_seconds() - own_start
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
    return n / max((last - first).total_seconds(), 1e-6), cpu_used * 1000 / n, own_used * 1000 / n


# --- profile ------------------------------------------------------------------------------------------------

# Sections of the send task, timed by wrapping the functions it calls (thread CPU and wall time, no profiler
# overhead; the SMTP sink runs in another thread of this process and is not counted). (module, attribute,
# label, nested): nested ones are inside a top-level one and not added up.
SECTIONS = [
    ("actionkit.delivery.services", "claim", "services.claim (claim UPDATE, pacing)", False),
    ("actionkit.delivery.services", "_paced_until", "  pacing (lock, counts)", True),
    ("actionkit.extensions:db.session", "commit", "db.session.commit (2 per task)", False),
    ("actionkit.delivery.services", "attempt", "services.attempt", False),
    ("actionkit.delivery.services", "_load", "  load the letter (join, decryption)", True),
    ("actionkit.delivery.channels", "build_message", "  build_message (MIME)", True),
    ("actionkit.delivery.channels:SmtpTransport", "send", "  SMTP send (kept connection)", True),
    ("actionkit.delivery.services", "record", "  record (fenced UPDATE)", True),
]






def profile_send(app: Any, ids: list[int], log_path: Path, top: int = 0) -> None:
    """The send task run in this process through Celery's eager tracer (apply), as a worker runs it: CPU and
    wall time per section, SQL statements per task, then cProfile's own CPU time by library (and its `top`
    functions). The no-op task through the same tracer is the baseline. The ids: 10 to warm up, then half
    timed, half profiled."""
    import sqlalchemy as sa

    from actionkit.delivery.models import Delivery, DeliveryStatus
    from actionkit.extensions import db

    celery = app.extensions["celery"]
    send, baseline = celery.tasks["delivery.send"], celery.tasks[NOOP_TASK]
    warm, rest = ids[:10], ids[10:]
    timed_ids, profiled_ids = rest[:len(rest) // 2], rest[len(rest) // 2:]
    n = len(timed_ids)
    # The worker logs at INFO to its log file: the same here, so logging is counted.
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        for i in warm:
            send.apply(args=[i])
            baseline.apply(args=[i])
        cpu, wall = time.thread_time(), time.perf_counter()
        for i in timed_ids:
            baseline.apply(args=[i])
        noop_cpu, noop_wall = time.thread_time() - cpu, time.perf_counter() - wall

        statements: Counter[str] = Counter()

        def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            words = statement.split()
            table = re.search(r"(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement)
            statements[f"{words[0]} {table.group(1) if table else words[1] if len(words) > 1 else ''}"] += 1

        with app.app_context():
            engine = db.engine
        totals: dict[str, list[float]] = {}
        restore = timed_sections(SECTIONS, totals, time.thread_time)
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            cpu, wall = time.thread_time(), time.perf_counter()
            for i in timed_ids:
                send.apply(args=[i])
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
            restore()

        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for i in profiled_ids:
            send.apply(args=[i])
        profiler.disable()
    finally:
        root.handlers = saved
        handler.close()

    with app.app_context():
        sent = db.session.scalar(sa.select(sa.func.count()).where(Delivery.id.in_(warm + rest),
                                                                  Delivery.status == DeliveryStatus.SENT))
        db.session.remove()
    assert sent == len(warm + rest), f"profile: only {sent} of {len(warm + rest)} deliveries sent"

    print(f"\nprofile: {n} send tasks in this process (Celery eager tracer; same database, SMTP sink and config)")
    print(f"  {'section':<44} {'CPU ms':>7} {'wall ms':>8} {'calls':>6}")
    print(f"  {'no-op task (baseline)':<44} {noop_cpu * 1000 / n:>7.2f} {noop_wall * 1000 / n:>8.2f} {1:>6.1f}")
    print(f"  {'send task':<44} {cpu * 1000 / n:>7.2f} {wall * 1000 / n:>8.2f} {1:>6.1f}")
    print_sections(SECTIONS, totals, n, cpu, wall, rest="rest (tracer, app context, session close)",
                   statements=statements, per="task")

    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    shares, calls = by_library(table)
    print(f"  cProfile (thread CPU clock): {calls / len(profiled_ids):,.0f} Python function calls per task; own "
          "time by library: " + shares)
    if top:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


# --- main ---------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="tasks per phase")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--destinations", type=int, default=100, help="distinct inboxes (pacing: 30/h each)")
    parser.add_argument("--profile", action="store_true", help="profile the send task even if on target")
    parser.add_argument("--profile-only", action="store_true", help="profile the send task; no worker phases")
    parser.add_argument("--profile-tasks", type=int, default=300, help="send tasks run by the profile")
    parser.add_argument("--pstats", type=int, default=0, metavar="N", help="also print cProfile's top N functions")
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
    env["ACTIONKIT_TESTING"] = "true"  # embedded settings on a database URL: refused outside tests and benchmarks
    n = 0 if args.profile_only else args.n
    try:
        app = create_app({**config, "TESTING": False})
        with app.app_context():
            upgrade(directory=str(REPO / "migrations"))
            ids = seed(n + args.profile_tasks, args.destinations)
            ids, profile_ids = ids[:n], ids[n:]
            db.session.remove()
        db_kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        ratio = 0.0
        if n:
            fill_queue(app, NOOP_TASK, list(range(n)))
            noop_rate, noop_cpu, _ = run_phase(env, queue, NOOP_TASK, n, args.concurrency, tmp / "noop.log", 600)

            fill_queue(app, "delivery.send", ids)
            send_rate, send_cpu, sink_cpu = run_phase(env, queue, "delivery.send", n, args.concurrency,
                                                      tmp / "send.log", 600)

            with app.app_context():
                sent = db.session.scalar(db.select(db.func.count()).where(Delivery.status == DeliveryStatus.SENT))
                db.session.remove()
            assert sent == n, f"only {sent} of {n} deliveries sent"
            assert len(sink.ids) == n and max(sink.ids.values()) == 1, "the sink did not get each message once"
            load = os.getloadavg()[0]
            ratio = send_rate / noop_rate
            print(f"database {db_kind}, broker {broker.split(':', 1)[0]}, {n} tasks, "
                  f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, load average {load:.1f}")
            print(f"no-op task:            {noop_rate:8.1f} tasks/s       {noop_cpu:6.1f} ms worker CPU per task")
            print(f"delivery to SMTP sink: {send_rate:8.1f} deliveries/s  {send_cpu:6.1f} ms worker CPU per task"
                  f"  (+{sink_cpu:.1f} ms in the sink, on the same CPUs)")
            print(f"ratio:                 {ratio:8.2f}  (target >= 0.70)")
        if args.profile_tasks >= 12 and (ratio < 0.7 or args.profile or args.profile_only):
            profile_send(app, profile_ids, tmp / "profile.log", args.pstats)
            print(f"  (database {db_kind}, broker {broker.split(':', 1)[0]}, load average {os.getloadavg()[0]:.1f})")
        with app.app_context():
            db.engine.dispose()
    finally:
        controller.stop()
        drop()  # type: ignore[operator]
        if args.keep:
            print(f"logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
