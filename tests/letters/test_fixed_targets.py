"""Fixed targets: every supporter writes to them whatever the address, grouped "In Washington" on the letters
page, one letter each per supporter; a campaign cannot go live while one has no way to receive letters."""
from __future__ import annotations

import pytest

from actionkit.campaigns import editor
from actionkit.campaigns.models import CampaignStatus
from actionkit.delivery.models import Delivery
from actionkit.extensions import db
from actionkit.letters.models import Letter
from actionkit.officials import admin
from actionkit.officials.models import OfficeType
from tests.factories import make_campaign
from tests.letters.conftest import GULFPORT, JACKSON, Journey

TYPES = [OfficeType.SHERIFF, OfficeType.US_REPRESENTATIVE, OfficeType.FIXED_TARGET]


@pytest.fixture
def fixed(app, directory):  # type: ignore[no-untyped-def]
    dhs = admin.create_fixed_target({"title": "Secretary of Homeland Security", "name": "Pat Example",
                                     "last_name": "Example", "email": "secretary@dhs.example.org"})
    field_office = admin.create_fixed_target({"title": "ICE New Orleans Field Office",
                                              "postal_address": "1250 Poydras St, New Orleans, LA 70113"})
    campaign = make_campaign(slug="federal", target_types=TYPES)
    db.session.commit()
    return campaign, dhs, field_office


def test_every_supporter_writes_to_the_fixed_targets(client, geocoded, fixed, queued):  # type: ignore[no-untyped-def]
    campaign, dhs, field_office = fixed
    for n, address in enumerate((JACKSON, GULFPORT)):
        journey = Journey(client, campaign, fake=geocoded)
        page = journey.find(address, email=f"supporter{n}@example.org")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, html
        local, washington = html.index("Your local and state officials"), html.index("In Washington")
        assert local < html.index("Sheriff of") < washington < html.index("Secretary of Homeland Security")
        assert "ICE New Orleans Field Office" in html
        assert "Dear Pat Example," in html and "Dear ICE New Orleans Field Office," in html
        journey.sign(page)
    letters = db.session.scalars(db.select(Letter).where(Letter.office_type == OfficeType.FIXED_TARGET.value)).all()
    assert sorted(lt.office_id for lt in letters) == sorted([dhs.id, dhs.id, field_office.id, field_office.id])
    assert db.session.scalar(db.select(db.func.count(Delivery.id)).join(Letter).where(
        Letter.office_id == dhs.id)) == 2


def test_spanish_page_groups_the_targets(client, geocoded, fixed, queued):  # type: ignore[no-untyped-def]
    campaign, _, _ = fixed
    html = Journey(client, campaign, lang="es", fake=geocoded).find(JACKSON).get_data(as_text=True)
    assert "Sus funcionarios locales y estatales" in html and "En Washington" in html


def test_a_fixed_target_with_no_channel_blocks_publishing(app, directory):  # type: ignore[no-untyped-def]
    campaign = make_campaign(slug="federal-draft", target_types=TYPES, status=CampaignStatus.DRAFT)
    assert [p.message for p in editor.publish_problems(campaign) if p.field == "target_types"] == [
        "There are no fixed targets yet: create them under Officials → Fixed targets, or untick fixed targets."]
    office = admin.create_fixed_target({"title": "Director of ICE", "email": "director@ice.example.org"})
    assert not [p for p in editor.publish_problems(campaign) if p.field == "target_types"]
    office.email = None  # e.g. an admin removed the only channel later
    db.session.flush()
    assert [p.message for p in editor.publish_problems(campaign) if p.field == "target_types"] == [
        "Director of ICE has no way to receive letters (no email, postal address, fax or web form link); add one "
        "in the officials admin before publishing."]


def test_fixed_targets_need_no_address_match(client, geocoded, fixed, queued):  # type: ignore[no-untyped-def]
    """With the geocoder down, local officials wait, but the fixed targets' letters are written at once."""
    campaign, dhs, _ = fixed
    geocoded.mode = "500"
    page = Journey(client, campaign, fake=geocoded).find({"street": "12 Elm St", "city": "Nowhere", "zip": "39999"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert f'name="include" value="{dhs.id}"' in html and "Secretary of Homeland Security" in html
