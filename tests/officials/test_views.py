"""The officials admin: search, offices with no way to deliver, editing channels and holders (audited, history
kept), sync status, and the sheriffs CSV import from the browser (upload -> preview -> apply or cancel)."""
from __future__ import annotations

import datetime as dt
import html
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actionkit.extensions import db
from actionkit.officials import admin
from actionkit.officials.models import Office, OfficeType, Official, SyncRun
from actionkit.staff.models import AuditEntry, Role
from tests.factories import make_office
from tests.officials.test_validation import BAD_VALUES
from tests.staff.helpers import login_as


@pytest.fixture
def offices(app: Flask) -> dict[str, Office]:
    hinds = make_office(OfficeType.SHERIFF, county="Hinds", holder="Tyree Jones", email="sheriff@hinds.example.org")
    harrison = make_office(OfficeType.SHERIFF, county="Harrison", holder=None, email=None)
    desoto = make_office(OfficeType.SHERIFF, county="DeSoto", holder="Thomas Tuggle", email=None,
                         postal_address="3 Main St, Hernando, MS")
    hinds.division.geoid, harrison.division.geoid, desoto.division.geoid = "28049", "28047", "28033"
    sd49 = make_office(OfficeType.STATE_SENATOR, number=49, holder="Joel Carter", email="sd49@senate.example.org")
    db.session.commit()
    return {"hinds": hinds, "harrison": harrison, "desoto": desoto, "sd49": sd49}


@pytest.fixture
def editor_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_as(client, Role.EDITOR)
    return client


def _titles(page: str) -> list[str]:
    return re.findall(r'<a href="/staff/officials/\d+">([^<]+)</a>', page)


@pytest.mark.parametrize("query,expected", [
    ("q=jones", ["Sheriff of Hinds County"]),  # holder's name
    ("q=Sheriff", ["Sheriff of DeSoto County", "Sheriff of Harrison County", "Sheriff of Hinds County"]),
    ("q=harrison", ["Sheriff of Harrison County"]),  # county
    ("q=district+49", ["State Senator, Mississippi State Senate District 49"]),  # district
    ("q=28033", ["Sheriff of DeSoto County"]),  # GEOID
    ("type=state_senator", ["State Senator, Mississippi State Senate District 49"]),
    ("q=100%25", []),  # LIKE wildcards are literal
    ("undeliverable=1", ["Sheriff of Harrison County"]),  # no email and no postal address
])
def test_search(editor_client: FlaskClient, offices: dict[str, Office], query: str, expected: list[str]) -> None:
    page = editor_client.get(f"/staff/officials/?{query}").get_data(as_text=True)
    assert sorted(_titles(page)) == expected


def test_index_shows_sources_and_offices_with_no_way_to_deliver(editor_client: FlaskClient,
                                                               offices: dict[str, Office]) -> None:
    db.session.add(SyncRun(source="congress", location="https://theunitedstates.io/x.json",
                           as_of=dt.date(2026, 6, 15), counts={"created": 6, "updated": 0}))
    db.session.commit()
    page = editor_client.get("/staff/officials/").get_data(as_text=True)
    assert "1 offices have no way to deliver" in page and "no way to deliver</span>" in page
    assert "congress" in page and "2026-06-15" in page and "6 created" in page
    assert "<td>test</td>" in page  # each office's source (the factories' "test"), with its as-of date if any
    detail = editor_client.get(f"/staff/officials/{offices['harrison'].id}").get_data(as_text=True)
    assert "no way to deliver" in detail and "ocd-division/country:us/state:ms/county:harrison" in detail


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_as(client, Role.ADMIN)
    return client


def test_edit_contact_channels_is_audited(admin_client: FlaskClient, offices: dict[str, Office]) -> None:
    editor_client = admin_client  # an admin's change to delivery channels applies at once
    office = offices["hinds"]
    resp = editor_client.post(f"/staff/officials/{office.id}", data={
        "email": "", "phone": "601-555-0199", "postal_address": "407 E Pascagoula St\nJackson, MS 39201",
        "website": "https://www.hindscountyms.com/sheriff", "holder_mode": "keep", "holder_name": "Tyree Jones",
        "holder_first_name": "Tyree", "holder_last_name": "Jones"})
    assert resp.status_code == 302
    db.session.expire_all()
    office = db.session.get(Office, office.id)  # type: ignore[assignment]
    assert office.email is None and office.phone == "601-555-0199"
    assert office.postal_address == "407 E Pascagoula St\nJackson, MS 39201"
    assert office.source == "staff" and office.as_of == dt.date.today()
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.update"))
    assert entry.target_id == str(office.id)
    assert entry.details["contact"]["email"] == ["sheriff@hinds.example.org", None]
    assert entry.details["holder"] == {}
    changed = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.channel_change"))
    assert set(changed.details["changes"]) == {"email", "postal_address"}  # phone and website are no channels
    page = editor_client.get(f"/staff/officials/{office.id}").get_data(as_text=True)
    assert "staff, as of" in page


def test_an_editors_channel_change_waits_for_an_admin(app: Flask, editor_client: FlaskClient,
                                                      offices: dict[str, Office]) -> None:
    from actionkit.delivery.services import delivery_values

    office = offices["hinds"]
    resp = editor_client.post(f"/staff/officials/{office.id}", data={
        "email": "attacker@evil.example", "fax": "601-555-0000", "phone": "601-555-0199",
        "cwc_office_code": "MS99", "postal_address": "1 Elsewhere St", "holder_mode": "keep",
        "holder_name": "Tyree Jones"}, follow_redirects=True)
    assert "waits for an admin&#39;s approval" in resp.get_data(as_text=True)
    db.session.expire_all()
    office = db.session.get(Office, office.id)  # type: ignore[assignment]
    assert office.phone == "601-555-0199"  # not a delivery channel: applied
    assert (office.email, office.fax, office.postal_address, office.cwc_office_code) == (
        "sheriff@hinds.example.org", None, None, None)
    assert delivery_values(office)["destination"] == "sheriff@hinds.example.org"  # letters still go there
    assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.channel_change")) is None
    assert "attacker@evil.example" in editor_client.get(f"/staff/officials/{office.id}").get_data(as_text=True)
    assert editor_client.get("/staff/officials/changes").status_code == 403  # editors cannot approve
    (change,) = admin.pending_channel_changes()
    assert editor_client.post(f"/staff/officials/changes/{change.id}/approve").status_code == 403

    admin_client = app.test_client()
    admin_user = login_as(admin_client, Role.ADMIN)
    home = admin_client.get("/staff/").get_data(as_text=True)
    assert "1 delivery-channel change proposed by editors wait" in home
    assert "attacker@evil.example" in admin_client.get("/staff/officials/changes").get_data(as_text=True)
    assert admin_client.post(f"/staff/officials/changes/{change.id}/approve").status_code == 302
    db.session.expire_all()
    office = db.session.get(Office, office.id)  # type: ignore[assignment]
    assert (office.email, office.fax, office.cwc_office_code) == ("attacker@evil.example", "601-555-0000", "MS99")
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.channel_change"))
    assert entry.actor_id == admin_user.id and entry.details["changes"]["email"][1] == "attacker@evil.example"
    assert entry.details["proposed_by"].endswith("@example.org")
    # Every admin sees the applied change on /staff/, editors do not.
    other = app.test_client()
    login_as(other, Role.ADMIN, email="second-admin@example.org")
    home = other.get("/staff/").get_data(as_text=True)
    assert 'id="admin-notices"' in home and "attacker@evil.example" in home and "Sheriff of Hinds County" in home
    assert 'id="admin-notices"' not in editor_client.get("/staff/").get_data(as_text=True)
    # A decided change cannot be decided again; a stale proposal is refused.
    again = admin_client.post(f"/staff/officials/changes/{change.id}/reject", follow_redirects=True)
    assert "already decided" in again.get_data(as_text=True)
    editor_client.post(f"/staff/officials/{office.id}", data={
        "email": "second@evil.example", "holder_mode": "keep", "holder_name": "Tyree Jones"})
    (stale,) = admin.pending_channel_changes()
    office.email = "changed@hinds.example.org"
    db.session.commit()
    refused = admin_client.post(f"/staff/officials/changes/{stale.id}/approve", follow_redirects=True)
    assert "changed since this was proposed" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Office, office.id).email == "changed@hinds.example.org"


def test_a_new_holder_keeps_the_old_one_in_history(editor_client: FlaskClient, offices: dict[str, Office]) -> None:
    office = offices["hinds"]
    data = {"email": "sheriff@hinds.example.org", "holder_mode": "new", "holder_name": "Marshand Crisler",
            "holder_first_name": "Marshand", "holder_last_name": "Crisler"}
    assert editor_client.post(f"/staff/officials/{office.id}", data=data).status_code == 302
    db.session.expire_all()
    rows = list(db.session.scalars(db.select(Official).where(Official.office_id == office.id).order_by(Official.id)))
    assert [(o.name, o.left_on is not None) for o in rows] == [("Tyree Jones", True), ("Marshand Crisler", False)]
    assert rows[1].source == "staff"
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.update"))
    assert entry.details["holder"] == {"holder": ["Tyree Jones", "Marshand Crisler"]}
    page = editor_client.get(f"/staff/officials/{office.id}").get_data(as_text=True)
    assert "Former holders" in page and "Tyree Jones" in page


def test_correct_the_holder_or_mark_vacant(editor_client: FlaskClient, offices: dict[str, Office]) -> None:
    office = offices["desoto"]
    editor_client.post(f"/staff/officials/{office.id}", data={
        "postal_address": "3 Main St, Hernando, MS", "holder_mode": "keep", "holder_name": "Thomas Tuggle Jr.",
        "holder_first_name": "Thomas", "holder_last_name": "Tuggle", "holder_party": "Republican"})
    db.session.expire_all()
    holder = db.session.get(Office, office.id).holder  # type: ignore[union-attr]
    assert holder is not None and holder.name == "Thomas Tuggle Jr." and holder.party == "Republican"
    assert holder.source == "test"  # a correction keeps the source, so a later sync can still vacate it
    editor_client.post(f"/staff/officials/{office.id}", data={"postal_address": "3 Main St, Hernando, MS",
                                                             "holder_mode": "vacant"})
    db.session.expire_all()
    assert db.session.get(Office, office.id).holder is None  # type: ignore[union-attr]
    assert db.session.scalar(db.select(db.func.count()).select_from(Official)
                             .where(Official.office_id == office.id)) == 1


@pytest.mark.parametrize("data,message", [
    ({"email": "not an email"}, "is not a valid email address"),
    ({"website": "javascript:alert(1)"}, "must be a web address starting with https://"),
    ({"cwc_office_code": "ms-02"}, "may contain only capital letters and digits"),
    ({"holder_mode": "new", "holder_name": ""}, "Give the new holder"),
    ({"holder_mode": "keep", "holder_name": ""}, "name cannot be empty"),
])
def test_edit_errors(editor_client: FlaskClient, offices: dict[str, Office], data: dict[str, str],
                     message: str) -> None:
    office = offices["hinds"]
    form = {"email": "sheriff@hinds.example.org", "holder_mode": "keep", "holder_name": "Tyree Jones", **data}
    resp = editor_client.post(f"/staff/officials/{office.id}", data=form)
    assert resp.status_code == 422 and message in html.unescape(resp.get_data(as_text=True))
    db.session.expire_all()
    office = db.session.get(Office, office.id)  # type: ignore[assignment]
    assert office.email == "sheriff@hinds.example.org" and office.holder.name == "Tyree Jones"  # type: ignore[union-attr]
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "official.update")) == 0


@pytest.mark.parametrize("column, field, value, reason", BAD_VALUES)
def test_edit_form_and_csv_upload_refuse_the_same_values(editor_client: FlaskClient, offices: dict[str, Office],
                                                         column: str, field: str, value: str, reason: str) -> None:
    """One shared rule: what the edit form refuses, the sheriffs CSV upload refuses with the same reason."""
    office = offices["hinds"]
    form = {"email": "sheriff@hinds.example.org", "holder_mode": "keep", "holder_name": "Tyree Jones", field: value}
    resp = editor_client.post(f"/staff/officials/{office.id}", data=form)
    assert resp.status_code == 422 and reason in html.unescape(resp.get_data(as_text=True))
    cells = {"county_fips": "28049", "sheriff_name": "Tyree Jones", column: value}
    columns = list(dict.fromkeys(["county_fips", "sheriff_name", column]))
    page = html.unescape(_upload(editor_client, ",".join(columns) + "\n" + ",".join(
        '"' + cells[c].replace('"', '""') + '"' for c in columns) + "\n").get_data(as_text=True))
    assert f"line 2: {column} {reason}" in page or f"{column} {reason}" in page
    assert "Apply these changes" not in page
    db.session.expire_all()
    office = db.session.get(Office, office.id)  # type: ignore[assignment]
    assert office.email == "sheriff@hinds.example.org" and office.holder.name == "Tyree Jones"  # type: ignore[union-attr]


# --- the sheriffs CSV --------------------------------------------------------------------------------------------

CSV = ("county_fips,county,sheriff_name,email,phone,address,verified_at\n"
       "28049,Hinds,Tyree Jones,,601-555-0100,,2026-10-01\n"
       "047,,Matt Haley,sheriff@harrison.example.org,,\"10451 Larkin Smith Dr, Gulfport, MS\",2026-10-02\n"
       ",DeSoto County,,,,,\n")


def _upload(client: FlaskClient, content: str | bytes, name: str = "sheriffs-ms.csv"):  # type: ignore[no-untyped-def]
    data = content.encode() if isinstance(content, str) else content
    return client.post("/staff/officials/import", data={"state": "ms", "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _uploads(app: Flask) -> list[Path]:
    return sorted(admin.upload_dir(Path(app.instance_path)).glob("*"))


def test_import_preview_then_apply(app: Flask, admin_client: FlaskClient, offices: dict[str, Office]) -> None:
    editor_client = admin_client  # the file changes delivery channels: an admin applies it
    resp = _upload(editor_client, CSV)
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "Check the changes" in page
    assert "3 rows, 2 with changes" in page
    assert "Sheriff of Harrison County" in page and "Matt Haley" in page and "fill" in page
    assert "postal_address: — → 10451 Larkin Smith Dr, Gulfport, MS" in page
    stored = _uploads(app)
    assert len(stored) == 1 and stored[0].read_text() == CSV and oct(stored[0].stat().st_mode)[-3:] == "600"
    db.session.expire_all()
    assert db.session.get(Office, offices["harrison"].id).holder is None  # type: ignore[union-attr]

    token = re.search(r'/staff/officials/import/([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    done = editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "file_name": "sheriffs-ms.csv",
                                                                        "apply": "Apply"})
    assert done.status_code == 302
    db.session.expire_all()
    harrison = db.session.get(Office, offices["harrison"].id)
    assert harrison.holder.name == "Matt Haley" and harrison.email == "sheriff@harrison.example.org"  # type: ignore[union-attr]
    assert harrison.as_of == dt.date(2026, 10, 2)  # type: ignore[union-attr]
    run = db.session.scalar(db.select(SyncRun))
    assert run.source == "sheriffs" and run.location == "upload: sheriffs-ms.csv" and run.counts["updated"] == 2
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "officials.import"))
    assert entry.details["file"] == "sheriffs-ms.csv" and entry.details["updated"] == 2
    assert _uploads(app) == []
    changed = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.channel_change"))
    assert changed.target_id == str(harrison.id) and set(changed.details["changes"]) == {"email", "postal_address"}
    assert "Imported: sheriffs" in editor_client.get("/staff/officials/").get_data(as_text=True)
    # The same token cannot be applied twice.
    again = editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "apply": "Apply"},
                               follow_redirects=True)
    assert "unknown or has expired" in again.get_data(as_text=True)


def test_an_editor_cannot_apply_a_file_that_changes_delivery_channels(
        app: Flask, editor_client: FlaskClient, offices: dict[str, Office]) -> None:
    page = html.unescape(_upload(editor_client, CSV).get_data(as_text=True))
    assert 'id="needs-admin"' in page and 'name="apply"' not in page
    token = re.search(r'/staff/officials/import/([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    done = editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "file_name": "s.csv",
                                                                        "apply": "Apply"}, follow_redirects=True)
    assert "only an admin may apply such a file" in html.unescape(done.get_data(as_text=True))
    db.session.expire_all()
    harrison = db.session.get(Office, offices["harrison"].id)
    assert harrison.email is None and harrison.holder is None  # type: ignore[union-attr]
    assert db.session.scalar(db.select(SyncRun)) is None
    # A file that changes only holders (no channel) an editor may still apply.
    names_only = ("county_fips,county,sheriff_name,email,phone,address,verified_at\n"
                  "047,,Matt Haley,,,,2026-10-02\n")
    page = html.unescape(_upload(editor_client, names_only).get_data(as_text=True))
    assert 'id="needs-admin"' not in page
    token = re.search(r'/staff/officials/import/([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "file_name": "s.csv",
                                                                 "apply": "Apply"})
    db.session.expire_all()
    assert db.session.get(Office, offices["harrison"].id).holder.name == "Matt Haley"  # type: ignore[union-attr]


def test_import_cancel_changes_nothing(app: Flask, editor_client: FlaskClient, offices: dict[str, Office]) -> None:
    page = _upload(editor_client, CSV).get_data(as_text=True)
    token = re.search(r'/staff/officials/import/([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    resp = editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "cancel": "Cancel"})
    assert resp.status_code == 302 and _uploads(app) == []
    db.session.expire_all()
    assert db.session.get(Office, offices["harrison"].id).holder is None  # type: ignore[union-attr]
    assert db.session.scalar(db.select(SyncRun)) is None


def test_import_with_bad_rows_shows_them_and_cannot_be_applied(editor_client: FlaskClient,
                                                               offices: dict[str, Office]) -> None:
    bad = CSV + "99999,,Nobody,,,,\n28049,,Someone Else,,,,\n,Hinds,Another,,,,not-a-date\n"
    page = html.unescape(_upload(editor_client, bad).get_data(as_text=True))
    assert "Nothing can be loaded from this file yet" in page
    assert "line 5: county_fips 99999 matches no Mississippi county" in page
    assert "line 6: Hinds County already given on line 2" in page
    assert "Apply these changes" not in page


@pytest.mark.parametrize("content,message", [
    ("name,email\nX,y@example.org\n", "missing column(s) sheriff_name"),
    (b"county,sheriff_name\nHinds,Jos\xe9\n", "not UTF-8"),
    ("", "The file is empty"),
])
def test_import_of_a_malformed_file(app: Flask, editor_client: FlaskClient, offices: dict[str, Office],
                                   content: str | bytes, message: str) -> None:
    resp = _upload(editor_client, content)
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422 and message in page
    assert str(app.instance_path) not in page  # no server paths in messages
    assert _uploads(app) == []


def test_import_refuses_large_files_and_odd_tokens(app: Flask, editor_client: FlaskClient) -> None:
    resp = _upload(editor_client, "county,sheriff_name\n" + "x" * admin.MAX_UPLOAD_BYTES)
    assert resp.status_code == 422 and "larger than 2 MB" in resp.get_data(as_text=True)
    for token in ("..%2F..%2Fsecret_key", "0" * 31, "g" * 32):
        follow = editor_client.post(f"/staff/officials/import/{token}", data={"state": "ms", "apply": "Apply"},
                                    follow_redirects=True)
        assert follow.status_code in (200, 404)
    with pytest.raises(admin.AdminError):
        admin.upload_path(Path(app.instance_path), "../secret_key")


# --- fixed targets and the police chiefs upload ------------------------------------------------------------------

def test_admin_creates_a_fixed_target_with_channels_audited(admin_client: FlaskClient) -> None:
    resp = admin_client.post("/staff/officials/fixed", data={
        "title": "Secretary of Homeland Security", "name": "Pat Example", "last_name": "Example",
        "postal_address": "Department of Homeland Security, 2707 Martin Luther King Jr Ave SE, Washington, DC 20528",
        "web_form_url": "https://www.dhs.gov/contact-us"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [office] = admin.fixed_targets()
    assert (office.type, office.division.ocd_id, office.holder.name) == (
        OfficeType.FIXED_TARGET, "ocd-division/country:us", "Pat Example")
    assert office.email is None and office.web_form_url == "https://www.dhs.gov/contact-us"
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "official.fixed_target_create"))
    assert entry.details["channels"] == ["postal_address", "web_form_url"]
    page = admin_client.get("/staff/officials/fixed").get_data(as_text=True)
    assert "Secretary of Homeland Security" in page and "postal, web form" in page


def test_a_fixed_target_nobody_can_reach_is_refused(admin_client: FlaskClient, editor_client: FlaskClient) -> None:
    resp = admin_client.post("/staff/officials/fixed", data={"title": "Director of ICE", "phone": "202-555-0100"})
    assert resp.status_code == 422
    assert "Give at least one way to reach this target" in html.unescape(resp.get_data(as_text=True))
    assert admin.fixed_targets() == []
    admin_client.post("/staff/officials/fixed", data={"title": "Director of ICE", "email": "ice@example.org"})
    twice = admin_client.post("/staff/officials/fixed", data={"title": "director of ice", "email": "x@example.org"})
    assert twice.status_code == 422 and "already exists" in html.unescape(twice.get_data(as_text=True))
    # Creating a target decides where letters go: admins only.
    assert editor_client.post("/staff/officials/fixed", data={"title": "X", "email": "x@example.org"}).status_code \
        == 403


def test_police_chiefs_csv_upload_previews_then_creates_the_office(app: Flask, admin_client: FlaskClient) -> None:
    csv_text = "place_geoid,place,chief_name,email\n2836000,Jackson,Pat Example,police@example.org\n"
    page = html.unescape(_upload(admin_client, csv_text, "police-chiefs.csv").get_data(as_text=True))
    assert "Chief of Police of Jackson" in page and "create" in page
    token = re.search(r'/staff/officials/import/([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    done = admin_client.post(f"/staff/officials/import/{token}",
                             data={"state": "ms", "file_name": "police-chiefs.csv", "apply": "Apply"})
    assert done.status_code == 302
    office = db.session.scalar(db.select(Office).where(Office.type == OfficeType.POLICE_CHIEF))
    assert office.holder.name == "Pat Example" and office.division.geoid == "2836000"
    assert db.session.scalar(db.select(SyncRun)).source == "police_chiefs"
