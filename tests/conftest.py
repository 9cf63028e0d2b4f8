"""Shared fixtures: an app on a freshly migrated database per test (SQLite file copy, or a private
PostgreSQL database truncated after each test when ACTIONKIT_TEST_DATABASE_URL is set)."""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit import create_app
from actionkit.extensions import db

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("ACTIONKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
PG_URL = os.environ.get("ACTIONKIT_TEST_DATABASE_URL")
BROKER_URL = os.environ.get("ACTIONKIT_TEST_BROKER_URL")
ON_CI = bool(os.environ.get("CI"))
# A private queue per test session, so concurrent runs sharing one Redis never consume each other's tasks.
QUEUE = f"actionkit-test-{uuid.uuid4().hex[:8]}"
# Fixed per session so a worker process can decrypt what the test process wrote.
from cryptography.fernet import Fernet  # noqa: E402

ENCRYPTION_KEY = Fernet.generate_key().decode()
HMAC_KEY = uuid.uuid4().hex


def missing_service(what: str) -> None:
    """On CI a missing service is a failure; on a developer's machine the test is skipped."""
    if ON_CI:
        pytest.fail(f"{what} is required on CI but is not available")
    pytest.skip(f"{what} not available")


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(_config(url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _config(url: str, instance: Path, **extra: object) -> dict[str, object]:
    instance.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, object] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": url,
        "EMBEDDED": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "HMAC_KEY": HMAC_KEY,
        "WTF_CSRF_ENABLED": False,
        "CELERY": {
            "broker_url": BROKER_URL or f"sqla+sqlite:///{instance / 'broker.sqlite'}",
            "task_default_queue": QUEUE,
        },
        "MAIL": {"backend": "file", "outbox": str(instance / "outbox")},
        # Fresh counters per test: on Redis they would outlive the test (and the run) and turn into 429s.
        "RATELIMIT_STORAGE_URI": "memory://",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the schema once per session with `flask db upgrade`; yield the URL (or SQLite template path)."""
    instance = tmp_path_factory.mktemp("migrate-instance")
    if PG_URL:
        base = sa.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"actionkit_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError:
            missing_service(f"PostgreSQL at {base.render_as_string(hide_password=True)}")
        url = base.set(database=name).render_as_string(hide_password=False)
        _migrate(url, instance)
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        template = instance / "template.sqlite"
        _migrate(f"sqlite:///{template}", instance)
        yield str(template)


@contextmanager
def private_app(database: str, tmp_path: Path) -> Iterator[Flask]:
    """The app in its context on this test's own database: a copy of the SQLite file `database`, or on
    PostgreSQL the session's database (the URL), emptied afterwards (worker processes need committed rows, so
    tests cannot isolate by rolling back)."""
    if PG_URL:
        url = database
    else:
        target = tmp_path / "actionkit.sqlite"
        shutil.copyfile(database, target)
        url = f"sqlite:///{target}"
    app = create_app(_config(url, tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    with private_app(migrated_database, tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def shared_data() -> Path:
    """The real public data in ../shared/data (read there, never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        missing_service(f"shared data folder {SHARED_DATA}")
    return SHARED_DATA


def worker_environment(app: Flask) -> dict[str, str]:
    """ACTIONKIT_* variables that make a separate worker process use this test app's database and broker."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONKIT_")}
    env.update({
        "ACTIONKIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ACTIONKIT_EMBEDDED": "true",
        "ACTIONKIT_TESTING": "true",  # embedded settings on a database URL are refused outside the test suite
        "ACTIONKIT_SECRET_KEY": app.config["SECRET_KEY"],
        "ACTIONKIT_ENCRYPTION_KEY": ",".join(app.config["ENCRYPTION_KEYS"]),
        "ACTIONKIT_HMAC_KEY": app.config["HMAC_KEY"],
        "ACTIONKIT_CELERY__broker_url": app.config["CELERY"]["broker_url"],
        "ACTIONKIT_CELERY__task_default_queue": app.config["CELERY"]["task_default_queue"],
        "ACTIONKIT_MAIL": json.dumps(app.config["MAIL"]),
    })
    return env


@pytest.fixture
def worker_process(app: Flask, tmp_path: Path) -> Iterator[object]:
    """A real `celery -A actionkit.worker worker` process on this test's database and broker."""
    import subprocess
    import sys

    purge_queue(app)
    log = (tmp_path / "worker.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "actionkit.worker", "worker", "--loglevel=INFO",
         "--concurrency=1", "--pool=prefork", "-Q", app.config["CELERY"]["task_default_queue"],
         "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=worker_environment(app), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_path = tmp_path / "worker.log"  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        stop_process_group(proc)
        log.close()


def purge_queue(app: Flask) -> None:
    """Empty this session's queue before a worker starts: tasks earlier tests published (a confirmation, a
    delivery id) would otherwise run against this test's rows, which reuse the same ids."""
    celery = app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.config["CELERY"]["task_default_queue"])


def stop_process_group(proc: "subprocess.Popen[bytes]", timeout: float = 15) -> None:
    """SIGTERM a process started with start_new_session=True and its children; SIGKILL them after `timeout`."""
    import signal
    import subprocess

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own on a free port, to stop and start (never the shared one)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.proc = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import socket
        import subprocess
        import time

        executable = shutil.which("redis-server")
        if executable is None:
            missing_service("redis-server")
        # Append-only, as docker-compose.yml runs it: queued tasks survive the restart.
        self.proc = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, timeout=5)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
