"""Campaign look-ups for the public pages and the sample campaign the demo loads."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from werkzeug.exceptions import NotFound

from actionkit.campaigns import services
from actionkit.campaigns.services import DEMO_TEMPLATES
from actionkit.campaigns.models import Campaign, CampaignStatus, Personalisation
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.letters.rendering import validate_template
from actionkit.officials.models import OfficeType
from tests.factories import make_campaign


def test_live_or_404(app: Flask) -> None:
    campaign = make_campaign(slug="live")
    assert services.live_or_404("live") is campaign
    for status in (CampaignStatus.DRAFT, CampaignStatus.CLOSED):
        campaign.status = status
        with pytest.raises(NotFound):
            services.live_or_404("live")
    campaign.status = CampaignStatus.LIVE
    campaign.starts_at = utcnow() + dt.timedelta(days=1)
    with pytest.raises(NotFound):
        services.live_or_404("live")
    campaign.starts_at, campaign.ends_at = None, utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(NotFound):
        services.live_or_404("live")
    campaign.ends_at = utcnow() + dt.timedelta(days=1)
    db.session.commit()
    assert services.live_or_404("live").slug == "live"
    with pytest.raises(NotFound):
        services.live_or_404("missing")


def test_demo_campaign(app: Flask) -> None:
    campaign, created = services.create_demo_campaign()
    db.session.commit()
    assert created and campaign.status is CampaignStatus.LIVE and campaign.state == "ms"
    assert campaign.text("en").title == "End ICE detainer agreements in Mississippi"
    assert campaign.text("es").title.startswith("Pongamos fin")
    assert campaign.office_types == list(DEMO_TEMPLATES) and campaign.personalisation is Personalisation.PARAGRAPH
    assert campaign.office_types == [OfficeType.SHERIFF, OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE,
                                     OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR]
    assert sorted((t.office_type, t.lang) for t in campaign.templates) == sorted(
        (t.value, lang) for t in DEMO_TEMPLATES for lang in ("en", "es"))  # a Spanish text of every letter to read
    assert all(validate_template(t.subject, t.body) == [] for t in campaign.templates)
    assert "{% if agreement_287g.active %}" in campaign.template(OfficeType.SHERIFF, "es").body
    campaign.personalisation = Personalisation.LOCKED
    db.session.commit()
    again, created = services.create_demo_campaign()
    assert not created and again.id == campaign.id and again.personalisation is Personalisation.LOCKED
    assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1


def test_demo_cli(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["campaigns", "demo"])
    assert result.exit_code == 0, result.output
    assert "sample campaign created: /act/end-ice-detainers-ms" in result.output
    assert "already there" in runner.invoke(args=["campaigns", "demo"]).output
