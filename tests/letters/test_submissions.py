"""The signature is accepted as one encrypted submission row and recorded by the worker: the page in between,
exactly-once recording, repeats found by the worker, failures given up cleanly, the sweep, and deletion."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit.delivery.models import Delivery
from actionkit.extensions import db
from actionkit.letters import services, tasks
from actionkit.letters.forms import seal, unseal
from actionkit.letters.models import Action, Letter, Submission, SubmissionStatus, Supporter
from actionkit.privacy.services import delete_supporter
from tests.letters.conftest import EMAIL, GULFPORT, JACKSON, PHONE, Journey, emailed_link, hidden, \
    process_received
from tests.letters.test_storage import assert_clean


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def count(model: type) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def sign_unprocessed(journey: Journey, address: dict[str, str] = JACKSON, **extra: str):  # type: ignore[no-untyped-def]
    """Find and sign, without the worker running afterwards."""
    page = journey.find(address, **extra)
    include = [v for v in re.findall(r'name="include" value="(\d+)"[^>]*checked', text(page))]
    return journey.post("sign", page, include=include, personal="My cousin was held on a detainer.")


def test_the_signature_is_one_encrypted_row_until_the_worker_records_it(journey: Journey, app: Flask) -> None:
    resp = sign_unprocessed(journey)
    assert resp.status_code == 303 and "/thanks/" in resp.headers["Location"]
    assert (count(Submission), count(Action), count(Supporter), count(Letter)) == (1, 0, 0, 0)
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM submissions")).one()._mapping
    assert row["status"] == "received" and row["payload"] and row["email_hash"]
    for column, value in row.items():
        if value is not None:
            assert_clean(f"submissions.{column}", value)
    assert "My cousin" not in row["payload"]

    page = journey.client.get(resp.headers["Location"])
    html = text(page)
    assert page.status_code == 200 and "Thank you, Ana!" in html and "We are preparing your letters" in html
    assert html.count("Being prepared") == 6 and "Tyree Jones" in html and "Sheriff of Hinds County" in html
    assert 'data-preparing="true"' in html and "http-equiv" not in html  # no timed refresh (WCAG 2.2.1)
    assert re.search(r'<a href="/act/[^"]+/thanks/[^"]+\?lang=en" id="refresh-link">Refresh this page</a>', html)
    assert "/privacy/delete/" not in html  # nothing to delete yet that the page could show
    status_url = resp.headers["Location"].replace("?", "/status?")
    assert journey.client.get(status_url).get_json() == {"letters": [], "pending": [], "final": False,
                                                         "preparing": True}

    assert process_received() == 1
    submission = db.session.scalar(db.select(Submission))
    action = db.session.scalar(db.select(Action))
    assert submission.status is SubmissionStatus.RECORDED and submission.action_id == action.id
    assert submission.payload is None and submission.processed_at is not None
    assert action.token_hash == submission.token_hash and action.phone == PHONE
    assert len(action.letters) == 6
    assert all("My cousin was held on a detainer." in letter.body for letter in action.letters)
    assert submission.office_ids == [letter.office_id for letter in action.letters]  # the receipt's snapshot
    html = text(journey.client.get(resp.headers["Location"]))
    assert "We are preparing" not in html and "Your signature has reached us" in html
    assert html.count('class="status-item"') == 6 and "Tyree Jones" in html and "Queued" not in html
    assert journey.client.get(status_url).get_json() == {"letters": [], "pending": [], "final": True,
                                                         "preparing": False}
    link = emailed_link(action.id)
    data = journey.client.get(link.replace("?", "/status?")).get_json()
    assert data["preparing"] is False and len(data["letters"]) == 6


def test_a_duplicate_or_late_task_records_nothing_more(journey: Journey) -> None:
    sign_unprocessed(journey)
    submission_id = db.session.scalar(db.select(Submission.id))
    assert tasks.process_submission(submission_id) is True
    letters, deliveries = count(Letter), count(Delivery)
    assert tasks.process_submission(submission_id) is False
    assert tasks.process_submission(submission_id + 100) is False
    assert (count(Action), count(Letter), count(Delivery)) == (1, letters, deliveries)


def test_the_same_email_before_the_worker_has_run_is_recorded_once(journey: Journey) -> None:
    assert sign_unprocessed(journey).status_code == 303
    again = sign_unprocessed(journey, GULFPORT, email=EMAIL.upper())
    assert again.status_code == 303  # the answer of any signature (tests/letters/test_trust.py)
    assert count(Submission) == 2
    process_received()
    assert (count(Action), count(Supporter)) == (1, 1)
    statuses = db.session.scalars(db.select(Submission.status).order_by(Submission.id)).all()
    assert statuses == [SubmissionStatus.RECORDED, SubmissionStatus.DUPLICATE]


def test_a_signature_that_keeps_failing_is_given_up_and_erased(journey: Journey,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    resp = sign_unprocessed(journey)
    submission_id = db.session.scalar(db.select(Submission.id))

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr(services, "draft_letters", broken)
    for attempt in range(1, services.MAX_SUBMISSION_ATTEMPTS):
        assert tasks.process_submission(submission_id) is False
        submission = db.session.get(Submission, submission_id, populate_existing=True)
        assert submission.status is SubmissionStatus.RECEIVED and submission.attempts == attempt
        assert submission.payload is not None
    assert tasks.process_submission(submission_id) is False
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission.status is SubmissionStatus.FAILED
    assert (submission.payload, submission.email_hash) == (None, None)
    assert count(Action) == 0

    page = journey.client.get(resp.headers["Location"])
    assert page.status_code == 500 and "Your letters could not be recorded" in text(page)
    assert journey.client.get(resp.headers["Location"].replace("?", "/status?")).get_json()["preparing"] is False
    monkeypatch.undo()
    assert sign_unprocessed(journey).status_code == 303  # they may sign again
    assert process_received() == 1 and count(Action) == 1


def test_a_failed_try_is_retried_and_then_recorded(journey: Journey, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_unprocessed(journey)
    submission_id = db.session.scalar(db.select(Submission.id))
    original = services.draft_letters
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "draft_letters", flaky)
    assert tasks.process_submission(submission_id) is False
    assert count(Action) == 0 and count(Letter) == 0  # the failed try left nothing half-written
    assert tasks.process_submission(submission_id) is True
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission.status is SubmissionStatus.RECORDED and submission.attempts == 1


def test_the_sweep_queues_signatures_whose_task_was_lost(journey: Journey, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_unprocessed(journey)
    sign_unprocessed(journey, GULFPORT, email="other@example.org")
    first, second = db.session.scalars(db.select(Submission).order_by(Submission.id)).all()
    first.updated_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    db.session.commit()
    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: published.append((task.name, args)) or True)
    assert tasks.sweep_submissions() == 1
    assert published == [("letters.process_submission", (first.id,))]  # the second's own task is still due
    assert tasks.sweep_submissions() == 0  # queued once per interval, however long the queue


def test_a_signature_never_recorded_is_given_up_after_two_days(journey: Journey) -> None:
    resp = sign_unprocessed(journey)
    submission = db.session.scalar(db.select(Submission))
    submission.created_at = dt.datetime.now(dt.timezone.utc) - services.SUBMISSION_MAX_AGE - dt.timedelta(hours=1)
    db.session.commit()
    tasks.sweep_submissions()
    submission = db.session.get(Submission, submission.id, populate_existing=True)
    assert submission.status is SubmissionStatus.FAILED
    assert (submission.payload, submission.email_hash) == (None, None)
    assert "could not be recorded" in text(journey.client.get(resp.headers["Location"]))


def test_an_office_included_twice_is_written_once(journey: Journey) -> None:
    page = journey.find(JACKSON)
    include = re.findall(r'name="include" value="(\d+)"[^>]*checked', text(page))
    assert journey.post("sign", page, include=[include[0], include[0], include[1]]).status_code == 303
    process_received()
    assert [letter.office_id for letter in db.session.scalar(db.select(Action)).letters] == \
        [int(include[0]), int(include[1])]


def test_deleting_my_data_lets_me_sign_again(journey: Journey, app: Flask) -> None:
    from tests.factories import make_campaign

    journey.complete(JACKSON)
    other = make_campaign(slug="second")
    db.session.commit()
    sign_unprocessed(Journey(journey.client, other))  # another campaign, not recorded yet
    supporter = db.session.scalar(db.select(Supporter))
    delete_supporter(supporter)
    db.session.commit()
    rows = db.session.scalars(db.select(Submission).order_by(Submission.id)).all()
    assert [(r.status, r.email_hash, r.payload) for r in rows] == [
        (SubmissionStatus.RECORDED, None, None), (SubmissionStatus.FAILED, None, None)]  # nothing left to write
    assert process_received() == 0 and count(Supporter) == 1
    assert journey.complete(JACKSON).status_code == 303
    assert count(Action) == 2 and count(Submission) == 3


def test_a_letters_page_from_before_the_split_still_signs(journey: Journey, campaign) -> None:  # type: ignore[no-untyped-def]
    page = journey.find(JACKSON)
    data = unseal(hidden(text(page), "state"), campaign.id)
    data.pop("letters")
    old = seal(data)
    include = re.findall(r'name="include" value="(\d+)"[^>]*checked', text(page))
    resp = journey.client.post(f"{journey.base}/sign", headers=journey.headers,
                               data={"state": old, "include": include[:2], "lang": "en"})
    assert resp.status_code == 303
    process_received()
    assert len(db.session.scalar(db.select(Action)).letters) == 2


def test_offices_not_offered_on_the_letters_page_are_ignored(journey: Journey, directory) -> None:  # type: ignore[no-untyped-def]
    page = journey.find(JACKSON)
    include = re.findall(r'name="include" value="(\d+)"[^>]*checked', text(page))
    foreign = str(directory.harrison_sheriff.id)  # another county's sheriff: not offered to this supporter
    resp = journey.post("sign", page, include=[include[0], foreign])
    assert resp.status_code == 303
    process_received()
    letters = db.session.scalar(db.select(Action)).letters
    assert [str(letter.office_id) for letter in letters] == [include[0]]
