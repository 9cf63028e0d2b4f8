"""Submission endpoint (POST /act/<slug>/sign) against a bare Flask INSERT, both under gunicorn on PostgreSQL;
then the worker's side: the letters.process_submission task recording every accepted signature.

    .venv/bin/python bench/submit.py [--workers 4] [--clients 8] [--duration 10] [--rate 50] [--profile]

Self-contained: creates a private PostgreSQL database on ACTIONKIT_BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it with `flask db upgrade`, loads the Mississippi
directory with `flask officials sync --from <shared data>` (or the bundled snapshot) and the demo campaign with
`flask campaigns demo`; the broker is ACTIONKIT_BENCH_BROKER_URL (default redis://127.0.0.1:6379/14) with a
private queue that no worker consumes (the tasks just queue); the fake Census geocoder runs in this process.
The app runs as in production (CSRF on: each client session fetches the campaign page for its cookie and token;
Origin checked; rate limits raised, still counted in Redis). The sealed `state` of N distinct supporters is
minted first: one real find POST per fixture address, then the same seal() the view uses with a different
name and email each; only the sign POSTs are timed (each must answer 303 to a thank-you page). The sign request
stores an encrypted submission and queues one task; after the load runs, this process runs that task for every
submission (as a worker would) and reports its CPU per signature, so the whole cost of a signature is shown.

The baseline is create_bare_app() below: one route inserting one row into a table of the same database, served
by the same gunicorn command. Load: a closed loop of client threads (http.client on loopback, a new connection
per request, as gunicorn's sync workers close them) for max throughput, then an open loop at a fixed rate whose
latencies count from each request's scheduled time. Everything is bounded in count and time; gunicorn is
stopped, the database dropped and the Redis keys removed at the end. Targets (PRODUCT.md section 11): ratio
>= 0.6, p95 < 300 ms at 50 submissions/s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
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
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script (python bench/x.py) as well as imported as bench.x
    sys.path.insert(0, str(REPO))
from bench.profiling import (  # noqa: E402
    by_library, free_port, group_cpu_seconds, print_sections, timed_sections)
SLUG = "end-ice-detainers-ms"
BARE_TABLE = "bench_bare_inserts"
PERSONAL = "My neighbor was held for three weeks on a detainer."
# Fixture addresses the fake geocoder knows (tests/data/census): Hinds County and Harrison County (287(g)).
ADDRESSES = [{"street": "400 High St", "city": "Jackson", "zip": "39201"},
             {"street": "2309 15th St", "city": "Gulfport", "zip": "39501"}]


# --- the baseline app (imported by gunicorn as bench.submit:create_bare_app()) ------------------------------

def create_bare_app() -> Any:
    """A bare Flask app whose one route inserts one row, on BENCH_BARE_DATABASE_URL."""
    import sqlalchemy as sa
    from flask import Flask, request

    app = Flask("bench_bare")
    engine = sa.create_engine(os.environ["BENCH_BARE_DATABASE_URL"], pool_size=2, max_overflow=0)
    table = sa.table(BARE_TABLE, sa.column("email"), sa.column("name"), sa.column("body"))
    insert = sa.insert(table)

    @app.post("/insert")
    def insert_one() -> tuple[str, int]:
        with engine.begin() as conn:
            conn.execute(insert, {"email": request.form.get("email", ""), "name": request.form.get("name", ""),
                                  "body": request.form.get("personal", "")})
        return "ok", 201

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    return app


# --- HTTP on loopback ---------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str


def call(port: int, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30.0) -> Reply:
    """One request on a new connection (gunicorn's sync workers close each one anyway)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    if not found:
        raise SystemExit(f"no hidden field {name!r} in the page:\n{html[:2000]}")
    return found.group(1)


@dataclass
class ClientSession:
    """A browser-like session: the session cookie and its CSRF token, from the campaign page."""

    port: int
    cookie: str
    csrf: str

    @classmethod
    def open(cls, port: int) -> "ClientSession":
        page = call(port, "GET", f"/act/{SLUG}")
        if page.status != 200:
            raise SystemExit(f"campaign page: HTTP {page.status}\n{page.body[:2000]}")
        cookies = [c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or []]
        cookie = next((c for c in cookies if c.startswith("session=")), None)
        if cookie is None:
            raise SystemExit("the campaign page set no session cookie")
        return cls(port, cookie, hidden(page.body, "csrf_token"))

    def post(self, path: str, fields: list[tuple[str, str]]) -> Reply:
        return call(self.port, "POST", path, urlencode(fields), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie,
            "Origin": f"http://127.0.0.1:{self.port}"})


# --- load ---------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    scheduled: float
    started: float
    ended: float
    ok: bool


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    closed: bool = False
    unrecorded: int = 0  # in flight when the run was closed: the server finished them, we did not time them

    @property
    def good(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    def throughput(self) -> float:
        good = self.good
        if len(good) < 2:
            return 0.0
        return len(good) / (max(s.ended for s in good) - min(s.started for s in good))

    def latencies_ms(self) -> list[float]:
        """Sorted, from each request's scheduled time; a failed request counts as infinitely slow."""
        return sorted((s.ended - s.scheduled) * 1000 if s.ok else float("inf") for s in self.samples)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[max(0, math.ceil(q * len(values)) - 1)]  # nearest rank


Job = Callable[[int], tuple[bool, str]]  # request number -> (ok, error text)


def _timed(job: Job, i: int, scheduled: float, result: Result, lock: threading.Lock) -> None:
    started = time.perf_counter()
    try:
        ok, error = job(i)
    except (OSError, http.client.HTTPException) as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"
    ended = time.perf_counter()
    with lock:
        if result.closed:  # answered after the run was closed: already counted as a failure
            return
        result.samples.append(Sample(scheduled, started, ended, ok))
        if error and len(result.errors) < 5:
            result.errors.append(error)


def closed_loop(job: Job, clients: int, count: int, duration: float) -> Result:
    """`clients` threads each send the next request as soon as the last answered, until count or duration."""
    result, lock = Result(), threading.Lock()
    counter = iter(range(count))
    deadline = time.perf_counter() + duration

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            now = time.perf_counter()
            _timed(job, i, now, result, lock)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    return result


def open_loop(job: Job, rate: float, duration: float, first: int = 0, grace: float = 30.0) -> Result:
    """Requests sent at fixed times (rate per second) whatever the answers; latency counts from that time.
    Requests not answered within `grace` seconds after the last was due count as failures (the run is bounded)."""
    result, lock = Result(), threading.Lock()
    total = int(rate * duration)
    pool = ThreadPoolExecutor(max_workers=64)
    futures = []
    start = time.perf_counter() + 0.05
    for n in range(total):
        scheduled = start + n / rate
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        futures.append(pool.submit(_timed, job, first + n, scheduled, result, lock))
    _, late = wait(futures, timeout=grace)
    if late:
        with lock:
            result.closed = True
            result.unrecorded = sum(1 for f in late if f.running())
            result.errors.append(f"{len(late)} requests not answered within {grace:g} s of the run's end")
            now = time.perf_counter()
            result.samples.extend(Sample(now, now, now, False) for _ in late)
    pool.shutdown(wait=True, cancel_futures=True)  # those in flight end within their socket timeout
    return result


# --- set-up -------------------------------------------------------------------------------------------------





def run_step(label: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
    started = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{label} failed (exit {done.returncode}):\n{log.read_text()[-3000:]}")
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


class Gunicorn:
    """A gunicorn process group on a loopback port, stopped with its workers."""

    def __init__(self, spec: str, env: dict[str, str], workers: int, worker_class: str, threads: int,
                 log: Path, ready_path: str) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
               "--worker-class", worker_class, "--worker-tmp-dir", "/dev/shm", "--backlog", "2048",
               "--timeout", "60", "--log-level", "warning", spec]
        if worker_class == "gthread":
            cmd[cmd.index(spec):cmd.index(spec)] = ["--threads", str(threads)]
        self.log = log
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn {spec} exited:\n{log.read_text()[-3000:]}")
            try:
                if call(self.port, "GET", ready_path, timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn {spec} did not answer on {ready_path}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def cpu(self) -> float:
        return group_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def shared_data() -> Path:
    folder = Path(os.environ.get("ACTIONKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
    return folder if folder.is_dir() else REPO / "actionkit" / "officials" / "snapshots" / "ms.json.gz"


# --- minting the sealed states ------------------------------------------------------------------------------

def mint_states(app: Any, session: ClientSession, n: int, run_id: str) -> list[tuple[str, list[str]]]:
    """n (sealed state, office ids to include): one real find POST per fixture address, then the view's own
    seal() with a distinct supporter each (name, email, phone) on the same plan."""
    from actionkit.letters.forms import seal, unseal

    templates = []
    for address in ADDRESSES:
        page = session.post(f"/act/{SLUG}", [
            ("csrf_token", session.csrf), ("lang", "en"), ("first_name", "Ana"), ("last_name", "García"),
            ("email", f"template-{run_id}@example.org"), ("state", "MS"), ("phone", "601-555-0142"),
            *address.items()])
        if page.status != 200 or 'id="compose-form"' not in page.body:
            raise SystemExit(f"find POST for {address}: HTTP {page.status}\n{page.body[:3000]}")
        include = re.findall(r'name="include" value="(\d+)"[^>]*checked', page.body)
        with app.app_context():
            data = unseal(hidden(page.body, "state"), _campaign_id(app))
        templates.append((data, include))
    states = []
    with app.app_context():
        for i in range(n):
            data, include = templates[i % len(templates)]
            signer = {**data["signer"], "first_name": f"Ana{i}", "email": f"bench-{run_id}-{i}@example.org"}
            states.append((seal({**data, "signer": signer}), include[:-1] or include))  # leave one target out
    return states


def _campaign_id(app: Any) -> int:
    from actionkit.campaigns import services as campaigns

    return campaigns.by_slug(SLUG).id


def sign_fields(session: ClientSession, state: str, include: list[str]) -> list[tuple[str, str]]:
    return [("csrf_token", session.csrf), ("state", state), ("lang", "en"),
            *[("include", office_id) for office_id in include], ("personal", PERSONAL), ("send", "1")]


def sign_job(sessions: list[ClientSession], states: list[tuple[str, list[str]]]) -> Job:
    def job(i: int) -> tuple[bool, str]:
        session = sessions[i % len(sessions)]
        state, include = states[i]
        reply = session.post(f"/act/{SLUG}/sign", sign_fields(session, state, include))
        ok = reply.status == 303 and "/thanks/" in (reply.headers.get("Location") or "")
        return ok, "" if ok else f"sign: HTTP {reply.status} {reply.body[:300]!r}"
    return job


def bare_job(port: int, run_id: str) -> Job:
    def job(i: int) -> tuple[bool, str]:
        body = urlencode([("email", f"bench-{run_id}-{i}@example.org"), ("name", f"Ana{i} García"),
                          ("personal", PERSONAL)])
        reply = call(port, "POST", "/insert", body, {"Content-Type": "application/x-www-form-urlencoded"})
        return reply.status == 201, "" if reply.status == 201 else f"bare: HTTP {reply.status}"
    return job


# --- the worker's side -----------------------------------------------------------------------------------------

def record_submissions(config: dict[str, Any]) -> tuple[float, float, int]:
    """Run letters.process_submission for every received submission in this process, as a worker would (its
    deliveries and confirmation tasks go to the broker); returns (signatures/s, CPU ms each, count)."""
    from actionkit import create_app
    from actionkit.extensions import db
    from actionkit.letters import tasks
    from actionkit.letters.models import Submission, SubmissionStatus

    app = create_app({**config, "TESTING": False})
    with app.app_context():
        ids = list(db.session.scalars(db.select(Submission.id).where(
            Submission.status == SubmissionStatus.RECEIVED).order_by(Submission.id)))
        db.session.rollback()
        cpu, wall = time.process_time(), time.perf_counter()
        for submission_id in ids:
            if not tasks.process_submission(submission_id):
                raise SystemExit(f"submission {submission_id} was not recorded")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        db.session.remove()
        db.engine.dispose()
    return len(ids) / max(wall, 1e-9), cpu * 1000 / max(len(ids), 1), len(ids)


# --- profiling ----------------------------------------------------------------------------------------------

# Sections of the sign request, timed by wrapping the functions the view calls (CPU and wall, no profiler
# overhead). (module, attribute, label, nested): nested ones are inside a top-level one and not added up.
SECTIONS = [
    ("flask_wtf.csrf:CSRFProtect", "protect", "CSRF check (before_request)", False),
    ("flask_limiter.extension:Limiter", "_check_request_limit", "rate limit check (Redis)", False),
    ("actionkit.campaigns.services", "live_brief_or_404", "campaigns.live_brief_or_404", False),
    ("actionkit.letters.guards", "cross_origin", "origin check", False),
    ("actionkit.letters.views", "unseal", "unseal the state (Fernet)", False),
    ("actionkit.letters.views", "_compose_input", "the supporter's choices", False),
    ("actionkit.letters.services", "accept", "services.accept (encrypt, INSERT)", False),
    ("actionkit.extensions:db.session", "commit", "db.session.commit", False),
    ("actionkit.letters.tasks", "publish", "tasks.publish process_submission (Redis)", False),
]




def profile_sign(config: dict[str, Any], n: int, run_id: str) -> None:
    """The sign POST in this process (same database, broker and config, Flask test client): CPU and wall time
    per section of the view, SQL statements per request, then cProfile's top functions by own CPU time."""
    import cProfile
    import pstats
    from collections import Counter

    import sqlalchemy as sa
    from werkzeug.datastructures import MultiDict

    from actionkit import create_app
    from actionkit.extensions import db
    from actionkit.letters.forms import seal, unseal

    app = create_app({**config, "TESTING": False})
    client = app.test_client()
    base = "https://localhost"  # the session cookie is Secure in production mode
    headers = {"Origin": base, "Referer": f"{base}/act/{SLUG}"}  # Flask-WTF checks the Referer over HTTPS
    page = client.get(f"/act/{SLUG}", base_url=base)
    session = ClientSession(0, "", hidden(page.get_data(as_text=True), "csrf_token"))
    find = client.post(f"/act/{SLUG}", base_url=base, headers=headers, data=MultiDict([
        ("csrf_token", session.csrf), ("lang", "en"), ("first_name", "Ana"), ("last_name", "García"),
        ("email", f"profile-{run_id}@example.org"), ("state", "MS"), *ADDRESSES[1].items()]))
    html = find.get_data(as_text=True)
    include = re.findall(r'name="include" value="(\d+)"[^>]*checked', html)[:-1]
    with app.app_context():
        data = unseal(hidden(html, "state"), _campaign_id(app))
        states = iter([seal({**data, "signer": {**data["signer"], "email": f"profile-{run_id}-{i}@example.org"}})
                       for i in range(2 * n + 5)])
        engine = db.engine

    def sign() -> None:
        resp = client.post(f"/act/{SLUG}/sign", base_url=base, headers=headers,
                           data=MultiDict(sign_fields(session, next(states), include)))
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]

    for _ in range(5):
        sign()  # warm: templates compiled, connections open
    statements: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        table = re.search(r"(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement)
        statements[f"{statement.split()[0]} {table.group(1) if table else '?'}{' (executemany)' if many else ''}"] += 1

    totals: dict[str, list[float]] = {}
    restore = timed_sections(SECTIONS, totals)
    sa.event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        sign()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sa.event.remove(engine, "before_cursor_execute", count)
    restore()

    print(f"\nprofile: {n} sign POSTs in this process (Flask test client; same database, broker and config)")
    print(f"  {'section':<44} {'CPU ms':>7} {'wall ms':>8} {'calls':>6}")
    print(f"  {'whole request':<44} {cpu * 1000 / n:>7.2f} {wall * 1000 / n:>8.2f} {1:>6.1f}")
    print_sections(SECTIONS, totals, n, cpu, wall, rest="rest (WSGI, session, form, redirect)",
                   statements=statements, per="request")

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(n):
        sign()
    profiler.disable()
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    shares, calls = by_library(table)
    print(f"  cProfile (CPU clock): {calls / n:,.0f} Python function calls per request; own time by library: " +
          shares)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()




# --- main ---------------------------------------------------------------------------------------------------

def summarise(name: str, result: Result, cpu: tuple[float, float]) -> str:
    lat = result.latencies_ms()
    failed = len(result.samples) - len(result.good)
    handled = len(result.samples) - sum(1 for s in result.samples if s.started == s.ended) + result.unrecorded
    per = [c * 1000 / max(handled, 1) for c in cpu]
    return (f"{name:<34} {len(result.good):>6} {failed:>5} {result.throughput():>9.1f} {per[0]:>7.1f} {per[1]:>7.1f} "
            f"{percentile(lat, .5):>8.1f} {percentile(lat, .95):>8.1f} {percentile(lat, .99):>8.1f} "
            f"{(lat[-1] if lat else float('nan')):>8.1f}")


def measure(server: Gunicorn, run: Callable[[], Result]) -> tuple[Result, tuple[float, float]]:
    """The run's result, and the CPU seconds gunicorn (master and workers) and this load generator used."""
    before, client = server.cpu(), _own_cpu()
    result = run()
    return result, (server.cpu() - before, _own_cpu() - client)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (both apps)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--clients", type=int, default=8, help="client threads in the max-throughput runs")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--max-requests", type=int, default=3000, help="cap on requests per max-throughput run")
    parser.add_argument("--rate", type=float, default=50.0, help="submissions per second in the open-loop run")
    parser.add_argument("--profile", action="store_true", help="profile the sign endpoint even if on target")
    parser.add_argument("--profile-requests", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    import redis
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    from actionkit import create_app
    from actionkit.officials.fake_geocoder import FakeCensusGeocoder

    server_url = os.environ.get("ACTIONKIT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    broker = os.environ.get("ACTIONKIT_BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
    run_id = uuid.uuid4().hex[:8]
    queue = f"actionkit-bench-submit-{run_id}"
    limiter_prefix = f"actionkit-bench-submit-limits-{run_id}"
    tmp = Path(tempfile.mkdtemp(prefix="actionkit-bench-submit-"))
    base = sa.make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"actionkit_bench_{run_id}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    url = base.set(database=name).render_as_string(hide_password=False)
    fake = FakeCensusGeocoder(delay=1.0)
    servers: list[Gunicorn] = []
    created = False
    load_start = os.getloadavg()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created = True
        fake.start()
        config: dict[str, Any] = {
            "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
            "ENCRYPTION_KEY": Fernet.generate_key().decode(), "HMAC_KEY": secrets.token_hex(32),
            "CELERY": {"broker_url": broker, "task_default_queue": queue},
            "MAIL": {"from_address": "letters@bench.example.org"}, "PUBLIC_URL": "https://act.bench.example.org",
            "GEOCODER": {"census_url": fake.url, "retries": 0, "read_timeout": 2.0, "total_timeout": 5.0},
            "PUBLIC_RATE_LIMIT": "1000000/minute", "RATELIMIT_KEY_PREFIX": limiter_prefix,
            "LOG_LEVEL": "WARNING",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONKIT_")}
        env.update({f"ACTIONKIT_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
        env.update({"FLASK_APP": "actionkit", "BENCH_BARE_DATABASE_URL": url, "PYTHONPATH": str(REPO)})
        flask = [sys.executable, "-m", "flask"]
        print(f"setting up database {name} (PostgreSQL), queue {queue} on {broker.split('://')[0]}", flush=True)
        setup_log = tmp / "setup.log"
        run_step("flask db upgrade", [*flask, "db", "upgrade"], env, setup_log)
        run_step("flask officials sync", [*flask, "officials", "sync", "--state", "MS", "--from",
                                          str(shared_data())], env, setup_log)
        run_step("flask campaigns demo", [*flask, "campaigns", "demo"], env, setup_log)
        bench_engine = sa.create_engine(url)
        with bench_engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, email text NOT NULL, "
                                 "name text NOT NULL, body text NOT NULL, "
                                 "created_at timestamptz NOT NULL DEFAULT now())"))

        app = create_app({**config, "TESTING": False})
        spec = dict(workers=args.workers, worker_class=args.worker_class, threads=args.threads)
        submit_server = Gunicorn("actionkit:create_app()", env, log=tmp / "gunicorn-app.log",
                                 ready_path="/healthz", **spec)
        servers.append(submit_server)
        bare_server = Gunicorn("bench.submit:create_bare_app()", env, log=tmp / "gunicorn-bare.log",
                               ready_path="/ready", **spec)
        servers.append(bare_server)

        sessions = [ClientSession.open(submit_server.port) for _ in range(max(args.clients, 8))]
        warm = 4 * args.workers
        needed = warm + args.max_requests + int(args.rate * args.duration)
        started = time.perf_counter()
        states = mint_states(app, sessions[0], needed, run_id)
        print(f"  minted {len(states)} sealed states (2 find POSTs + seal()): "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        sign = sign_job(sessions, states)
        bare = bare_job(bare_server.port, run_id)

        for job in (sign, bare):  # warm every worker (imports, templates, connections)
            warmed = closed_loop(job, args.workers, warm, 30)
            if len(warmed.good) != warm:
                raise SystemExit(f"warm-up failed: {warmed.errors}")

        runs: list[tuple[str, Result, tuple[float, float]]] = []
        bare_max, cpu = measure(bare_server, lambda: closed_loop(
            bare, args.clients, args.max_requests, args.duration))
        runs.append((f"bare INSERT, {args.clients} clients", bare_max, cpu))
        sign_max, cpu = measure(submit_server, lambda: closed_loop(
            lambda i: sign(warm + i), args.clients, args.max_requests, args.duration))
        runs.append((f"sign POST, {args.clients} clients", sign_max, cpu))
        offset = warm + len(sign_max.samples)
        sign_open, cpu = measure(submit_server, lambda: open_loop(sign, args.rate, args.duration, first=offset))
        runs.append((f"sign POST, open loop {args.rate:g}/s", sign_open, cpu))
        bare_open, cpu = measure(bare_server, lambda: open_loop(
            bare, args.rate, args.duration, first=args.max_requests))
        runs.append((f"bare INSERT, open loop {args.rate:g}/s", bare_open, cpu))

        for server in servers:
            server.stop()
        recorded_per_s, worker_ms, processed = record_submissions(config)
        with bench_engine.connect() as conn:
            submissions = conn.scalar(sa.text("SELECT count(*) FROM submissions"))
            actions = conn.scalar(sa.text("SELECT count(*) FROM actions"))
            letters = conn.scalar(sa.text("SELECT count(*) FROM letters"))
            deliveries = conn.scalar(sa.text("SELECT count(*) FROM deliveries"))
            rows = conn.scalar(sa.text(f"SELECT count(*) FROM {BARE_TABLE}"))
        bench_engine.dispose()
        signed = warm + len(sign_max.good) + len(sign_open.good)
        unrecorded = sign_open.unrecorded
        queued = redis.Redis.from_url(broker).llen(queue)  # process_submission tasks, then deliveries

        load_end = os.getloadavg()
        print(f"\ngunicorn {args.workers} {args.worker_class} workers"
              f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''} on both apps; "
              f"PostgreSQL; broker {broker.split('://')[0]} (queue not consumed); CSRF on (one token per client "
              f"session, {len(sessions)} sessions); rate limit raised to 1000000/minute (still counted in Redis)")
        print(f"{os.cpu_count()} CPUs; load average {load_start[0]:.2f} at start, {load_end[0]:.2f} / "
              f"{load_end[1]:.2f} / {load_end[2]:.2f} (1/5/15 min) at the end; the load generator runs on the "
              f"same CPUs")
        print(f"\n{'run':<34} {'ok':>6} {'fail':>5} {'req/s':>9} {'srv ms':>7} {'cli ms':>7} {'p50 ms':>8} "
              f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, result, cpu in runs:
            print(summarise(label, result, cpu))
        print("(srv ms / cli ms: CPU per request of gunicorn's master and workers / of this load generator; "
              "PostgreSQL's own CPU is not counted; latencies count from each request's scheduled time, failures as inf)")
        for label, result, _ in runs:
            for error in result.errors:
                print(f"  {label}: {error}")
        ratio = sign_max.throughput() / max(bare_max.throughput(), 1e-9)
        p95 = percentile(sign_open.latencies_ms(), .95)
        print(f"\nthroughput ratio sign / bare INSERT: {ratio:.2f}  (target >= 0.60)  "
              f"{'OK' if ratio >= 0.6 else 'MISSED'}")
        print(f"p95 at {args.rate:g} submissions/s: "
              f"{f'{p95:.0f} ms' if p95 != float('inf') else 'more than 5% of the requests failed or went unanswered'}"
              f"  (target < 300 ms)  "
              f"{'OK' if p95 < 300 else 'MISSED'}")
        print(f"worker side (letters.process_submission in this process, deliveries published to the broker): "
              f"{processed} signatures recorded at {recorded_per_s:.1f}/s, {worker_ms:.1f} ms CPU each "
              f"(PostgreSQL's CPU not counted)")
        print(f"recorded: {submissions} submissions and {actions} actions for {signed} timed 303 answers"
              f"{f' + {unrecorded} answered after the run closed' if unrecorded else ''}, {letters} letters, "
              f"{deliveries} deliveries, {queued} tasks waiting in the queue; {rows} bare rows")
        if not signed <= actions == submissions <= signed + unrecorded:
            print("WARNING: the number of recorded signatures does not match the successful sign POSTs")
        if ratio < 0.6 or args.profile:
            profile_sign(config, args.profile_requests, run_id)
    finally:
        for server in servers:
            server.stop()
        fake.stop()
        if created:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _clean_redis(broker, queue, limiter_prefix)
        if args.keep:
            print(f"logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _clean_redis(broker: str, queue: str, limiter_prefix: str) -> None:
    """Remove this run's queue, its kombu bindings and its rate-limit counters."""
    try:
        import redis

        client = redis.Redis.from_url(broker)
        keys = [k for pattern in (f"*{queue}*", f"*{limiter_prefix}*") for k in client.scan_iter(match=pattern)]
        if keys:
            client.delete(*keys)
        client.close()
    except Exception as exc:  # cleanup must not hide the real error
        print(f"could not clean Redis: {exc}")


if __name__ == "__main__":
    main()
