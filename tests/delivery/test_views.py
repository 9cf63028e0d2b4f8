"""The delivery monitor: counts by status and channel, failures with reason and attempts, retry one or all (audited,
published only after commit), and print batches downloaded as PDF; no supporter data on the page."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actionkit.db import utcnow
from actionkit.delivery import services
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, PrintBatch
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from actionkit.staff.models import AuditEntry, Role
from tests.factories import make_action, make_campaign, make_office, make_supporter
from tests.staff.helpers import login_as


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Delivery ids handed to the broker (captured: no broker in these tests)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda batch: ids.extend(batch) or len(ids))
    return ids


@pytest.fixture
def editor_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_as(client, Role.EDITOR)
    return client


@pytest.fixture
def outbox(app: Flask) -> dict[str, list[Delivery]]:
    """Deliveries in every state: two sent, one failed, one dead, one held, and two waiting for print."""
    campaign = make_campaign(target_types=[OfficeType.SHERIFF, OfficeType.STATE_SENATOR])
    hinds = make_office(OfficeType.SHERIFF, county="Hinds")
    senator = make_office(OfficeType.STATE_SENATOR, number=29, holder="David Blount", email="sd29@example.org")
    madison = make_office(OfficeType.SHERIFF, county="Madison", holder="Randy Tucker", email=None)
    rows: dict[str, list[Delivery]] = {}
    for i, status in enumerate(("sent", "sent", "failed", "dead", "held")):
        action = make_action(campaign, make_supporter(first_name=f"Supporter{i}", last_name="Secret"),
                             offices=[hinds if i % 2 else senator])
        delivery = action.letters[0].delivery
        delivery.status = DeliveryStatus(status)
        delivery.attempts = {"failed": 1, "dead": 10}.get(status, 1)
        delivery.last_error = {"failed": "SMTP 550 5.1.1 mailbox unavailable",
                               "dead": "gave up after 10 attempts: SMTP 451 try later",
                               "held": "held for review: state legislative district recently redrawn"}.get(status)
        delivery.final_at = utcnow() - dt.timedelta(minutes=i) if status != "held" else None
        rows.setdefault(status, []).append(delivery)
    for i in range(2):
        action = make_action(campaign, make_supporter(first_name="Printed", last_name=f"Person{i}"),
                             offices=[madison], channel=Channel.PRINT)
        rows.setdefault("print", []).append(action.letters[0].delivery)
    db.session.commit()
    return rows


def _status(delivery_id: int) -> Delivery:
    db.session.expire_all()
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery is not None
    return delivery


def test_monitor_shows_counts_and_failures_without_personal_data(editor_client: FlaskClient,
                                                                 outbox: dict[str, list[Delivery]]) -> None:
    page = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    counts = page.split('id="delivery-counts"', 1)[1].split("</table>", 1)[0]
    # Columns: email, print, digest, cwc, webhook, postal, fax, total.
    assert 'badge-sent">sent</span></th>\n    <td>2</td>' + '<td>0</td>' * 6 + '<td>2</td>' in counts
    assert 'badge-pending">pending</span></th>\n    <td>0</td><td>2</td>' + '<td>0</td>' * 5 + '<td>2</td>' in counts
    failures = page.split('id="failures-table"', 1)[1].split("</table>", 1)[0]
    assert "SMTP 550 5.1.1 mailbox unavailable" in failures and "gave up after 10 attempts" in failures
    assert "<td>10</td>" in failures and "recently redrawn" in failures
    assert failures.count("Retry</button>") == 3
    assert "Secret" not in page and "Supporter" not in page and "example.org" not in failures
    assert "Sheriff of Madison County" in page.split('id="print-queue"', 1)[1]
    only_dead = editor_client.get("/staff/deliveries/?status=dead").get_data(as_text=True)
    assert "gave up" in only_dead and "mailbox unavailable" not in only_dead


def test_retry_one(editor_client: FlaskClient, outbox: dict[str, list[Delivery]], published: list[int]) -> None:
    failed = outbox["failed"][0].id
    resp = editor_client.post(f"/staff/deliveries/{failed}/retry")
    assert resp.status_code == 302
    delivery = _status(failed)
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0
    assert published == [failed]  # after the commit
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "delivery.retry"))
    assert entry.target_id == str(failed)
    sent = outbox["sent"][0].id
    editor_client.post(f"/staff/deliveries/{sent}/retry")
    assert _status(sent).status is DeliveryStatus.SENT and published == [failed]
    assert editor_client.post("/staff/deliveries/999999/retry").status_code == 404


def test_retry_all_failed_and_dead(editor_client: FlaskClient, outbox: dict[str, list[Delivery]],
                                   published: list[int]) -> None:
    ids = sorted(d.id for d in outbox["failed"] + outbox["dead"])
    resp = editor_client.post("/staff/deliveries/retry", data={"statuses": "failed,dead"}, follow_redirects=True)
    assert "2 deliveries will be tried again" in resp.get_data(as_text=True)
    assert sorted(published) == ids
    assert _status(outbox["held"][0].id).status is DeliveryStatus.HELD
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "delivery.retry_all"))
    assert entry.details == {"statuses": ["failed", "dead"], "count": 2}
    assert editor_client.post("/staff/deliveries/retry", data={"statuses": "sent"}).status_code == 302
    assert all(_status(d.id).status is DeliveryStatus.SENT for d in outbox["sent"])


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login_as(client, Role.ADMIN)
    return client


def test_editors_see_print_counts_but_cannot_make_or_download_batches(
        app: Flask, editor_client: FlaskClient, admin_client: FlaskClient, outbox: dict[str, list[Delivery]]) -> None:
    office_id = outbox["print"][0].letter.office_id
    page = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    queue = page.split('id="print-queue"', 1)[1].split("</table>", 1)[0]
    assert "Sheriff of Madison County" in queue and "<td>2</td>" in queue
    assert f"/staff/deliveries/print/{office_id}" not in page
    assert editor_client.post(f"/staff/deliveries/print/{office_id}").status_code == 403
    assert all(_status(d.id).status is DeliveryStatus.PENDING for d in outbox["print"])
    made = admin_client.post(f"/staff/deliveries/print/{office_id}")
    assert made.status_code == 200
    batch = db.session.scalar(db.select(PrintBatch))
    assert editor_client.get(f"/staff/deliveries/print/batches/{batch.id}").status_code == 403
    assert batch.file_name in editor_client.get("/staff/deliveries/").get_data(as_text=True)  # listed, no link
    assert f"/print/batches/{batch.id}" not in editor_client.get("/staff/deliveries/").get_data(as_text=True)


def test_print_batches_are_stored_encrypted(app: Flask, admin_client: FlaskClient,
                                            outbox: dict[str, list[Delivery]]) -> None:
    office_id = outbox["print"][0].letter.office_id
    pdf = admin_client.post(f"/staff/deliveries/print/{office_id}").data
    assert pdf.startswith(b"%PDF")
    stored = list(Path(app.config["DELIVERY"]["print_output"]).iterdir())
    assert [p.suffix for p in stored] == [".enc"]
    raw = stored[0].read_bytes()
    assert not raw.startswith(b"%PDF") and b"Printed" not in raw and b"Person0" not in raw


def test_print_batch_download(app: Flask, admin_client: FlaskClient, outbox: dict[str, list[Delivery]]) -> None:
    editor_client = admin_client
    office_id = outbox["print"][0].letter.office_id
    resp = editor_client.post(f"/staff/deliveries/print/{office_id}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF") and "attachment" in resp.headers["Content-Disposition"]
    assert all(_status(d.id).status is DeliveryStatus.SENT for d in outbox["print"])
    batch = db.session.scalar(db.select(PrintBatch))
    assert batch.letter_count == 2
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "delivery.print_batch"))
    assert entry.details["letters"] == 2 and entry.target_id == str(office_id)
    # Nothing left to print: a second click says so instead of an empty PDF.
    again = editor_client.post(f"/staff/deliveries/print/{office_id}", follow_redirects=True)
    assert "No letters are waiting" in again.get_data(as_text=True)
    # The batch can be downloaded again from the list.
    page = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    assert batch.file_name in page
    copy = editor_client.get(f"/staff/deliveries/print/batches/{batch.id}")
    assert copy.status_code == 200 and copy.data == resp.data
    assert editor_client.get("/staff/deliveries/print/batches/nope").status_code == 404
    assert editor_client.post("/staff/deliveries/print/999999", follow_redirects=True).status_code == 200


def test_viewers_do_not_see_deliveries(app: Flask, outbox: dict[str, list[Delivery]]) -> None:
    client = app.test_client()
    login_as(client, Role.VIEWER)
    assert client.get("/staff/deliveries/").status_code == 403
    assert client.post(f"/staff/deliveries/{outbox['failed'][0].id}/retry").status_code == 403
    assert _status(outbox["failed"][0].id).status is DeliveryStatus.FAILED


def test_cancelled_and_expired_are_their_own_statuses_without_retry(editor_client: FlaskClient,
                                                                   outbox: dict[str, list[Delivery]],
                                                                   published: list[int]) -> None:
    cancelled, expired = outbox["print"]
    cancelled.status, cancelled.last_error = DeliveryStatus.CANCELLED, services.CANCEL_REASON
    expired.status, expired.last_error = DeliveryStatus.EXPIRED, "expired: not delivered within the retention period"
    cancelled.final_at = expired.final_at = utcnow()
    db.session.commit()
    page = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    counts = page.split('id="delivery-counts"', 1)[1].split("</table>", 1)[0]
    assert 'badge-cancelled">cancelled</span></th>\n    <td>0</td><td>1</td>' in counts
    assert 'badge-expired">expired</span></th>\n    <td>0</td><td>1</td>' in counts
    failures = page.split('id="failures-table"', 1)[1].split("</table>", 1)[0]
    assert "not delivered within the retention period" in failures  # expired rows are listed for staff
    assert f"/staff/deliveries/{expired.id}/retry" not in failures and failures.count("Retry</button>") == 3
    only = editor_client.get("/staff/deliveries/?status=cancelled").get_data(as_text=True)
    table = only.split('id="failures-table"', 1)[1].split("</table>", 1)[0]
    assert f"#{cancelled.id}" in table and "Retry</button>" not in table
    for row in (cancelled, expired):
        editor_client.post(f"/staff/deliveries/{row.id}/retry")
    assert _status(cancelled.id).status is DeliveryStatus.CANCELLED and published == []
    assert _status(expired.id).status is DeliveryStatus.EXPIRED
def test_monitor_shows_letters_waiting_for_pacing_and_until_when(app: Flask, editor_client: FlaskClient) -> None:
    """The issue's case: 75 letters to one legislator at the default 30 an hour take about 2.5 hours to leave."""
    from tests.delivery.conftest import seed_deliveries

    assert app.config["DELIVERY"]["per_destination_per_hour"] == 30
    seed_deliveries(75, offices=1)
    for delivery_id in seed_deliveries(10, offices=1):  # another inbox, within its hourly allowance: none waits
        db.session.get(Delivery, delivery_id).destination = "other@legislature.example"
    db.session.commit()
    limit, paced = services.pacing_backlog()
    assert limit == 30 and [(row.destination, row.waiting) for row in paced] == [("rep1@legislature.example", 45)]
    hours = (paced[0].last_leaves_about - utcnow()).total_seconds() / 3600
    assert 1.45 < hours < 1.55  # 30 now, then 45 more at 30 an hour: all gone about 2.5 hours after the first

    html = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    assert "45 letters wait because of pacing" in html and "rep1@legislature.example" in html
    assert "No official's inbox receives more than 30 letters an hour" in html

    app.config["DELIVERY"]["per_destination_per_hour"] = 0
    assert "Pacing is off" in editor_client.get("/staff/deliveries/").get_data(as_text=True)
def test_monitor_shows_which_channel_each_rerouted_letter_took_and_why(editor_client: FlaskClient,
                                                                     outbox: dict[str, list[Delivery]]) -> None:
    moved = outbox["print"][0]
    moved.channel_notes = "email: failed: smtp 550 mailbox unavailable\nmoved to print"
    skipped = outbox["print"][1]
    skipped.channel_notes = "email: the office has no email address"
    db.session.commit()
    page = editor_client.get("/staff/deliveries/").get_data(as_text=True)
    table = page[page.index('id="channel-changes"'):page.index('id="print"')]
    assert f"#{moved.id}" in table and "email: failed: smtp 550 mailbox unavailable" in table
    assert "moved to print" in table and "email: the office has no email address" in table
    assert "Secret" not in table and "Printed" not in table


def test_monitor_shows_each_cwc_chambers_send_rate_ceiling(app: Flask, editor_client: FlaskClient) -> None:
    app.config["CWC"].update(senate_url="http://127.0.0.1:9", senate_max_per_second=7, house_url=None)
    html = " ".join(editor_client.get("/staff/deliveries/").get_data(as_text=True).split())
    assert "Congress through CWC, Senate: at most 7 letters a second across all workers" in html
    assert "Congress through CWC, House: not configured" in html
    app.config["CWC"].update(house_url="http://127.0.0.1:9", house_max_per_second=None)
    html = " ".join(editor_client.get("/staff/deliveries/").get_data(as_text=True).split())
    assert "Congress through CWC, House: no send-rate ceiling" in html
