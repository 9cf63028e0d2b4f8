"""Calls instead of (or as well as) letters: after matching, one card per target with a phone number, the office
to call, the campaign's script for that office type in the supporter's language, and an outcome the supporter
reports with one tap. The supporter's own phone places the call; nothing about the caller is stored: a report is
(campaign, office, outcome, day, language). Functions flush and never commit.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa

from actionkit.campaigns.models import Campaign
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.letters import rendering
from actionkit.letters.models import CallOutcome, CallReport
from actionkit.letters.services import Plan, Target, _divisions, agreement_for, letter_context, targets
from actionkit.officials.models import DivisionType, Office, OfficeType

log = logging.getLogger(__name__)

CONGRESS = (OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR)


class CallError(ValueError):
    """A report that cannot be counted; `code` picks the message the supporter reads."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


@dataclass
class CallCard:
    """One official to call: the number to dial (None: no number on file), which office it is, the script."""

    target: Target
    phone: str | None
    office: str  # "dc" (Congress's Washington office), "office" (the seat's own number)
    script: str = ""
    error: str | None = None  # "no_script" / "render": the card shows the number without a script

    @property
    def tel(self) -> str | None:
        """The number as a tel: URI (digits and a leading +), or None when it has no digits to dial."""
        if not self.phone:
            return None
        digits = re.sub(r"[^0-9]", "", self.phone.split("x")[0].split("ext")[0])
        if len(digits) == 10:
            return f"tel:+1{digits}"
        if len(digits) == 11 and digits.startswith("1"):
            return f"tel:+{digits}"
        return f"tel:{digits}" if digits else None


def best_number(target: Target) -> tuple[str | None, str]:
    """The number to call and which office it is. The directory keeps one number per seat: for Congress that is
    the Washington office (a district office's number only where the source has no DC number); for others the
    office's own number, else the holder's."""
    phone = target.office.phone or (target.holder.phone if target.holder is not None else None)
    kind = "dc" if target.office.type in CONGRESS and target.office.phone else "office"
    return (phone.strip() if phone and phone.strip() else None), kind


def call_cards(campaign: Campaign, plan: Plan, *, first_name: str, last_name: str, city: str,
               lang: str) -> list[CallCard]:
    """A card per target of the plan (the same targets as the letters), with its script rendered in `lang`."""
    divisions = _divisions(plan.divisions.values())
    county = divisions.get(plan.divisions.get(DivisionType.COUNTY.value, ""))
    agreement = agreement_for(county)
    cards = []
    for target in targets(campaign, plan, divisions):
        phone, kind = best_number(target)
        card = CallCard(target, phone, kind)
        script = campaign.call_script(target.office.type, lang)
        if script is None:
            card.error = "no_script"
        else:
            context = letter_context(campaign, target, first_name=first_name, last_name=last_name, city=city,
                                     county=county, agreement=agreement)
            try:
                card.script = rendering.render_script(script.body, context)
            except rendering.RenderError as exc:
                log.error("campaign %s call script %s failed: %s", campaign.id, script.id, exc.problem.reason)
                card.error = "render"
        cards.append(card)
    return cards


def record_call(campaign: Campaign, office_id: int, outcome: str, lang: str, callable_ids: list[int],
                today: dt.date | None = None) -> CallReport:
    """Count one call to an office the supporter was shown; raises CallError for another office or outcome."""
    try:
        result = CallOutcome(outcome)
    except ValueError as exc:
        raise CallError("outcome") from exc
    if office_id not in callable_ids:
        raise CallError("office")
    report = CallReport(campaign_id=campaign.id, office_id=office_id, outcome=result,
                        day=today or utcnow().date(), lang=lang if lang in ("en", "es") else "en")
    db.session.add(report)
    db.session.flush()
    return report


def calls_by_office(campaign_id: int) -> dict[int, int]:
    """Office id -> calls reported to it for the campaign (all outcomes)."""
    rows = db.session.execute(
        sa.select(CallReport.office_id, sa.func.count()).where(CallReport.campaign_id == campaign_id)
        .group_by(CallReport.office_id)).all()
    return {int(office): int(n) for office, n in rows}


def call_counts(campaign_id: int | None = None) -> list[tuple[int, str, str, int]]:
    """(office id, office type, outcome, calls) for one campaign or all; exact counts, for the stats to protect."""
    query = (sa.select(CallReport.office_id, Office.type, CallReport.outcome, sa.func.count())
             .join(Office, Office.id == CallReport.office_id)
             .group_by(CallReport.office_id, Office.type, CallReport.outcome))
    if campaign_id is not None:
        query = query.where(CallReport.campaign_id == campaign_id)
    return [(int(o), OfficeType(t).value, CallOutcome(r).value, int(n)) for o, t, r, n in db.session.execute(query)]
