"""Letters tasks called directly: targets that waited for the geocoder, the periodic sweep, and the
confirmation e-mail (its language, its links, sent once, retried on a transient mail failure)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from pathlib import Path

import pytest
from flask import Flask

from actionkit.db import utcnow
from actionkit.delivery.models import DeliveryStatus
from actionkit.extensions import db
from actionkit.letters import confirmation, services, tasks
from actionkit.letters.models import Action, Letter
from tests.letters.conftest import EMAIL, GULFPORT, JACKSON, Journey


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr("actionkit.delivery.enqueue", lambda batch: ids.extend(batch) or len(batch))
    return ids


def pending_action(journey: Journey, personal: str = "") -> Action:
    """Sign while the geocoder is down: letters for the ZIP-level targets, state legislators pending."""
    journey.fake.mode = "500"
    page = journey.find(JACKSON)
    compose = journey.post("confirm", page, confirm="yes")
    assert journey.sign(compose, personal=personal).status_code == 303
    journey.fake.mode = "ok"
    from actionkit.officials.geocoders import reset_breakers

    reset_breakers()
    return db.session.scalar(db.select(Action))


def test_resolve_pending_writes_and_queues_the_waiting_letters(journey: Journey, queued: dict,
                                                              enqueued: list[int]) -> None:
    action = pending_action(journey)
    assert action.pending_types == ["state_senator", "state_representative"]
    assert tasks.resolve_pending(action.id) == 2
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    assert action.pending_types == []
    added = {l.office_type: l for l in action.letters if l.office_type.startswith("state_")}
    assert added["state_senator"].addressed_to == "David Blount"
    assert added["state_representative"].body.startswith("Dear Representative Nelson,")
    assert "Ana García" in added["state_senator"].body
    assert sorted(enqueued) == sorted(l.delivery.id for l in added.values())
    assert all(l.delivery.status is DeliveryStatus.PENDING for l in added.values())
    assert "ocd-division/country:us/state:ms/sldu:29" in action.division_ids
    assert tasks.resolve_pending(action.id) == 0  # a second run finds nothing pending
    assert len(db.session.scalars(db.select(Letter)).all()) == 6


def test_letters_written_after_the_geocoder_recovers_carry_the_supporters_paragraph(
        journey: Journey, queued: dict, enqueued: list[int]) -> None:
    paragraph = "My cousin was held for three weeks on a detainer."
    action = pending_action(journey, personal=paragraph)
    assert all(paragraph in letter.body for letter in action.letters)  # the letters written at once
    assert action.personal_paragraph == paragraph  # kept, encrypted, for the ones that wait
    with db.engine.connect() as conn:
        raw = conn.execute(db.text("SELECT personal_paragraph FROM actions")).scalar_one()
    assert raw and "cousin" not in raw
    assert tasks.resolve_pending(action.id) == 2
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    added = [l for l in action.letters if l.office_type.startswith("state_")]
    assert len(added) == 2 and all(f"{paragraph}\n\nSincerely," in l.body for l in added)
    assert action.personal_paragraph is None  # erased once those letters are written


def test_resolve_pending_waits_while_the_geocoder_is_still_down(journey: Journey, queued: dict,
                                                               enqueued: list[int]) -> None:
    action = pending_action(journey)
    journey.fake.mode = "500"
    assert tasks.resolve_pending(action.id) == 0
    db.session.expire_all()
    assert db.session.get(Action, action.id).pending_types == ["state_senator", "state_representative"]
    assert enqueued == []


def test_resolve_pending_gives_up_on_an_address_that_can_never_match(journey: Journey, queued: dict,
                                                                    enqueued: list[int]) -> None:
    action = pending_action(journey)
    action.street = "PO Box 12"
    db.session.commit()
    assert tasks.resolve_pending(action.id) == 0
    db.session.expire_all()
    assert db.session.get(Action, action.id).pending_types == []


def test_sweep_queues_waiting_actions(journey: Journey, queued: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    action = pending_action(journey)
    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: published.append((task.name, args)) or True)
    assert tasks.sweep_pending() == 1
    assert published == [("letters.resolve_pending", (action.id,))]
    action.created_at = utcnow() - dt.timedelta(days=8)
    db.session.commit()
    published.clear()
    assert tasks.sweep_pending() == 0  # too old to retry


@pytest.mark.parametrize("age_seconds, queued_again", [
    (30, False),  # the first task may still be on its way
    (125, True),  # two minutes: a worker died or the broker was down; recovered within the next sweep
    (200, False),  # queued at 120 s; the next try waits until 240 s
    (250, True),
    (60 * 60 + 10, False),  # an hour into a mail outage: tries at 64 min, 128 min ... not every minute
    (120 * 64 + 30, True),
    (3 * 86400, False),  # too old to confirm
])
def test_sweep_queues_unsent_confirmations_on_a_doubling_schedule(journey: Journey, queued: dict,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  age_seconds: int, queued_again: bool) -> None:
    action = pending_action(journey)
    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: published.append((task.name, args)) or True)
    action.created_at = utcnow() - dt.timedelta(seconds=age_seconds)
    db.session.commit()
    assert tasks.sweep_confirmations() == int(queued_again)
    assert published == ([("letters.send_confirmation", (action.id,))] if queued_again else [])
    action.confirmation_sent_at = utcnow()
    db.session.commit()
    published.clear()
    assert tasks.sweep_confirmations() == 0  # sent: never again


def read_outbox(app: Flask) -> list[email.message.EmailMessage]:
    files = sorted(Path(app.config["MAIL"]["outbox"]).glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


@pytest.mark.parametrize("lang, subject, greeting, pending", [
    ("en", "Your letters for “End ICE detainer agreements in Mississippi”", "Hello Ana,",
     "Your letters to your state senator and your state representative will be written and sent"),
    ("es", "Sus cartas de «Pongamos fin a los acuerdos de detención con ICE en Mississippi»", "Hola, Ana:",
     "Sus cartas a su senador o senadora estatal y su representante estatal se escribirán y enviarán"),
])
def test_confirmation_email_in_the_supporters_language(journey: Journey, queued: dict, app: Flask, lang: str,
                                                       subject: str, greeting: str, pending: str) -> None:
    journey.lang = lang
    action = pending_action(journey)
    assert queued["confirmations"] == [action.id]
    assert tasks.send_confirmation(action.id) is True
    [msg] = read_outbox(app)
    assert msg["To"] == EMAIL and msg["Subject"] == subject
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Content-Language"] == lang
    body = msg.get_content()
    assert body.startswith(greeting) and pending in body
    assert "Tyree Jones" in body and "400 High St" not in body
    status_url = re.search(r"http://127\.0\.0\.1:5000(/act/\S+)", body).group(1)
    delete_url = re.search(r"http://127\.0\.0\.1:5000(/privacy/delete/\S+)", body).group(1)
    assert f"lang={lang}" in status_url
    assert journey.client.get(status_url).status_code == 200  # the e-mail's own token opens the page
    assert journey.client.get(delete_url).status_code == 200
    db.session.expire_all()
    assert db.session.get(Action, action.id).email_token_hash not in status_url
    assert tasks.send_confirmation(action.id) is False  # sent once
    assert len(read_outbox(app)) == 1


def test_confirmation_uses_the_public_url(journey: Journey, queued: dict, app: Flask) -> None:
    app.config["PUBLIC_URL"] = "https://act.example.org/"
    journey.complete(JACKSON)
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    assert "https://act.example.org/act/end-ice-detainers-ms/thanks/" in read_outbox(app)[0].get_content()


def test_a_spanish_confirmation_names_each_office_once_in_spanish(journey: Journey, queued: dict,
                                                                 app: Flask) -> None:
    journey.lang = "es"
    journey.complete(GULFPORT)  # Harrison County's sheriff has no name on file: the letter is to the office
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    body = read_outbox(app)[0].get_content()
    listed = [line for line in body.splitlines() if line.startswith("- ")]
    assert "- Sheriff del Condado de Harrison" in listed, listed
    assert not [line for line in listed if "Sheriff of" in line or "County" in line], listed


def test_a_transient_mail_failure_releases_the_claim(journey: Journey, queued: dict, app: Flask,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    journey.complete(JACKSON)
    action_id = db.session.scalar(db.select(Action.id))

    def down(msg: object) -> None:
        raise confirmation.TryLater("smtp 421 try later")

    monkeypatch.setattr(confirmation, "transmit", down)
    with pytest.raises(confirmation.TryLater):
        confirmation.send_confirmation(action_id)
    db.session.rollback()
    assert db.session.get(Action, action_id).confirmation_sent_at is None
    monkeypatch.undo()
    assert confirmation.send_confirmation(action_id) is True


def test_no_confirmation_after_the_supporter_deleted_their_data(journey: Journey, queued: dict, app: Flask) -> None:
    from actionkit.privacy.services import delete_supporter

    journey.complete(JACKSON)
    action = db.session.scalar(db.select(Action))
    delete_supporter(action.supporter)
    db.session.commit()
    assert tasks.send_confirmation(action.id) is False
    assert read_outbox(app) == []


def test_smtp_backend_sends_through_the_delivery_transport(journey: Journey, queued: dict, app: Flask,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from actionkit.delivery.channels import Outcome, SmtpTransport

    sent: list[tuple[str, str]] = []

    def fake_send(self: SmtpTransport, sender: str, recipient: str, data: bytes, ref: str) -> Outcome:
        sent.append((sender, recipient))
        return Outcome.transient("smtp 451 later") if len(sent) == 1 else Outcome.sent(ref)

    monkeypatch.setattr(SmtpTransport, "send", fake_send)
    app.config["MAIL"] = {**app.config["MAIL"], "backend": "smtp", "from_address": "Team <team@example.org>"}
    journey.complete(JACKSON)
    action_id = db.session.scalar(db.select(Action.id))
    with pytest.raises(confirmation.TryLater):
        confirmation.send_confirmation(action_id)
    db.session.rollback()
    assert confirmation.send_confirmation(action_id) is True
    assert sent == [("team@example.org", EMAIL)] * 2


def test_record_action_flushes_without_committing(app: Flask, campaign, directory) -> None:  # type: ignore[no-untyped-def]
    directory.senators[0].email = "senator@example.org"
    signer = services.Signer("Ana", "García", EMAIL, "400 High St", "Jackson", "ms", "39201", None, False, "en")
    plan = services.Plan(accuracy="street", divisions={
        "county": "ocd-division/country:us/state:ms/county:hinds", "state": "ocd-division/country:us/state:ms",
        "cd": "ocd-division/country:us/state:ms/cd:2"},
        pending=["state_senator", "state_representative"], retryable=True,
        warnings=["boundary_disagreement"])
    drafts = services.draft_letters(campaign, plan, first_name="Ana", last_name="García", city="Jackson")
    recorded = services.record_action(campaign, signer, plan, drafts, token_digest=services.token_hash("t1"))
    assert recorded.action.id is not None and recorded.action.pending_types == ["state_senator",
                                                                             "state_representative"]
    held = {l.office_type: l.delivery.status for l in recorded.action.letters}
    assert held["sheriff"] is DeliveryStatus.HELD and held["us_representative"] is DeliveryStatus.HELD
    assert held["us_senator"] is DeliveryStatus.PENDING
    queued = [l.delivery.id for l in recorded.action.letters if l.delivery.destination == "senator@example.org"]
    assert recorded.delivery_ids == queued  # held ones wait for a person, print ones for a batch
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Action.id))) == 0
    with pytest.raises(services.DuplicateAction):
        services.record_action(campaign, signer, plan, drafts, token_digest=services.token_hash("t2"))
        services.record_action(campaign, signer, plan, drafts, token_digest=services.token_hash("t3"))
