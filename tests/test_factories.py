from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from tests.factories import make_action, make_office


def test_make_action_builds_letters_and_pending_deliveries(app):
    offices = [make_office(), make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie G. Thompson")]
    action = make_action(offices=offices)
    db.session.commit()
    assert [l.addressed_to for l in action.letters] == ["Tyree Jones", "Bennie G. Thompson"]
    statuses = db.session.scalars(db.select(Delivery.status)).all()
    assert statuses == [DeliveryStatus.PENDING, DeliveryStatus.PENDING]
