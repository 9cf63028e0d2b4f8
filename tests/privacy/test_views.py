"""'Delete my data': the e-mailed link, its confirmation page and POST button; the sign redirect's token never
deletes."""
from __future__ import annotations

import re

from flask import Flask

from actionkit.delivery.models import DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.privacy.services import CANCEL_REASON
from tests.letters.conftest import EMAIL, GULFPORT, JACKSON, Journey, emailed_link, hidden


def signed(journey: Journey) -> str:
    """Sign, and return the token of the status link the confirmation e-mail carries."""
    journey.complete(JACKSON)
    return re.search(r"/thanks/([^?]+)", emailed_link()).group(1)


def test_delete_my_data(journey: Journey, queued: dict) -> None:
    token = signed(journey)
    action = db.session.scalar(db.select(Action))
    sent, held = action.letters[0], action.letters[1]
    sent.delivery.status = DeliveryStatus.SENT
    held.delivery.status = DeliveryStatus.HELD
    action.personal_paragraph, action.pending_types = "My cousin was held.", ["state_senator"]
    db.session.commit()
    sent_body = sent.body

    page = journey.client.get(f"/privacy/delete/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="delete-data"' in html and 'method="post"' in html
    assert "Letters that have not been delivered yet will not be sent" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert db.session.get(Supporter, action.supporter_id).email == EMAIL  # a GET changes nothing

    done = journey.client.post(f"/privacy/delete/{token}", data={"lang": "en"}, headers=journey.headers)
    assert done.status_code == 200 and "Your data has been deleted" in done.get_data(as_text=True)
    db.session.expire_all()
    supporter = db.session.get(Supporter, action.supporter_id)
    assert (supporter.email, supporter.first_name, supporter.last_name) == (None, None, None)
    assert supporter.deleted_at is not None and supporter.email_hash.startswith("deleted-")
    action = db.session.get(Action, action.id)
    assert (action.street, action.city, action.zip, action.phone) == (None, None, None, None)
    assert (action.personal_paragraph, action.pending_types) == (None, [])
    assert action.address_purged_at is not None and action.county.name == "Hinds County"  # stats keep the county
    letters = {l.id: l for l in db.session.scalars(db.select(Letter))}
    # Letters keep only what stats need: office, date, status, channel; the text of every one is erased.
    assert sent_body and all(letter.body == "" and letter.subject == "" for letter in letters.values())
    assert letters[sent.id].delivery.status is DeliveryStatus.SENT
    for letter in letters.values():
        if letter.id != sent.id:
            assert letter.delivery.status is DeliveryStatus.CANCELLED
            assert letter.delivery.last_error == CANCEL_REASON
    thanks = journey.client.get(f"{journey.base}/thanks/{token}").get_data(as_text=True)
    assert "Your data has been deleted" in thanks
    assert "Sheriff" not in thanks and "District" not in thanks and "status-item" not in thanks  # nothing listed
    status = journey.client.get(f"{journey.base}/thanks/{token}/status").get_json()
    assert status["deleted"] is True and status["letters"] == [] and status["final"] is True
    again = journey.client.get(f"/privacy/delete/{token}").get_data(as_text=True)
    assert "There is nothing more to delete." in again


def test_after_deletion_the_same_email_can_sign_afresh(journey: Journey, queued: dict) -> None:
    token = signed(journey)
    journey.client.post(f"/privacy/delete/{token}", headers=journey.headers)
    assert journey.complete(GULFPORT).status_code == 303
    assert db.session.scalar(db.select(db.func.count(Supporter.id))) == 2


def test_delete_page_in_spanish_and_refusals(journey: Journey, queued: dict, app: Flask) -> None:
    token = signed(journey)
    html = journey.client.get(f"/privacy/delete/{token}?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in html and "Borrar mis datos" in html
    assert journey.client.get("/privacy/delete/not-a-token").status_code == 404
    refused = journey.client.post(f"/privacy/delete/{token}", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    app.config["WTF_CSRF_ENABLED"] = True
    assert journey.client.post(f"/privacy/delete/{token}", headers=journey.headers).status_code == 400
    page = journey.client.get(f"/privacy/delete/{token}").get_data(as_text=True)
    ok = journey.client.post(f"/privacy/delete/{token}", data={"csrf_token": hidden(page, "csrf_token")},
                             headers=journey.headers)
    assert ok.status_code == 200 and "Your data has been deleted" in ok.get_data(as_text=True)
    assert db.session.scalar(db.select(Supporter.email)) is None


def test_the_sign_redirects_token_cannot_delete_but_the_emailed_link_can(journey: Journey, queued: dict) -> None:
    resp = journey.complete(JACKSON)
    token = re.search(r"/thanks/([^?]+)", resp.headers["Location"]).group(1)
    action = db.session.scalar(db.select(Action))
    # Even a minute after signing: the page token would otherwise tell a first signature from a repeat.
    page = journey.client.get(f"/privacy/delete/{token}")
    assert page.status_code == 403 and "Please use the link in your email" in page.get_data(as_text=True)
    assert 'id="delete-data"' not in page.get_data(as_text=True)
    refused = journey.client.post(f"/privacy/delete/{token}", data={"lang": "en"}, headers=journey.headers)
    assert refused.status_code == 403
    assert db.session.get(Supporter, action.supporter_id).email == EMAIL  # nothing was deleted
    spanish = journey.client.get(f"/privacy/delete/{token}?lang=es").get_data(as_text=True)
    assert "Use el enlace de su correo electrónico" in spanish

    emailed = re.search(r"/thanks/([^?]+)", emailed_link(action.id)).group(1)
    assert 'id="delete-data"' in journey.client.get(f"/privacy/delete/{emailed}").get_data(as_text=True)
    done = journey.client.post(f"/privacy/delete/{emailed}", data={"lang": "en"}, headers=journey.headers)
    assert done.status_code == 200 and "Your data has been deleted" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Supporter, action.supporter_id).deleted_at is not None
    assert "There is nothing more to delete." in journey.client.get(f"/privacy/delete/{emailed}").get_data(
        as_text=True)
    # The page token still says only what it said before (nothing that a repeat's token would not say).
    assert journey.client.get(f"/privacy/delete/{token}").status_code == 403
    receipt = journey.client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Your signature has reached us" in receipt and "deleted" not in receipt
