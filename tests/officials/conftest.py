"""Fixtures for matching: the fake Census geocoder, and an app on the Mississippi directory loaded once per
session with run_sync(shared_data, "ms") (copied per test: a SQLite file copy, or CREATE DATABASE … TEMPLATE)."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit import create_app
from actionkit.extensions import db
from actionkit.officials import geocoders
from actionkit.officials.fake_geocoder import FakeCensusGeocoder
from tests.conftest import PG_URL, SHARED_DATA, _config, missing_service

CENSUS_FIXTURES = Path(__file__).resolve().parent.parent / "data" / "census"
READ_TIMEOUT = 0.3


def geocoder_settings(url: str, **extra: object) -> dict[str, object]:
    """GEOCODER config for tests: the fake's URL and timeouts short enough to keep failure tests fast."""
    settings: dict[str, object] = {
        "census_url": url, "connect_timeout": 1.0, "read_timeout": READ_TIMEOUT, "retries": 1, "backoff": 0.0,
        "total_timeout": 3.0, "breaker_failures": 3, "breaker_reset_seconds": 30.0,
    }
    settings.update(extra)
    return settings


@pytest.fixture
def fake_census() -> Iterator[FakeCensusGeocoder]:
    """The fake Census geocoder serving tests/data/census; hangs 1 s in 'timeout' mode (> READ_TIMEOUT)."""
    geocoders.reset_breakers()
    with FakeCensusGeocoder([CENSUS_FIXTURES], delay=1.0) as fake:
        yield fake
    geocoders.reset_breakers()


def _pg_admin() -> sa.Engine:
    base = sa.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))  # type: ignore[union-attr]
    return sa.create_engine(base, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def ms_database(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The migrated schema plus the whole Mississippi directory from shared/data, built once per session."""
    if not SHARED_DATA.is_dir():
        missing_service(f"shared data folder {SHARED_DATA}")
    from actionkit.officials.cli import run_sync

    instance = tmp_path_factory.mktemp("ms-instance")
    if PG_URL:
        admin = _pg_admin()
        name = f"actionkit_ms_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(migrated_database).database}"'))
        url = sa.make_url(migrated_database).set(database=name).render_as_string(hide_password=False)
    else:
        path = instance / "ms.sqlite"
        shutil.copyfile(migrated_database, path)
        url = f"sqlite:///{path}"
    app = create_app(_config(url, instance))
    with app.app_context():
        reports, errors = run_sync(SHARED_DATA, "ms")
        assert not errors, errors
        db.session.remove()
        db.engine.dispose()
    yield url if PG_URL else str(path)
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def ms_app(ms_database: str, tmp_path: Path, fake_census: FakeCensusGeocoder) -> Iterator[Flask]:
    """An app on a private copy of the Mississippi directory, geocoding against the fake server."""
    instance = tmp_path / "instance"
    admin = name = None
    if PG_URL:
        admin = _pg_admin()
        name = f"actionkit_mst_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(ms_database).database}"'))
        url = sa.make_url(ms_database).set(database=name).render_as_string(hide_password=False)
    else:
        target = tmp_path / "ms.sqlite"
        shutil.copyfile(ms_database, target)
        url = f"sqlite:///{target}"
    app = create_app(_config(url, instance, GEOCODER=geocoder_settings(fake_census.url)))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
