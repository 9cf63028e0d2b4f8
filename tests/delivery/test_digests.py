"""Daily digests: an office that asked for it gets one email a day with all its letters, once, after the digest
hour; switching is an admin's audited decision; nothing is lost switching back."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from flask import Flask

from actionkit.db import utcnow
from actionkit.delivery import digests, services, tasks
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, DigestOffice
from actionkit.extensions import db
from actionkit.officials.models import Office, OfficeType
from actionkit.staff.models import AuditEntry, Role
from tests.delivery.conftest import seed_deliveries
from tests.factories import make_action, make_campaign
from tests.staff.helpers import login_as


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda batch: ids.extend(batch) or len(ids))
    return ids


def outbox(app: Flask) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(Path(app.config["MAIL"]["outbox"]).glob("*.eml"))]


def statuses() -> dict[str, int]:
    db.session.expire_all()
    counts: dict[str, int] = {}
    for delivery in db.session.scalars(db.select(Delivery)):
        key = f"{delivery.channel.value}/{delivery.status.value}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def office_of(delivery_id: int) -> Office:
    return db.session.get(Delivery, delivery_id).letter.office


def test_a_digest_office_gets_one_email_a_day_with_every_letter(app: Flask, published: list[int]) -> None:
    ids = seed_deliveries(3, offices=1)
    db.session.commit()
    office = office_of(ids[0])
    assert digests.set_digest(office, True) == []
    db.session.commit()
    assert statuses() == {"digest/pending": 3}
    assert services.delivery_values(office)["channel"] is Channel.DIGEST  # letters recorded from now on join it
    later = make_action(make_campaign(target_types=[OfficeType.STATE_REPRESENTATIVE]), offices=[office])
    later.letters[0].delivery.channel = services.delivery_values(office)["channel"]
    db.session.commit()

    app.config["DELIVERY"]["digest_hour"] = 0
    assert tasks.send_digests() == 4
    [message] = outbox(app)
    assert message["To"] == "rep1@legislature.example" and "4 letters from constituents" in message["Subject"]
    text = message.get_content()
    assert text.count("----- Letter") == 4 and "Letter 4 of 4" in text and "Please end it." in text
    assert "Reply-To" not in message and "@example.org" not in text  # supporters' addresses stay out
    assert statuses() == {"digest/sent": 4}
    assert tasks.send_digests() == 0  # once a day: nothing new, and the day's digest went out
    tomorrow = make_action(make_campaign(target_types=[OfficeType.STATE_REPRESENTATIVE]), offices=[office])
    tomorrow.letters[0].delivery.channel = Channel.DIGEST
    db.session.commit()
    assert tasks.send_digests() == 0  # a letter written after today's digest waits for tomorrow's
    assert digests.due_offices(utcnow() + dt.timedelta(days=1)) == [office.id]
    assert len(outbox(app)) == 1


def test_the_digest_is_due_once_per_day_after_the_hour(app: Flask) -> None:
    app.config["DELIVERY"]["digest_hour"] = 13
    ids = seed_deliveries(1, offices=1)
    office = office_of(ids[0])
    digests.set_digest(office, True)
    db.session.commit()
    day = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    assert digests.due_offices(day.replace(hour=12, minute=59)) == [office.id]  # yesterday's was never sent
    db.session.get(DigestOffice, office.id).last_sent_at = day.replace(hour=13, minute=2) - dt.timedelta(days=1)
    db.session.commit()
    assert digests.due_offices(day.replace(hour=12, minute=59)) == []  # sent yesterday: wait for 13:00
    assert digests.due_offices(day.replace(hour=13, minute=0)) == [office.id]


def test_switching_back_sends_the_waiting_letters_one_by_one(app: Flask, published: list[int]) -> None:
    ids = seed_deliveries(2, offices=1)
    office = office_of(ids[0])
    digests.set_digest(office, True)
    db.session.commit()
    back = digests.set_digest(office, False)
    db.session.commit()
    assert sorted(back) == sorted(ids) and statuses() == {"email/pending": 2}
    assert db.session.get(DigestOffice, office.id) is None


def test_a_failed_digest_is_retried_and_a_withdrawn_letter_is_left_out(app: Flask) -> None:
    ids = seed_deliveries(2, offices=1)
    office = office_of(ids[0])
    digests.set_digest(office, True)
    db.session.get(Delivery, ids[0]).letter.action.supporter.deleted_at = utcnow()
    db.session.commit()
    app.config["DELIVERY"]["digest_hour"] = 0
    app.config["MAIL"] = {**app.config["MAIL"], "outbox": "/proc/no-such-folder"}
    assert tasks.send_digests() == 0
    db.session.expire_all()
    assert db.session.get(Delivery, ids[0]).status is DeliveryStatus.FAILED  # withdrawn: never sent
    retried = db.session.get(Delivery, ids[1])
    assert retried.status is DeliveryStatus.PENDING and "outbox write failed" in retried.last_error


def test_only_an_admin_switches_an_office_and_it_is_audited(app: Flask, published: list[int]) -> None:
    ids = seed_deliveries(40, offices=1)  # more than an hour's pacing allows: the office shows in the pacing table
    db.session.commit()
    office = office_of(ids[0])
    editor = app.test_client()
    login_as(editor, Role.EDITOR)
    page = editor.get("/staff/deliveries/").get_data(as_text=True)
    assert "Send as a daily digest" not in page and "No office receives a digest." in page
    assert editor.post(f"/staff/deliveries/digest/{office.id}", data={"digest": "on"}).status_code == 403

    admin = app.test_client()
    login_as(admin, Role.ADMIN)
    assert "Send as a daily digest" in admin.get("/staff/deliveries/").get_data(as_text=True)
    resp = admin.post(f"/staff/deliveries/digest/{office.id}", data={"digest": "on"})
    assert resp.status_code == 302
    assert statuses() == {"digest/pending": 40}
    page = admin.get("/staff/deliveries/").get_data(as_text=True)
    assert "Back to one email per letter" in page and "none yet" in page
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "delivery.digest_on"))
    assert entry is not None and entry.target_id == str(office.id)
    admin.post(f"/staff/deliveries/digest/{office.id}", data={"digest": "off"})
    assert statuses() == {"email/pending": 40} and len(published) == 40
