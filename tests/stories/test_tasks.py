"""Stories tasks: a receipt the broker never took (down at submit time) is queued again by the beat sweep."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.stories import receipt, tasks, views
from actionkit.stories.models import Story
from tests.factories import make_campaign


@pytest.mark.parametrize("age_seconds, queued_again", [
    (30, False),  # the first task may still be on its way
    (125, True),  # two minutes: the broker was down at submit time; recovered within the next sweep
    (200, False),  # queued at 120 s; the next try waits until 240 s
    (250, True),
    (60 * 60 + 10, False),  # an hour into a mail outage: tries at 64 min, 128 min ... not every minute
    (120 * 64 + 30, True),
    (3 * 86400, False),  # too old
])
def test_receipt_lost_while_the_broker_was_down_is_queued_again(app, client, monkeypatch: pytest.MonkeyPatch,
                                                                age_seconds: int, queued_again: bool) -> None:
    make_campaign(slug="sweep")
    db.session.commit()
    monkeypatch.setattr(views, "publish", lambda task, *args: False)  # the broker is down at submit time
    resp = client.post("/act/sweep/story?lang=es", data={"text": "Mi historia.", "consent": "private",
                                                         "email": "rosa@example.org", "county": "", "lang": "es"})
    assert resp.status_code == 200
    no_email = client.post("/act/sweep/story", data={"text": "Sin correo.", "consent": "private", "county": ""})
    assert no_email.status_code == 200
    story, other = db.session.scalars(sa.select(Story).order_by(Story.id)).all()
    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: published.append((task.name, args)) or True)
    story.created_at = other.created_at = utcnow() - dt.timedelta(seconds=age_seconds)
    db.session.commit()
    assert tasks.sweep_receipts() == int(queued_again)
    assert published == ([("stories.send_receipt", (story.id,))] if queued_again else [])  # only the id
    if queued_again:
        assert tasks.send_receipt(story.id) is True
        published.clear()
        assert tasks.sweep_receipts() == 0  # sent: never again


def test_unsent_ignores_sent_and_addressless_stories(app) -> None:
    campaign = make_campaign(slug="sweep2")
    db.session.flush()
    old = utcnow() - dt.timedelta(seconds=130)
    for email, sent in (("a@example.org", None), ("b@example.org", utcnow()), (None, None)):
        db.session.add(Story(campaign_id=campaign.id, text="x", consent="private", email=email,
                             receipt_sent_at=sent, delete_code_hash=f"h-{email}", created_at=old))
    db.session.commit()
    due = receipt.unsent(dt.timedelta(seconds=120), dt.timedelta(days=2), every=dt.timedelta(seconds=60))
    emails = [db.session.get(Story, i).email for i in due]
    assert emails == ["a@example.org"]
