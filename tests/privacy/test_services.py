"""Purging addresses once every delivery of an action is final and the retention period has passed."""
from __future__ import annotations

import datetime as dt

from flask import Flask

from actionkit.db import utcnow
from actionkit.delivery.models import DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action
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
        assert db.session.get(Action, kept.id).street == "400 High St"
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
