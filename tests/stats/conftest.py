"""Fixtures for the stats pages: staff logged in through the session (no test-only routes), a small world of
campaigns, counties, actions, letters and deliveries, and an HTML reader that pulls figures out of pages."""
from __future__ import annotations

import datetime as dt
import itertools
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit import create_app

from actionkit.campaigns.models import Campaign
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db, login_manager
from actionkit.letters.models import Action, Supporter
from actionkit.officials.models import Office, OfficeType
from actionkit.staff.auth import LOGIN_AT
from actionkit.staff.models import Role, StaffUser
from tests.conftest import PG_URL, _config
from tests.factories import make_action, make_campaign, make_office, make_supporter

_seq = itertools.count(1)


def make_staff(role: Role) -> StaffUser:
    """A staff account; the password hash is never checked because tests log in through the session."""
    n = next(_seq)
    user = StaffUser(email=f"{role.value}{n}@staff.example.org", name=f"{role.value.title()} {n}",
                     password_hash="not-checked-in-tests", role=role, session_nonce=secrets.token_hex(8))
    db.session.add(user)
    db.session.commit()
    return user


def session_data(app: Flask, user: StaffUser, *, user_agent: str, remote_addr: str = "127.0.0.1") -> dict[str, Any]:
    """The Flask-Login session of `user` for a client with this address and User-Agent ('strong' session
    protection checks the _id hash of both), plus the staff log-in time the session lifetime is counted from."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": remote_addr, "HTTP_USER_AGENT": user_agent}):
        ident = login_manager._session_identifier_generator()
    return {"_user_id": user.get_id(), "_fresh": True, "_id": ident, LOGIN_AT: time.time()}


@pytest.fixture
def login(app: Flask, client: Any) -> Callable[[Role], StaffUser]:
    """login(Role.X) creates a staff user with that role and logs the test client in as them."""

    def _login(role: Role) -> StaffUser:
        user = make_staff(role)
        data = session_data(app, user, user_agent=client.environ_base["HTTP_USER_AGENT"])
        with client.session_transaction() as sess:
            sess.clear()
            sess.update(data)
        return user

    return _login


# --- a small world -------------------------------------------------------------------------------------------


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.timezone.utc)


@dataclass
class World:
    """What build_world() made, by name."""

    alpha: Campaign
    beta: Campaign
    sheriffs: dict[str, Office]
    senator: Office
    us_senator: Office
    counties: dict[str, int]  # county name -> division id
    supporters: list[Supporter] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def add_action(world: World, campaign: Campaign, county: str | None, day: str, *, supporter: Supporter | None = None,
               language: str = "en", hour: int = 12, statuses: tuple[DeliveryStatus, ...] = ()) -> Action:
    """An action on `day` from `county` with a letter to each office the campaign targets there."""
    returning = supporter is not None
    supporter = supporter or make_supporter(first_name=f"Zebulon{next(_seq)}", last_name="Quixley",
                                            language=language)
    if not returning:
        world.supporters.append(supporter)
    offices: list[Office] = []
    if county and OfficeType.SHERIFF.value in campaign.target_types:
        offices.append(world.sheriffs[county])
    if OfficeType.US_SENATOR.value in campaign.target_types:
        offices.append(world.us_senator)
    if county and OfficeType.STATE_SENATOR.value in campaign.target_types:
        offices.append(world.senator)
    action = make_action(campaign, supporter, offices=offices, city=f"{county or 'Nowhere'}ville")
    action.county_id = world.counties[county] if county else None
    action.language = language
    action.is_returning = returning
    action.created_at = at(day, hour)
    for i, letter in enumerate(action.letters):
        delivery = letter.delivery
        if letter.office_type == OfficeType.US_SENATOR.value:
            delivery.channel = Channel.CWC
        delivery.status = statuses[i] if i < len(statuses) else DeliveryStatus.SENT
    world.actions.append(action)
    db.session.flush()
    return action


def build_world() -> World:
    """Two campaigns in five counties, chosen so every kind of small cell occurs:

    - Adams: 12 alpha supporters (some in Spanish), across January to March;
    - Bolivar: 5 alpha supporters, 3 of whom also act on beta (returning); 3 have two letters held
      (with Adams' two: 8 held e-mail letters from 5 people, shown);
    - Carroll: 3 alpha supporters who all act on beta too (overview: 6 actions but 3 people, so "<5");
    - Desoto: 2 alpha and 3 other beta supporters (overview: 5 people, shown); the 2 alpha ones have two
      letters pending (with Adams' one: 5 pending e-mail letters from 3 people, so "<5");
    - Forrest: 2 alpha supporters; and 2 alpha supporters whose county is unknown (U.S. senator only).
    Alpha writes to the county's sheriff, a U.S. senator and a state senator; beta to the sheriff only.
    Supporters' first names are "Zebulon<n>", cities "<county>ville": tests look for them in what staff see.
    """
    sheriffs = {name: make_office(OfficeType.SHERIFF, county=name, holder=f"Sheriff {name}",
                                  email=f"sheriff@{name.lower()}.example.org")
                for name in ("Adams", "Bolivar", "Carroll", "Desoto", "Forrest")}
    senator = make_office(OfficeType.STATE_SENATOR, number=1, holder="Pat Senator", email="sd1@example.org")
    us_senator = make_office(OfficeType.US_SENATOR, seat="1", holder="Roger Wicker", email=None,
                             web_form_url="https://example.org/contact")
    alpha = make_campaign(slug="alpha", goal=40, title="Alpha campaign",
                          target_types=[OfficeType.SHERIFF, OfficeType.US_SENATOR, OfficeType.STATE_SENATOR])
    beta = make_campaign(slug="beta", goal=None, title="Beta campaign", target_types=[OfficeType.SHERIFF])
    counties = {name: office.division_id for name, office in sheriffs.items()}
    world = World(alpha, beta, sheriffs, senator, us_senator, counties)
    adams_days = ["2026-01-10", "2026-01-10", "2026-01-12", "2026-01-31", "2026-02-01", "2026-02-01", "2026-02-14",
                  "2026-02-28", "2026-03-01", "2026-03-02", "2026-03-15", "2026-03-20"]
    for i, day in enumerate(adams_days):
        add_action(world, alpha, "Adams", day, language="es" if i % 4 == 0 else "en",
                   statuses=(DeliveryStatus.SENT, DeliveryStatus.FAILED if i == 3 else DeliveryStatus.SENT,
                             DeliveryStatus.HELD if i in (5, 6) else DeliveryStatus.PENDING if i == 7
                             else DeliveryStatus.SENT))
    held = (DeliveryStatus.HELD, DeliveryStatus.SENT, DeliveryStatus.HELD)
    bolivar = [add_action(world, alpha, "Bolivar", day, statuses=held if i < 3 else ()) for i, day in
               enumerate(("2026-01-15", "2026-01-20", "2026-02-03", "2026-02-10", "2026-03-05"))]
    carroll = [add_action(world, alpha, "Carroll", day, statuses=(DeliveryStatus.DEAD,)) for day in
               ("2026-01-11", "2026-02-11", "2026-03-11")]
    pending = (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.PENDING)
    for day in ("2026-01-05", "2026-02-05"):
        add_action(world, alpha, "Desoto", day, statuses=pending)
    for day in ("2026-01-25", "2026-03-25"):
        add_action(world, alpha, "Forrest", day)
    for day in ("2026-01-06", "2026-02-06"):
        add_action(world, alpha, None, day)
    for action, day in zip(bolivar[:3], ("2026-02-20", "2026-02-21", "2026-03-21")):
        add_action(world, beta, "Bolivar", day, supporter=action.supporter)
    for action, day in zip(carroll, ("2026-02-12", "2026-03-12", "2026-03-13")):
        add_action(world, beta, "Carroll", day, supporter=action.supporter)
    for day in ("2026-01-07", "2026-02-07", "2026-03-07"):
        add_action(world, beta, "Desoto", day, language="es")
    db.session.commit()
    return world


def _pg_admin() -> sa.Engine:
    base = sa.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))  # type: ignore[union-attr]
    return sa.create_engine(base, isolation_level="AUTOCOMMIT")


def _copy_database(source: str, target_dir: Path, name: str) -> str:
    """A private copy of a database: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL."""
    if PG_URL:
        copy = f"actionkit_{name}_{uuid.uuid4().hex[:10]}"
        with _pg_admin().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{copy}" TEMPLATE "{sa.make_url(source).database}"'))
        return sa.make_url(source).set(database=copy).render_as_string(hide_password=False)
    path = target_dir / f"{name}.sqlite"
    shutil.copyfile(sa.make_url(source).database if source.startswith("sqlite") else source, path)
    return f"sqlite:///{path}"


def _drop_database(url: str) -> None:
    if PG_URL:
        with _pg_admin().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def world_database(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """build_world() and a first refresh, done once per session into a database the tests copy."""
    instance = tmp_path_factory.mktemp("stats-world")
    url = _copy_database(migrated_database, instance, "stats_world")
    app = create_app(_config(url, instance))
    with app.app_context():
        from actionkit.stats import services

        build_world()
        services.refresh()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield url
    _drop_database(url)


@pytest.fixture
def app(request: pytest.FixtureRequest, app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The usual empty app; for tests that use `world`, an app on the shared world database (they may add staff
    users and audit entries, nothing the figures count); for `own_world`, on a private copy they may change."""
    if "world" not in request.fixturenames:
        yield app
        return
    source = request.getfixturevalue("world_database")
    private = "own_world" in request.fixturenames
    url = _copy_database(source, tmp_path, "world") if private else source
    world_app = create_app(_config(url, tmp_path / "world-instance"))
    with world_app.app_context():
        yield world_app
        db.session.remove()
        db.engine.dispose()
    if private:
        _drop_database(url)


@pytest.fixture
def own_world(world: World) -> World:
    """build_world()'s objects in a private copy of the world database, for tests that change facts."""
    return world


@pytest.fixture
def world(app: Flask) -> World:
    """The objects of build_world(), loaded from the world database (shared: do not change facts)."""
    campaigns = {c.slug: c for c in db.session.scalars(sa.select(Campaign))}
    sheriffs = {o.division.name.removesuffix(" County"): o for o in db.session.scalars(
        sa.select(Office).where(Office.type == OfficeType.SHERIFF))}
    senator = db.session.scalar(sa.select(Office).where(Office.type == OfficeType.STATE_SENATOR))
    us_senator = db.session.scalar(sa.select(Office).where(Office.type == OfficeType.US_SENATOR))
    return World(campaigns["alpha"], campaigns["beta"], sheriffs, senator, us_senator,
                 {name: o.division_id for name, o in sheriffs.items()})


# --- reading pages -------------------------------------------------------------------------------------------


class PageReader(HTMLParser):
    """Tables by id (rows of cell texts, header cells included) and the totals (dt text -> dd text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.totals: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._dt: list[str] | None = None
        self._dd: list[str] | None = None
        self._last_dt = ""
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "dt":
            self._dt = []
        elif tag == "dd":
            self._dd = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False
        elif tag == "dt" and self._dt is not None:
            self._last_dt = " ".join("".join(self._dt).split())
            self._dt = None
        elif tag == "dd" and self._dd is not None:
            self.totals[self._last_dt] = " ".join("".join(self._dd).split())
            self._dd = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            return
        for buf in (self._cell, self._dt, self._dd):
            if buf is not None:
                buf.append(data)


def read_page(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    return reader


def table_dict(rows: list[list[str]], column: int = 1) -> dict[str, str]:
    """A table as {first cell: the given column}, header row skipped."""
    return {r[0]: r[column] for r in rows[1:]}


def load_county_boundaries(shared_data: Any) -> int:
    """The real Mississippi county outlines through the boundaries importer; returns how many were loaded."""
    from actionkit.officials.importers import ImportContext
    from actionkit.officials.importers import boundaries

    report = boundaries.load(shared_data / "boundaries" / "ms_counties_us-atlas-2023_10m.geojson", "ms",
                             ImportContext(as_of=dt.date(2026, 6, 1)))
    db.session.commit()
    return report.created + report.updated + report.unchanged


def bulk_actions(campaign: Campaign, counties: list[int], sheriffs: dict[int, Office], *, n: int, seed: int,
                 start: str = "2026-01-01", days: int = 60) -> None:
    """n actions spread unevenly over counties and days, each with a letter to its county's sheriff and a
    delivery, inserted in bulk (factories flush per row, too slow for hundreds)."""
    import random

    from actionkit.letters.models import Letter
    from actionkit.privacy.crypto import crypto, email_hash

    rng = random.Random(seed)
    first = dt.date.fromisoformat(start)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(counties))]
    for i in range(n):
        county = rng.choices(counties, weights)[0]
        when = at((first + dt.timedelta(days=int(rng.expovariate(3 / days)) % days)).isoformat(), rng.randrange(24))
        supporter = Supporter(email_hash=email_hash(f"bulk{seed}-{i}@example.org"), first_name="Bulk",
                              language="es" if rng.random() < 0.1 else "en")
        action = Action(campaign_id=campaign.id, supporter=supporter, state=campaign.state, county_id=county,
                        token_hash=crypto().lookup_hash(f"bulk{seed}-{i}", "action-token"),
                        language=supporter.language, created_at=when, is_returning=False, division_ids=[])
        db.session.add(action)
        office = sheriffs.get(county)
        if office is not None:
            letter = Letter(action=action, office=office, official=office.holder, office_type=office.type.value,
                            addressed_to=office.title, office_title=office.title, subject="s", body="b")
            status = rng.choices([DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED],
                                 [0.85, 0.1, 0.05])[0]
            db.session.add(Delivery(letter=letter, channel=Channel.EMAIL, status=status, destination=office.email))
    db.session.commit()
