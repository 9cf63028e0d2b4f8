"""The consented list and its withdrawal: only consenting supporters are listed, with the words they agreed to;
every e-mail to a consenting supporter carries a one-click withdrawal (link and List-Unsubscribe headers), which
is immediate, audited and erases the phone."""
from __future__ import annotations

import csv
import io
import re

from flask import Flask

from actionkit.extensions import db
from actionkit.letters import consent, tasks
from actionkit.letters.models import Action, Consent, Supporter
from actionkit.privacy import services as privacy
from actionkit.staff.models import AuditEntry, Role
from tests.letters.conftest import JACKSON, Journey
from tests.letters.test_tasks import read_outbox
from tests.staff.helpers import login_as


def _sign(journey: Journey, email: str, **extra: str) -> Supporter:
    journey.complete(JACKSON, email=email, **extra)
    return db.session.scalar(db.select(Supporter).where(Supporter.email_hash == consent_hash(email)))


def consent_hash(email: str) -> str:
    from actionkit.privacy.crypto import email_hash

    return email_hash(email)


def test_admin_export_lists_only_consenting_supporters(journey: Journey, queued: dict, client) -> None:
    yes = _sign(journey, "yes@example.org", opt_in="y")
    _sign(journey, "no@example.org")
    gone = _sign(journey, "gone@example.org", opt_in="y")
    privacy.delete_supporter(gone)
    db.session.commit()
    assert gone.phone is None and gone.opt_in is False
    admin = login_as(journey.client, Role.ADMIN)
    resp = journey.client.get("/staff/toolkit/consented.csv")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["yes@example.org"]
    row = rows[0]
    assert (row["first_name"], row["phone"], row["county"], row["language"]) == (
        "Ana", "601-555-0142", "Hinds County", "en")
    assert row["wording"] == "Yes, the organizers may contact me again about this campaign and related work."
    assert row["wording_version"] and row["consented_at"].startswith("20")
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "export.consented"))
    assert entry.actor_id == admin.id and entry.details == {"rows": 1}
    assert yes.id == int(row["supporter_id"])


def test_editors_and_viewers_cannot_export(journey: Journey, queued: dict) -> None:
    _sign(journey, "yes@example.org", opt_in="y")
    login_as(journey.client, Role.EDITOR)
    assert journey.client.get("/staff/toolkit/consented.csv").status_code == 403
    page = journey.client.get("/staff/toolkit/")
    assert page.status_code == 200 and 'id="consented-count">1<' in page.get_data(as_text=True)
    assert "export-consented" not in page.get_data(as_text=True)


def test_confirmation_email_carries_a_one_click_withdrawal(journey: Journey, queued: dict, app: Flask) -> None:
    supporter = _sign(journey, "yes@example.org", opt_in="y")
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    [msg] = read_outbox(app)
    link = re.search(r"http://127\.0\.0\.1:5000(/consent/withdraw/\S+)", msg.get_content()).group(1)
    assert msg["List-Unsubscribe"] == f"<http://127.0.0.1:5000{link}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = journey.client.get(link)
    assert page.status_code == 200 and 'id="withdraw-button"' in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Supporter, supporter.id).opt_in is True  # a GET (a mail scanner) changes nothing

    # The mail client's one-click POST (RFC 8058): no session, no CSRF token, no Origin.
    path = link.split("?")[0]
    resp = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and 'id="withdraw-done"' in resp.get_data(as_text=True)
    db.session.expire_all()
    fresh = db.session.get(Supporter, supporter.id)
    assert fresh.opt_in is False and fresh.phone is None
    assert db.session.scalar(db.select(Consent.withdrawn_at)) is not None
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "supporter.consent_withdrawn"))
    assert entry.target_id == str(supporter.id) and entry.details == {"via": "one-click"}
    assert consent.count_consented() == 0
    assert app.test_client().post(path).status_code == 200  # a second click: still fine, nothing more to do
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "supporter.consent_withdrawn")) == 1


def test_no_withdrawal_link_without_consent(journey: Journey, queued: dict, app: Flask) -> None:
    _sign(journey, "no@example.org")
    tasks.send_confirmation(db.session.scalar(db.select(Action.id)))
    [msg] = read_outbox(app)
    assert "List-Unsubscribe" not in msg and "/consent/withdraw/" not in msg.get_content()


def test_forged_withdrawal_tokens_are_refused(journey: Journey, queued: dict, app: Flask) -> None:
    supporter = _sign(journey, "yes@example.org", opt_in="y")
    other = consent.withdraw_token(supporter.id + 1).split(".")[1]
    for token in (f"{supporter.id}.{other}", f"{supporter.id}", "abc.def", f"{supporter.id}.{'0' * 32}"):
        assert app.test_client().post(f"/consent/withdraw/{token}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Supporter, supporter.id).opt_in is True


def test_consenting_again_after_withdrawal_lists_the_new_consent(journey: Journey, queued: dict) -> None:
    supporter = _sign(journey, "yes@example.org", opt_in="y")
    consent.withdraw(supporter, via="test")
    db.session.commit()
    assert consent.count_consented() == 0
    again = Consent(supporter=supporter, wording=consent_wording_of(supporter), campaign_id=journey.campaign.id)
    db.session.add(again)
    supporter.opt_in = True
    db.session.commit()
    [listed] = list(consent.consented())
    assert listed.consented_at == again.created_at


def consent_wording_of(supporter: Supporter):  # type: ignore[no-untyped-def]
    return db.session.scalar(db.select(Consent).where(Consent.supporter_id == supporter.id)).wording
