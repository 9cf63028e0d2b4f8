"""Issue #11, items 6 and 7: a repeat signature gets exactly the answer a first one gets (its owner is told by
e-mail), re-signing after deletion works, and campaigns may hold letters until the e-mail address is confirmed."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import event

from actionkit.db import utcnow
from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters import tasks
from actionkit.letters.models import Action, Submission, SubmissionStatus, Supporter
from actionkit.privacy.services import delete_supporter
from tests.letters.conftest import EMAIL, GULFPORT, JACKSON, Directory, Journey, emailed_link, process_received
from tests.letters.test_tasks import read_outbox

OTHER = "someone.else@example.org"


def text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def count(model: type) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app runs (parameters left out), to compare the work two requests do."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _signed(journey: Journey, statements: list[str], address: dict[str, str], email: str) -> tuple[Any, list[str]]:
    """Sign without the worker, returning the response and the statements run while the sign POST ran."""
    page = journey.find(address, email=email)
    include = re.findall(r'name="include" value="(\d+)"[^>]*checked', text(page))
    statements.clear()
    resp = journey.post("sign", page, include=include)
    return resp, list(statements)


def _answer(resp: Any, url: str | None = None) -> tuple[int, str, str, list[str]]:
    """A response with its one random part (the thank-you token, from its Location or url) masked."""
    token = re.search(r"/thanks/([^?/]+)", url or resp.headers["Location"]).group(1)
    return (resp.status_code, resp.headers.get("Location", "").replace(token, "TOKEN"),
            text(resp).replace(token, "TOKEN"), sorted(k for k, _ in resp.headers))


def test_a_repeat_signature_gets_exactly_the_answer_of_a_first_one(journey: Journey, statements: list[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr("actionkit.letters.tasks.publish", lambda task, *args: published.append((task.name, args)))
    journey.record_here = False
    _signed(journey, statements, JACKSON, EMAIL)
    process_received()
    published.clear()
    first, first_sql = _signed(journey, statements, GULFPORT, OTHER)  # an address never seen
    repeat, repeat_sql = _signed(journey, statements, GULFPORT, EMAIL.upper())  # the same person again
    assert first.status_code == 303 and _answer(first) == _answer(repeat)
    # Same timing class: the same statements, in the same order (no look-up, no extra write, no rollback).
    assert first_sql == repeat_sql
    assert [name for name, _ in published] == ["letters.process_submission"] * 2  # the same task, ids only
    assert count(Submission) == 3


def test_the_repeat_records_nothing_shows_nothing_and_tells_the_owner(journey: Journey, queued: dict,
                                                                      app: Flask) -> None:
    journey.complete(JACKSON)
    action = db.session.scalar(db.select(Action))
    deliveries = count(Delivery)
    repeat = journey.complete(GULFPORT, email=EMAIL.upper(), first_name="Mallory")
    assert repeat.status_code == 303
    assert (count(Action), count(Supporter), count(Delivery)) == (1, 1, deliveries)
    submission = db.session.scalars(db.select(Submission).order_by(Submission.id.desc())).first()
    assert submission.status is SubmissionStatus.DUPLICATE and submission.payload is None
    assert submission.email_hash is None

    page = journey.client.get(repeat.headers["Location"])
    html = text(page)
    assert page.status_code == 200 and "Your signature has reached us" in html
    assert "Sheriff of Harrison County" in html and "Mike Ezell" in html  # the officials this signer chose
    for private in ("Ana", "Tyree Jones", "Hinds", "already", "Queued", "Mallory", "/privacy/delete/"):
        assert private not in html  # nothing about the earlier signature (nor a tell that there was one)
    status = journey.client.get(repeat.headers["Location"].replace("?", "/status?")).get_json()
    assert status == {"letters": [], "pending": [], "final": True, "preparing": False}

    # The owner, and only the owner, hears about it: a notice with a fresh link to their own letters.
    assert queued["confirmations"] == [action.id, action.id]  # the confirmation, then the repeat notice
    assert tasks.send_repeat_notice(action.id) is True
    [notice] = read_outbox(app)
    assert notice["To"] == EMAIL and "You have already written" in notice["Subject"]
    body = notice.get_content()
    assert "did not send any letters again" in body and "Mallory" not in body and "Gulfport" not in body
    status_url = re.search(r"http://127\.0\.0\.1:5000(/act/\S+)", body).group(1)
    owner_page = text(journey.client.get(status_url))
    assert "Tyree Jones" in owner_page and "Queued" in owner_page
    # Signing in their name again the same day does not flood their inbox.
    journey.complete(GULFPORT, email=EMAIL)
    assert tasks.send_repeat_notice(action.id) is False and len(read_outbox(app)) == 1


def _pages(journey: Journey, location: str, name: str) -> list[tuple[int, str, str, list[str]]]:
    """What the sign redirect's token shows (HTML in both languages, then the status JSON), with the random token
    and the signer's own first name (which they typed a minute ago) masked."""
    seen = []
    for url in (location, location.replace("lang=en", "lang=es"), location.replace("?", "/status?")):
        status, _location, body, headers = _answer(journey.client.get(url), url)
        seen.append((status, _location, body.replace(f", {name}!", ", NAME!"), headers))
    return seen


def test_first_and_repeat_pages_stay_identical_before_and_after_the_worker(
        journey: Journey, directory: Directory, app: Flask, monkeypatch: pytest.MonkeyPatch,
        statements: list[str]) -> None:
    """Someone signing with another person's address learns nothing by watching the page: a first signature's
    redirect page and a repeat's are the same at every point in time (different names and addresses, the same
    officials chosen: the two US senators, whom every Mississippian writes to)."""
    monkeypatch.setattr("actionkit.letters.tasks.publish", lambda task, *args: True)  # the worker waits
    journey.record_here = False
    senators = [office.id for office in directory.senators]
    first = journey.sign(journey.find(JACKSON, email=EMAIL), include=senators)
    repeat = journey.sign(journey.find(GULFPORT, email=EMAIL.upper(), first_name="Mallory", last_name="Smith"),
                          include=senators)
    a, b = first.headers["Location"], repeat.headers["Location"]
    before = _pages(journey, a, "Ana")
    assert before == _pages(journey, b, "Mallory") and "We are preparing your letters" in before[0][2]
    assert before[2][2] and "Roger F. Wicker" in before[0][2]

    assert process_received() == 2  # the worker: the first is recorded, the repeat found and not recorded
    assert [s.status for s in db.session.scalars(db.select(Submission).order_by(Submission.id))] == [
        SubmissionStatus.RECORDED, SubmissionStatus.DUPLICATE]
    statements.clear()
    after = _pages(journey, a, "Ana")
    first_sql = list(statements)
    statements.clear()
    assert after == _pages(journey, b, "Mallory")
    assert first_sql == statements  # the same timing class: the same queries, in the same order
    html, spanish, status = after[0][2], after[1][2], after[2][2]
    assert "Your signature has reached us" in html and "Roger F. Wicker" in html and "Cindy Hyde-Smith" in html
    assert "Hemos recibido su firma" in spanish
    for private in ("Queued", "Ana", "Mallory", "/privacy/delete/", "already", "status.js"):
        assert private not in html
    assert status == '{"final":true,"letters":[],"pending":[],"preparing":false}\n'

    # Later still: the e-mails went out (a confirmation, a repeat notice), letters were delivered.
    action_id = db.session.scalar(db.select(Action.id))
    tasks.send_repeat_notice(action_id)
    emailed_link(action_id)
    for delivery in db.session.scalars(db.select(Delivery)):
        delivery.status = DeliveryStatus.SENT
    db.session.commit()
    assert _pages(journey, a, "Ana") == _pages(journey, b, "Mallory") == after
    # Nor does the token open "delete my data": both get the same "use the link in your email".
    for token in (_token(a), _token(b)):
        refused = journey.client.get(f"/privacy/delete/{token}")
        assert refused.status_code == 403 and "Please use the link in your email" in text(refused)
    assert journey.client.post(f"/privacy/delete/{_token(a)}", headers=journey.headers).status_code == 403
    # Nor does it open the e-mail check page (a recorded first would be redirected, a repeat told "expired").
    for token in (_token(a), _token(b)):
        assert journey.client.get(f"{journey.base}/confirm-email/{token}").status_code == 404
    assert db.session.get(Action, action_id).supporter.deleted_at is None


def _token(location: str) -> str:
    return re.search(r"/thanks/([^?/]+)", location).group(1)


def test_signing_again_after_deleting_ones_data_works(journey: Journey, queued: dict) -> None:
    journey.complete(JACKSON)
    delete_supporter(db.session.scalar(db.select(Supporter)))
    db.session.commit()
    again = journey.complete(GULFPORT)
    assert again.status_code == 303
    actions = db.session.scalars(db.select(Action).order_by(Action.id)).all()
    assert len(actions) == 2 and actions[1].supporter.email == EMAIL and actions[1].is_returning is False
    assert db.session.scalars(db.select(Submission.status).order_by(Submission.id)).all()[-1] \
        is SubmissionStatus.RECORDED
    html = text(journey.client.get(emailed_link(actions[1].id)))
    assert "already" not in html and "Your signature has reached us" not in html
    assert "Mike Ezell" in html and html.count('class="status-item"') == 6  # the new letters and their status


# --- item 7: confirm the e-mail address before letters go out -------------------------------------------------

@pytest.fixture
def checking(journey: Journey, queued: dict) -> Journey:
    journey.campaign.confirm_email = True
    db.session.commit()
    return journey


def _link(app: Flask) -> str:
    [msg] = [m for m in read_outbox(app) if "Confirm your email" in m["Subject"]]
    return re.search(r"http://127\.0\.0\.1:5000(/act/\S+/confirm-email/\S+)", msg.get_content()).group(1)


def test_letters_wait_encrypted_until_the_emailed_link_is_opened(checking: Journey, queued: dict,
                                                                 app: Flask) -> None:
    resp = checking.complete(JACKSON)
    assert resp.status_code == 303
    submission = db.session.scalar(db.select(Submission))
    assert submission.status is SubmissionStatus.AWAITING and submission.email_check
    assert count(Action) == 0 and queued["submissions"] == []  # nothing recorded, nothing to deliver
    page = text(checking.client.get(resp.headers["Location"]))
    assert "One more step: check your email" in page and "3 days" in page

    [submission_id] = queued["confirmations"]
    assert tasks.send_email_check(submission_id) is True
    assert tasks.send_email_check(submission_id) is False  # sent once
    link = _link(app)
    shown = checking.client.get(link)  # opening the link (or a mail scanner) confirms nothing yet
    assert shown.status_code == 200 and 'id="confirm-email-form"' in text(shown)
    assert db.session.get(Submission, submission_id, populate_existing=True).status is SubmissionStatus.AWAITING

    done = checking.client.post(link, data={"csrf_token": ""}, headers=checking.headers)
    assert done.status_code == 303
    assert queued["submissions"] == [submission_id]
    action = db.session.scalar(db.select(Action))
    assert action is not None and len(action.letters) == 6
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission.status is SubmissionStatus.RECORDED and submission.confirmed_at is not None
    thanks = text(checking.client.get(done.headers["Location"]))
    assert "Tyree Jones" in thanks and "Queued" in thanks
    assert checking.client.post(link, headers=checking.headers).status_code == 303  # a second click: no-op
    assert queued["submissions"] == [submission_id]


def test_unconfirmed_signatures_expire_and_are_erased(checking: Journey, queued: dict, app: Flask) -> None:
    resp = checking.complete(JACKSON)
    [submission_id] = queued["confirmations"]
    tasks.send_email_check(submission_id)
    link = _link(app)
    submission = db.session.get(Submission, submission_id)
    submission.created_at = utcnow() - dt.timedelta(days=3, minutes=1)
    db.session.commit()
    assert checking.client.post(link, headers=checking.headers).status_code == 410  # too late to confirm
    tasks.sweep_submissions()
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission.status is SubmissionStatus.EXPIRED
    assert (submission.payload, submission.email_hash) == (None, None)
    assert count(Action) == 0
    expired = checking.client.get(resp.headers["Location"])
    assert expired.status_code == 410 and "This link has expired" in text(expired)


def test_a_repeat_on_a_checking_campaign_looks_the_same_and_tells_the_owner(checking: Journey, queued: dict,
                                                                            app: Flask) -> None:
    checking.campaign.confirm_email = False
    db.session.commit()
    checking.complete(JACKSON)
    action_id = db.session.scalar(db.select(Action.id))
    checking.campaign.confirm_email = True
    db.session.commit()
    queued["confirmations"].clear()
    first = checking.complete(GULFPORT, email=OTHER)
    repeat = checking.complete(GULFPORT, email=EMAIL)
    ids = list(queued["confirmations"])
    assert [tasks.send_email_check(i) for i in ids] == [True, False]
    assert queued["confirmations"][-1] == action_id  # the repeat notice for the owner's action
    pages = [_answer(checking.client.get(r.headers["Location"]), r.headers["Location"]) for r in (first, repeat)]
    assert pages[0] == pages[1] and pages[0][0] == 200 and "One more step: check your email" in pages[0][2]
    assert db.session.get(Submission, ids[1]).status is SubmissionStatus.DUPLICATE


def test_sweep_sends_email_checks_whose_task_was_lost(checking: Journey, queued: dict, app: Flask) -> None:
    checking.complete(JACKSON)
    [submission_id] = queued["confirmations"]
    db.session.get(Submission, submission_id).created_at = utcnow() - dt.timedelta(minutes=10)
    db.session.commit()
    queued["confirmations"].clear()
    tasks.sweep_submissions()
    assert queued["confirmations"] == [submission_id]


def test_deleting_ones_data_erases_a_signature_waiting_for_its_link(checking: Journey, queued: dict,
                                                                    app: Flask) -> None:
    from tests.factories import make_campaign

    other = make_campaign(slug="second")
    db.session.commit()
    Journey(checking.client, other).complete(JACKSON)  # an earlier signature elsewhere, recorded
    checking.complete(JACKSON)  # waits for its e-mail link
    waiting = db.session.scalar(db.select(Submission).where(Submission.status == SubmissionStatus.AWAITING))
    tasks.send_email_check(waiting.id)
    link = _link(app)
    delete_supporter(db.session.scalar(db.select(Supporter)))
    db.session.commit()
    waiting = db.session.get(Submission, waiting.id, populate_existing=True)
    assert waiting.status is SubmissionStatus.FAILED and (waiting.payload, waiting.email_hash) == (None, None)
    assert checking.client.post(link, headers=checking.headers).status_code == 410
    assert count(Action) == 1


def test_an_older_non_ascii_address_is_skipped_not_retried_for_ever(journey: Journey, queued: dict,
                                                                   app: Flask) -> None:
    """Issue #11 item 15: an address the form accepted before it refused them cannot be sent to without
    SMTPUTF8; its confirmation is skipped (and logged without the address) instead of failing on every retry."""
    journey.complete(JACKSON)
    action = db.session.scalar(db.select(Action))
    action.supporter.email = "ñoño@example.net"
    db.session.commit()
    assert tasks.send_confirmation(action.id) is True
    assert read_outbox(app) == []
