"""The supporter's status of each letter says how it travels and where it is, in English and Spanish; a letter
that waits for hand delivery is never shown as sent."""
from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from actionkit.delivery.models import Channel, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters import labels
from actionkit.letters.services import delivery_status, letter_statuses
from actionkit.officials.models import OfficeType
from tests.factories import make_action, make_campaign, make_office


def test_each_channel_has_its_own_wording_in_both_languages(app: Flask) -> None:
    rep = make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None)
    senator = make_office(OfficeType.US_SENATOR, seat="1", holder="Roger Wicker", email=None)
    sheriff = make_office(OfficeType.SHERIFF, county="Madison", holder=None, email=None)
    campaign = make_campaign(target_types=[OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR, OfficeType.SHERIFF])
    action = make_action(campaign, offices=[rep, senator, sheriff])
    to_rep, to_senator, to_sheriff = (letter.delivery for letter in action.letters)
    to_rep.channel = to_senator.channel = Channel.CWC
    to_sheriff.channel = Channel.PRINT
    db.session.commit()
    assert [s.status for s in letter_statuses(action)] == ["cwc_queued_house", "cwc_queued_senate", "print_queued"]

    to_rep.status = to_senator.status = DeliveryStatus.SENT
    db.session.commit()
    assert [delivery_status(d) for d in (to_rep, to_senator, to_sheriff)] == [
        "cwc_sent_house", "cwc_sent_senate", "print_queued"]
    with app.test_request_context(), force_locale("en"):
        assert labels.status_label("cwc_sent_house") == "Sent through the House's Communicating with Congress system"
        assert labels.status_label("print_queued") == "Waiting to be printed for hand delivery"
    with app.test_request_context(), force_locale("es"):
        assert labels.status_label("cwc_sent_senate") == "Enviada por el sistema «Communicating with Congress» del Senado"
        assert labels.status_label("sent") == "Enviada por correo electrónico"
    assert all(s.final for s in letter_statuses(action)[:2]) and not letter_statuses(action)[2].final
