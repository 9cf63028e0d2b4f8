"""Fixtures for the supporter's journey: a small Mississippi directory built with factories (GEOIDs matching the
recorded Census fixtures) plus the demo campaign, the fake Census geocoder wired into the app, and a journey
helper that drives the pages through the test client.

`app` is overridden here: on SQLite the directory and campaign are built once per session into a template file
that each test copies (building them costs more than the rest of a test); on PostgreSQL they are built per test.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient

from actionkit import create_app
from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign
from actionkit.extensions import db
from actionkit.letters import confirmation
from actionkit.letters import tasks as letters_tasks
from actionkit.letters.models import Action, Submission, SubmissionStatus
from actionkit.officials import geocoders
from actionkit.officials.fake_geocoder import FakeCensusGeocoder
from actionkit.officials.models import Agreement287g, AgreementStatus, Division, DivisionType, Office, OfficeType, \
    ZipDivision
from tests.conftest import PG_URL, _config, private_app
from tests.factories import make_office
from tests.officials.conftest import CENSUS_FIXTURES, geocoder_settings

JACKSON = {"street": "400 High St", "city": "Jackson", "zip": "39201"}  # Hinds, CD 2, SD 29, HD 66
GULFPORT = {"street": "2309 15th St", "city": "Gulfport", "zip": "39501"}  # Harrison (287(g)), CD 4, SD 49, HD 121
NORTHSIDE = {"street": "1500 Northside Dr", "city": "Jackson", "zip": "39211"}  # two matches: E and W
UNKNOWN_STREET = {"street": "1 Nowhere Rd", "city": "Jackson", "zip": "39211"}  # no match; ZIP spans counties
MEMPHIS = {"street": "125 N Main St", "city": "Memphis", "zip": "38103"}  # Tennessee
EMAIL = "ana.garcia@example.org"
PHONE = "601-555-0142"


@pytest.fixture
def fake_census() -> Iterator[FakeCensusGeocoder]:
    geocoders.reset_breakers()
    with FakeCensusGeocoder([CENSUS_FIXTURES], delay=1.0) as fake:
        yield fake
    geocoders.reset_breakers()


@pytest.fixture
def geocoded(app: Flask, fake_census: FakeCensusGeocoder) -> FakeCensusGeocoder:
    """The app's geocoder pointed at the fake Census server (short timeouts, so failure paths stay fast)."""
    settings = {**app.config["GEOCODER"], **geocoder_settings(fake_census.url, retries=0)}
    app.config["GEOCODER"] = settings
    app.extensions["actionkit.geocoder"] = geocoders.from_config(settings)
    return fake_census


def _with_geoid(office: Office, geoid: str) -> Office:
    office.division.geoid = geoid
    return office


@dataclass
class Directory:
    hinds_sheriff: Office
    harrison_sheriff: Office
    madison_sheriff: Office
    cd2: Office
    cd3: Office
    cd4: Office
    senators: list[Office]


def build_directory() -> Directory:
    """Offices for the fixture addresses, a 287(g) agreement in Harrison County and a few ZIP crosswalk rows."""
    hinds = _with_geoid(make_office(OfficeType.SHERIFF, county="Hinds", holder="Tyree Jones",
                                    email="sheriff@hinds.example.org"), "28049")
    harrison = _with_geoid(make_office(OfficeType.SHERIFF, county="Harrison", holder=None, email=None), "28047")
    madison = _with_geoid(make_office(OfficeType.SHERIFF, county="Madison", holder="Randy Tucker", email=None),
                          "28089")
    cd2 = make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie G. Thompson", email=None)
    cd3 = make_office(OfficeType.US_REPRESENTATIVE, number=3, holder="Michael Guest", email=None)
    cd4 = make_office(OfficeType.US_REPRESENTATIVE, number=4, holder="Mike Ezell", email=None)
    for number, name in ((29, "David Blount"), (49, "Joel Carter"), (26, "John Horhn"), (28, "Sollie Norwood")):
        make_office(OfficeType.STATE_SENATOR, number=number, holder=name, email=f"sd{number}@senate.example.org")
    for number, name in ((66, "Fabian Nelson"), (121, "Carolyn Crawford"), (72, "Debra Gibbs"),
                         (64, "Shanda Yates")):
        make_office(OfficeType.STATE_REPRESENTATIVE, number=number, holder=name, email=f"hd{number}@house.example.org")
    senators = [make_office(OfficeType.US_SENATOR, seat="1", holder="Roger F. Wicker", email=None),
                make_office(OfficeType.US_SENATOR, seat="2", holder="Cindy Hyde-Smith", email=None)]
    db.session.add_all([
        Agreement287g(office_id=harrison.id, state="ms", agency="Harrison County Sheriff's Office",
                      county="Harrison County", support_type="Jail Enforcement Model",
                      status=AgreementStatus.PARTICIPATING, signed_on=dt.date(2025, 6, 30), source="test"),
        Agreement287g(office_id=harrison.id, state="ms", agency="Harrison County Sheriff's Office",
                      county="Harrison County", support_type="Warrant Service Officer",
                      status=AgreementStatus.PARTICIPATING, signed_on=dt.date(2025, 7, 2), source="test"),
    ])
    division = {d.geoid: d for d in db.session.scalars(
        db.select(Division).where(Division.type.in_([DivisionType.COUNTY, DivisionType.CD])))}
    for zip_code, geoids in (("39201", ["28049", "2802"]), ("39211", ["28049", "28089", "2802", "2803"]),
                             ("39501", ["28047", "2804"])):
        db.session.add_all([ZipDivision(zip=zip_code, division_id=division[g].id, source="test") for g in geoids])
    db.session.flush()
    return Directory(hinds, harrison, madison, cd2, cd3, cd4, senators)


def find_directory() -> Directory:
    """The Directory of offices build_directory() made (in a copied template database)."""
    def office(kind: OfficeType, ocd_suffix: str, seat: str = "") -> Office:
        return db.session.scalar(db.select(Office).join(Division).where(
            Office.type == kind, Office.seat == seat,
            Division.ocd_id == f"ocd-division/country:us/state:ms{ocd_suffix}"))

    return Directory(office(OfficeType.SHERIFF, "/county:hinds"), office(OfficeType.SHERIFF, "/county:harrison"),
                     office(OfficeType.SHERIFF, "/county:madison"), office(OfficeType.US_REPRESENTATIVE, "/cd:2"),
                     office(OfficeType.US_REPRESENTATIVE, "/cd:3"), office(OfficeType.US_REPRESENTATIVE, "/cd:4"),
                     [office(OfficeType.US_SENATOR, "", "1"), office(OfficeType.US_SENATOR, "", "2")])


@pytest.fixture(scope="session")
def letters_template(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """SQLite: the migrated schema plus directory and demo campaign, built once; None on PostgreSQL."""
    if PG_URL:
        return None
    instance = tmp_path_factory.mktemp("letters-instance")
    path = instance / "letters.sqlite"
    shutil.copyfile(migrated_database, path)
    built = create_app(_config(f"sqlite:///{path}", instance))
    with built.app_context():
        build_directory()
        campaigns.create_demo_campaign()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return str(path)


@pytest.fixture
def app(migrated_database: str, letters_template: str | None, tmp_path: Path) -> Iterator[Flask]:
    """Like tests/conftest.py's app, on a database that already holds the directory and the demo campaign."""
    with private_app(letters_template or migrated_database, tmp_path) as created:
        if letters_template is None:  # PostgreSQL: every test starts from empty tables
            build_directory()
            campaigns.create_demo_campaign()
            db.session.commit()
        yield created


@pytest.fixture
def directory(app: Flask) -> Directory:
    return find_directory()


@pytest.fixture
def campaign(app: Flask, directory: Directory) -> Campaign:
    """The demo campaign (all five office types, a letter per type, a 287(g) conditional for sheriffs)."""
    found = campaigns.by_slug(campaigns.DEMO_SLUG)
    assert found is not None
    return found


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """A worker that runs at once: the signature task is run in place, and what it hands to the delivery
    pipeline and the confirmation task is captured (no broker needed)."""
    calls: dict[str, list] = {"submissions": [], "deliveries": [], "confirmations": []}

    def publish(task, *args):  # type: ignore[no-untyped-def]
        if task is letters_tasks.process_submission:
            calls["submissions"].extend(args)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("actionkit.letters.tasks._enqueue", lambda ids: calls["deliveries"].extend(ids))
                task(*args)
        else:
            calls["confirmations"].extend(args)
        return True

    monkeypatch.setattr("actionkit.letters.tasks.publish", publish)
    return calls


def process_received() -> int:
    """What the worker does next: record every signature still received (a test's stand-in for the queue)."""
    ids = list(db.session.scalars(db.select(Submission.id).where(Submission.status == SubmissionStatus.RECEIVED)
                                  .order_by(Submission.id)))
    db.session.rollback()
    for submission_id in ids:
        letters_tasks.process_submission(submission_id)
    return len(ids)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


class Journey:
    """Drives the supporter pages like a browser would: each step posts the previous page's sealed state."""

    def __init__(self, client: FlaskClient, campaign: Campaign, lang: str = "en",
                 fake: FakeCensusGeocoder | None = None) -> None:
        self.client, self.campaign, self.lang, self.fake = client, campaign, lang, fake
        self.base = f"/act/{campaign.slug}"
        self.headers = {"Origin": "http://localhost"}
        self.record_here = True  # False when a real worker process records the signatures

    def details(self, address: dict[str, str], **extra: str) -> dict[str, str]:
        data = {"first_name": "Ana", "last_name": "García", "email": EMAIL, "state": "MS", "phone": PHONE,
                "lang": self.lang, **address}
        data.update(extra)
        return data

    def find(self, address: dict[str, str] = JACKSON, **extra: str):  # type: ignore[no-untyped-def]
        """Post the form; a step that succeeded redirects to its page (Post/Redirect/Get), which is followed."""
        return self.client.post(self.base, data=self.details(address, **extra), headers=self.headers,
                                follow_redirects=True)

    def post(self, step: str, page, **data):  # type: ignore[no-untyped-def]
        html = page.get_data(as_text=True)
        form = {"state": hidden(html, "state"), "lang": self.lang, **data}
        return self.client.post(f"{self.base}/{step}", data=form, headers=self.headers,
                                follow_redirects=step != "sign")

    def sign(self, page, include: list[int] | None = None, **data):  # type: ignore[no-untyped-def]
        html = page.get_data(as_text=True)
        if include is None:
            include = [int(v) for v in re.findall(r'name="include" value="(\d+)"[^>]*checked', html)]
        resp = self.post("sign", page, include=[str(i) for i in include], **data)
        if self.record_here:
            process_received()  # what the worker does with the signature
        return resp

    def complete(self, address: dict[str, str] = JACKSON, **extra: str):  # type: ignore[no-untyped-def]
        """Find, (confirm when asked), sign; returns the sign response."""
        page = self.find(address, **extra)
        assert page.status_code == 200, page.get_data(as_text=True)
        if 'id="confirm-form"' in page.get_data(as_text=True):
            page = self.post("confirm", page, confirm="yes")
            assert page.status_code == 200, page.get_data(as_text=True)
        return self.sign(page)


@pytest.fixture
def journey(client: FlaskClient, campaign: Campaign, geocoded: FakeCensusGeocoder) -> Journey:
    return Journey(client, campaign, fake=geocoded)


def emailed_link(action_id: int | None = None) -> str:
    """The status page the action's confirmation e-mail links to (the page reached from the sign redirect is only
    a receipt): the confirmation is sent as its task would, then read back from the file outbox."""
    if action_id is None:
        action_id = db.session.scalar(db.select(db.func.max(Action.id)))
    confirmation.send_confirmation(action_id)
    db.session.commit()
    [path] = Path(current_app.config["MAIL"]["outbox"]).glob(f"confirmation-{action_id}.*.eml")
    body = message_from_bytes(path.read_bytes(), policy=policy.default).get_content()
    found = re.search(r"https?://[^/\s]+(/act/\S+/thanks/[^\s?]+\?lang=\w+)", body)
    assert found, body
    return found.group(1)
