"""make_*() helpers that build rows with sensible defaults; each flushes, none commits."""
from __future__ import annotations

import itertools
import secrets
from typing import Any

from actionkit.campaigns.models import Campaign, CampaignStatus, CampaignText, LetterTemplate, Personalisation
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, MatchAccuracy, Supporter
from actionkit.officials import services as officials
from actionkit.officials.models import OFFICE_DIVISION, DivisionType, Office, OfficeType
from actionkit.privacy.crypto import crypto, email_hash

_seq = itertools.count(1)


def make_office(office_type: OfficeType = OfficeType.SHERIFF, *, county: str = "Hinds", number: int = 1,
                holder: str | None = "Tyree Jones", email: str | None = "sheriff@example.org",
                state: str = "ms", seat: str = "", **contact: Any) -> Office:
    """An office (and its division) with an optional holder, through the same service the importers use."""
    if office_type is OfficeType.SHERIFF:
        division = officials.DivisionRecord.for_county(state, county, None)
        title = f"Sheriff of {division.name}"
    elif OFFICE_DIVISION[office_type] is DivisionType.STATE and office_type is not OfficeType.US_SENATOR:
        division = officials.DivisionRecord.for_state(state)
        title = f"{office_type.value.replace('_', ' ').title()} of {officials.STATE_NAMES[state]}"
    elif office_type is OfficeType.US_SENATOR:
        division = officials.DivisionRecord.for_state(state)
        seat = seat or "1"
        title = f"U.S. Senator for {officials.STATE_NAMES[state]} (Class {seat})"
    else:
        kind = {OfficeType.STATE_SENATOR: DivisionType.SLDU, OfficeType.STATE_REPRESENTATIVE: DivisionType.SLDL,
                OfficeType.US_REPRESENTATIVE: DivisionType.CD}[office_type]
        division = officials.DivisionRecord.for_district(state, kind, number)
        title = f"{office_type.value.replace('_', ' ').title()}, {division.name}"
    rec = officials.OfficeRecord(
        type=office_type, division=division, title=title, seat=seat,
        contact={"email": email, **contact},
        holder=officials.HolderRecord(person_key=f"test:{holder}", name=holder,
                                      first_name=holder.split()[0], last_name=holder.split()[-1])
        if holder else None,
    )
    return officials.apply_office(rec, "test", None, officials.SyncReport("test"))


def make_campaign(*, slug: str | None = None, status: CampaignStatus = CampaignStatus.LIVE,
                  target_types: list[OfficeType] | None = None,
                  personalisation: Personalisation = Personalisation.PARAGRAPH, state: str = "ms",
                  title: str = "End ICE detainer agreements", goal: int | None = 1000) -> Campaign:
    types = target_types or [OfficeType.SHERIFF]
    campaign = Campaign(slug=slug or f"campaign-{next(_seq)}", status=status, state=state,
                        personalisation=personalisation, target_types=[t.value for t in types], goal=goal)
    campaign.texts = [
        CampaignText(lang="en", title=title, summary="Ask your officials to end 287(g).", body="Why it matters."),
        CampaignText(lang="es", title="Pongan fin a los acuerdos con ICE", summary="Pida a sus funcionarios.",
                     body="Por qué importa."),
    ]
    campaign.templates = [
        LetterTemplate(office_type=t.value, lang="en", subject="Please end 287(g) cooperation",
                       body="Dear {{ official.salutation }},\n\nAs a resident of {{ supporter.county }}, "
                            "I ask you to end cooperation with ICE.\n\nSincerely,\n{{ supporter.first_name }} "
                            "{{ supporter.last_name }}")
        for t in types
    ]
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_supporter(*, email: str | None = None, first_name: str = "Ana", last_name: str = "García",
                   language: str = "en") -> Supporter:
    email = email or f"supporter{next(_seq)}@example.org"
    supporter = Supporter(email_hash=email_hash(email), email=email, first_name=first_name, last_name=last_name,
                          language=language)
    db.session.add(supporter)
    db.session.flush()
    return supporter


def make_action(campaign: Campaign | None = None, supporter: Supporter | None = None, *,
                offices: list[Office] | None = None, channel: Channel = Channel.EMAIL,
                street: str = "400 High St", city: str = "Jackson", zip: str = "39201",
                phone: str | None = "601-555-0100") -> Action:
    """An action with one letter and one pending delivery per office; returns the action."""
    campaign = campaign or make_campaign()
    supporter = supporter or make_supporter()
    offices = offices if offices is not None else [make_office()]
    action = Action(campaign=campaign, supporter=supporter, token_hash=crypto().lookup_hash(
        secrets.token_urlsafe(16), "action-token"), language=supporter.language, street=street, city=city,
        zip=zip, phone=phone, state=campaign.state, accuracy=MatchAccuracy.STREET, division_ids=[])
    db.session.add(action)
    db.session.flush()
    for office in offices:
        holder = office.holder
        letter = Letter(action=action, office=office, official=holder, office_type=office.type.value,
                        addressed_to=holder.name if holder else office.title, office_title=office.title,
                        subject="Please end 287(g) cooperation",
                        body=f"Dear {holder.name if holder else office.title},\n\nPlease end it.\n\nAna García")
        db.session.add(letter)
        db.session.flush()
        db.session.add(Delivery(letter=letter, channel=channel, destination=office.email,
                                status=DeliveryStatus.PENDING))
    db.session.flush()
    return action
