"""Reach: `flask delivery reach` and the staff page say, per office type, which channel reaches each office and
list the offices none reaches; publishing a campaign with unreachable targets asks for confirmation."""
from __future__ import annotations

import json

from flask import Flask

from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign, CampaignStatus
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from actionkit.staff.models import Role
from tests.factories import make_campaign, make_office
from tests.officials.conftest import fake_census, ms_app, ms_database  # noqa: F401 (fixtures)
from tests.staff.helpers import login_as

CWC = {"house_url": "http://127.0.0.1:9", "api_key": "k", "delivery_agent": "a", "delivery_agent_ack_email": "a@x.org",
       "delivery_agent_contact_name": "n", "delivery_agent_contact_email": "n@x.org",
       "delivery_agent_contact_phone": "601-555-0100"}


def test_reach_json_reports_every_office_of_the_demo_campaign(ms_app: Flask) -> None:
    ms_app.config["CWC"].update(CWC)
    campaign, _ = campaigns.create_demo_campaign()
    db.session.commit()
    result = ms_app.test_cli_runner().invoke(args=["delivery", "reach", "--campaign", campaign.slug, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    offices = report["offices"]
    by_type = report["types"]
    assert set(by_type) == set(campaign.target_types)
    assert sum(row["offices"] for row in by_type.values()) == len(offices)
    if "sheriff" in by_type:
        assert by_type["sheriff"]["offices"] == 82
    if "us_representative" in by_type:  # every House seat through CWC (HMS01..HMS04)
        reps = [o for o in offices if o["type"] == "us_representative"]
        assert {o["channel"] for o in reps} == {"cwc"} and all(o["reachable"] for o in reps)
    for office in offices:
        assert office["reachable"] == (office["channel"] != "print")
        if not office["reachable"]:
            assert office["missing"], office  # the to-do list says what is missing
    sheriffs = [o for o in offices if o["type"] == "sheriff"]
    assert all(o["confidence"] in ("high", "medium", "low") for o in sheriffs)


def test_reach_text_lists_the_unreachable_offices(app: Flask) -> None:
    make_office(OfficeType.SHERIFF, county="Hinds", email="sheriff@example.org")
    make_office(OfficeType.SHERIFF, county="Madison", holder=None, email=None)
    make_office(OfficeType.US_REPRESENTATIVE, number=2, holder="Bennie Thompson", email=None)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["delivery", "reach"])
    assert result.exit_code == 0, result.output
    assert "sheriff: 2 offices, 1 reachable, 1 only by hand (email 1, print 1)" in result.output
    assert ("Sheriff of Madison County: email: the office has no email address; fax: no fax provider is configured "
            "(ACTIONKIT_FAX__url); postal: Lob is not configured (ACTIONKIT_LOB__api_key); no holder's name"
            in result.output)
    assert "cwc: House CWC is not configured" in result.output
    assert result.output.rstrip().endswith("3 offices: 1 reachable, 2 unreachable")
    app.config["CWC"].update(CWC)
    result = app.test_cli_runner().invoke(args=["delivery", "reach"])
    assert result.output.rstrip().endswith("3 offices: 2 reachable, 1 unreachable")
    missing = app.test_cli_runner().invoke(args=["delivery", "reach", "--campaign", "nope"])
    assert missing.exit_code != 0 and "no campaign with the slug 'nope'" in missing.output


def test_staff_reach_page(app: Flask) -> None:
    make_office(OfficeType.SHERIFF, county="Madison", holder=None, email=None)
    db.session.commit()
    client = app.test_client()
    login_as(client, Role.EDITOR)
    page = client.get("/staff/deliveries/reach").get_data(as_text=True)
    assert "Sheriff of Madison County" in page and "the office has no email address" in page


def test_publishing_with_unreachable_targets_asks_for_confirmation(app: Flask) -> None:
    make_office(OfficeType.SHERIFF, county="Madison", holder=None, email=None)
    campaign = make_campaign(status=CampaignStatus.DRAFT, target_types=[OfficeType.SHERIFF])
    db.session.commit()
    client = app.test_client()
    login_as(client, Role.EDITOR)
    page = client.post(f"/staff/campaigns/{campaign.id}/publish").get_data(as_text=True)
    assert "Sheriff of Madison County" in page and "Publish anyway" in page
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status is CampaignStatus.DRAFT
    response = client.post(f"/staff/campaigns/{campaign.id}/publish", data={"confirm_unreachable": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status is CampaignStatus.LIVE
