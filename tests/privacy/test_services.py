"""Purging addresses once every delivery of an action is final and the retention period has passed."""
from __future__ import annotations

import datetime as dt

from flask import Flask

from actionkit.db import utcnow
from actionkit.delivery.models import Channel, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Submission, SubmissionStatus
from actionkit.privacy import services, tasks
from tests.factories import make_action, make_campaign, make_office, make_supporter

NOW = utcnow()


def aged(days: int, *, status: DeliveryStatus = DeliveryStatus.SENT, final_days: int | None = None) -> Action:
    campaign = make_campaign()
    action = make_action(campaign, make_supporter(), offices=[make_office(county=f"C{next(_n)}")])
    action.created_at = NOW - dt.timedelta(days=days)
    for letter in action.letters:
        letter.delivery.status = status
        if status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.DEAD):
            letter.delivery.final_at = NOW - dt.timedelta(days=final_days if final_days is not None else days)
    db.session.flush()
    return action


_n = iter(range(1000))


def test_purge_erases_addresses_of_old_final_actions_only(app: Flask) -> None:
    old = aged(40)
    old.personal_paragraph = "My cousin was held."
    recent = aged(10)
    waiting = aged(40, status=DeliveryStatus.PENDING)
    held = aged(40, status=DeliveryStatus.HELD)
    late = aged(40, final_days=5)  # delivered only five days ago: retention counts from delivery
    db.session.commit()
    assert services.purge_addresses(dt.timedelta(days=30), now=NOW) == 1
    db.session.commit()
    db.session.expire_all()
    purged = db.session.get(Action, old.id)
    assert (purged.street, purged.city, purged.zip, purged.phone) == (None, None, None, None)
    assert purged.personal_paragraph is None
    assert purged.address_purged_at is not None and purged.supporter.email is not None
    for kept in (recent, waiting, held, late):
        assert db.session.get(Action, kept.id).city == "Jackson"
    assert services.purge_addresses(dt.timedelta(days=30), now=NOW) == 0


def test_purge_task_uses_the_configured_retention(app: Flask) -> None:
    action = aged(10)
    db.session.commit()
    assert tasks.purge_expired() == 0
    app.config["RETENTION_DAYS"] = 7
    assert tasks.purge_expired() == 1
    db.session.expire_all()
    assert db.session.get(Action, action.id).street is None


def test_purge_task_prefers_the_admins_retention_setting(app: Flask) -> None:
    from actionkit.staff import services as staff_services

    action = aged(10)
    db.session.commit()
    app.config["RETENTION_DAYS"] = 30
    staff_services.set_retention_days(None, 5)
    db.session.commit()
    assert tasks.purge_expired() == 1
    db.session.expire_all()
    assert db.session.get(Action, action.id).street is None


def test_the_street_is_erased_once_no_pending_delivery_needs_it(app: Flask) -> None:
    printing = aged(1, status=DeliveryStatus.PENDING)  # a pending print letter needs name and city only
    for letter in printing.letters:
        letter.delivery.channel = Channel.PRINT
    cwc = aged(1, status=DeliveryStatus.PENDING)
    for letter in cwc.letters:
        letter.delivery.channel = Channel.CWC  # a channel that must send the constituent's address
    waiting = aged(1, status=DeliveryStatus.SENT)
    waiting.pending_types = ["state_senator"]  # still to be matched: the geocoder needs the street
    db.session.commit()
    assert services.purge_street_addresses(now=NOW) == 1
    db.session.commit()
    db.session.expire_all()
    done = db.session.get(Action, printing.id)
    assert (done.street, done.zip, done.phone, done.city) == (None, None, None, "Jackson")
    assert done.address_purged_at is None  # city and the rest go at the full purge
    for kept in (cwc, waiting):
        assert db.session.get(Action, kept.id).street == "400 High St"
    for letter in db.session.get(Action, cwc.id).letters:
        letter.delivery.status, letter.delivery.final_at = DeliveryStatus.SENT, NOW
    db.session.commit()
    assert services.purge_street_addresses(now=NOW) == 1


def test_deliveries_waiting_past_retention_expire_and_their_address_goes(app: Flask) -> None:
    old_print = aged(40, status=DeliveryStatus.PENDING)
    for letter in old_print.letters:
        letter.delivery.channel = Channel.CWC
        letter.delivery.created_at = NOW - dt.timedelta(days=40)
    old_held = aged(40, status=DeliveryStatus.HELD)
    for letter in old_held.letters:
        letter.delivery.created_at = NOW - dt.timedelta(days=40)
    young = aged(5, status=DeliveryStatus.PENDING)
    db.session.commit()
    app.config["RETENTION_DAYS"] = 30
    tasks.purge_expired()
    db.session.expire_all()
    for action_id in (old_print.id, old_held.id):
        action = db.session.get(Action, action_id)
        assert action.street is None
        delivery = action.letters[0].delivery
        assert delivery.status is DeliveryStatus.EXPIRED and delivery.final_at is not None
        assert delivery.last_error == services.EXPIRED_REASON
    assert db.session.get(Action, young.id).letters[0].delivery.status is DeliveryStatus.PENDING


def test_the_file_outbox_is_purged_after_retention(app: Flask, tmp_path) -> None:
    import os
    import time

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    old, new = outbox / "old.eml", outbox / "new.eml"
    old.write_text("From: x\r\n\r\nDear Sheriff, Ana García")
    new.write_text("From: x\r\n\r\nDear Sheriff")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    app.config["MAIL"] = {**app.config["MAIL"], "backend": "file", "outbox": str(outbox)}
    app.config["RETENTION_DAYS"] = 30
    tasks.purge_expired()
    assert not old.exists() and new.exists()


def test_deletion_removes_their_mail_from_the_file_outbox(app: Flask, tmp_path) -> None:
    outbox = tmp_path / "outbox-del"
    outbox.mkdir()
    app.config["MAIL"] = {**app.config["MAIL"], "backend": "file", "outbox": str(outbox)}
    action = aged(1, status=DeliveryStatus.SENT)
    other = aged(1, status=DeliveryStatus.SENT)
    for item, name in ((action, "mine"), (other, "theirs")):
        item.letters[0].delivery.provider_ref = f"<delivery-{item.letters[0].delivery.id}.{name}@example.org>"
        (outbox / f"delivery-{item.letters[0].delivery.id}.{name}@example.org.eml").write_text("Ana García")
        (outbox / f"confirmation-{item.id}.tag@example.org.eml").write_text("Delete: /privacy/delete/x")
    db.session.commit()
    report = services.delete_supporter(action.supporter)
    db.session.commit()
    assert report.outbox_files == 2
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        [f"delivery-{other.letters[0].delivery.id}.theirs@example.org.eml", f"confirmation-{other.id}.tag@example.org.eml"])


def test_the_receipts_office_snapshot_is_erased_after_retention(app: Flask) -> None:
    campaign = make_campaign()
    office = make_office(county="Snapshot")
    rows = [Submission(campaign_id=campaign.id, token_hash=f"{i:064d}", status=status, office_ids=[office.id],
                       created_at=NOW - dt.timedelta(days=days))
            for i, (days, status) in enumerate(((40, SubmissionStatus.RECORDED), (40, SubmissionStatus.DUPLICATE),
                                 (10, SubmissionStatus.DUPLICATE)))]
    db.session.add_all(rows)
    db.session.commit()
    assert tasks.purge_expired() == 0  # no address to purge; the snapshots go all the same
    db.session.expire_all()
    assert [db.session.get(Submission, s.id).office_ids for s in rows] == [None, None, [office.id]]
    assert db.session.scalar(db.select(db.func.count()).select_from(Submission)
                             .where(Submission.office_ids.is_(None))) == 2  # SQL NULL, not JSON null
    assert services.purge_submission_snapshots(dt.timedelta(days=30), now=NOW) == 0
