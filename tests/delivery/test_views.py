"""The delivery monitor: counts by status and channel, failures with reason and attempts, retry one or all (audited,
published only after commit), and print batches downloaded as PDF; no supporter data on the page."""
from __future__ import annotations

import datetime as dt

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
    # Columns: email, print, cwc, webhook, postal, fax, total.
    assert 'badge-sent">sent</span></th>\n    <td>2</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>2</td>' in counts
    assert 'badge-pending">pending</span></th>\n    <td>0</td><td>2</td><td>0</td><td>0</td><td>0</td><td>0</td><td>2</td>' \
        in counts
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


def test_print_batch_download(app: Flask, editor_client: FlaskClient, outbox: dict[str, list[Delivery]]) -> None:
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
