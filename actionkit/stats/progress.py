"""The public progress page's figures: per county the sheriff's 287(g) status and supporters, per targeted
office the letters and the latest recorded response. Read from the rollups (month rows cover all time) and the
directory, never from the actions table; small cells suppressed with the staff pages' own rules (queries.Cell,
queries.protect), so nothing here can undo what they hide."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

import sqlalchemy as sa

from actionkit.campaigns.models import Campaign
from actionkit.extensions import db
from actionkit.letters import calls as call_reports
from actionkit.officials import responses
from actionkit.officials.models import (
    Agreement287g, AgreementStatus, Division, Office, OfficeType, Official, OfficialResponse,
)
from actionkit.stats.models import ALL_COUNTIES, MONTH, NO_COUNTY, ActionRollup, OfficeRollup, RollupState
from actionkit.stats.queries import Cell, CountyShape, Line, county_shapes, protect

PARTICIPATING = "participating"
PENDING = "pending"
NONE = "none"
STATUS_ORDER = {PARTICIPATING: 0, PENDING: 1, NONE: 2}


@dataclass
class CountyRow:
    division_id: int
    name: str
    geoid: Optional[str]
    geometry: Optional[str]
    status: str  # participating / pending / none: the sheriff's current 287(g) agreements
    supporters: Cell


@dataclass
class OfficeRow:
    office_id: int
    title: str
    office_type: str
    holder: Optional[str]
    county_id: Optional[int]
    letters: Cell
    response: Optional[OfficialResponse] = None
    calls: Optional[Cell] = None  # None while the campaign has no call records (see calls_by_office)


@dataclass
class Progress:
    campaign: Campaign
    total: Cell
    goal: Optional[int]
    counties: list[CountyRow]
    offices: list[OfficeRow]
    refreshed_at: Optional[dt.datetime]
    statuses: dict[str, int] = field(default_factory=dict)  # counties per 287(g) status

    @property
    def goal_percent(self) -> Optional[float]:
        if not self.goal or self.total.concealed:
            return None
        return min(100.0, 100 * self.total.value / self.goal)


def county_statuses(state: str) -> dict[int, str]:
    """Division id -> 287(g) status of the county's sheriff (participating wins over pending)."""
    rows = db.session.execute(
        sa.select(Office.division_id, Agreement287g.status)
        .join(Agreement287g, Agreement287g.office_id == Office.id)
        .join(Division, Division.id == Office.division_id)
        .where(Office.type == OfficeType.SHERIFF, Division.state == state, Agreement287g.ended_on.is_(None)))
    out: dict[int, str] = {}
    for division_id, status in rows:
        value = PARTICIPATING if status is AgreementStatus.PARTICIPATING else PENDING
        if out.get(division_id) != PARTICIPATING:
            out[division_id] = value
    return out


def _exact(n: int) -> Cell:
    """Within one campaign an action is one supporter, and a letter to an office is one supporter."""
    return Cell(n, n, n)


def load(campaign: Campaign) -> Progress:
    """Every figure of the campaign's progress page, in a handful of indexed reads of the rollups."""
    a, o = ActionRollup, OfficeRollup
    by_county = dict(db.session.execute(
        sa.select(a.county_key, sa.func.sum(a.actions))
        .where(a.campaign_id == campaign.id, a.span == MONTH, a.county_key != ALL_COUNTIES)
        .group_by(a.county_key)).all())
    total_n = int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(a.actions), 0))
        .where(a.campaign_id == campaign.id, a.span == MONTH, a.county_key == ALL_COUNTIES)) or 0)
    by_office = dict(db.session.execute(
        sa.select(o.office_id, sa.func.sum(o.letters))
        .where(o.campaign_id == campaign.id, o.span == MONTH, o.county_key == ALL_COUNTIES)
        .group_by(o.office_id)).all())

    total = _exact(total_n)
    shapes: list[CountyShape] = county_shapes(campaign.state)
    statuses = county_statuses(campaign.state)
    counties = [CountyRow(s.division_id, s.name, s.geoid, s.geometry, statuses.get(s.division_id, NONE),
                          _exact(int(by_county.get(s.division_id, 0)))) for s in shapes]
    known = {c.division_id for c in counties}
    # Supporters outside the map's counties (another state, or no county) are part of the total: a cell of
    # their own, not shown, so the counties cannot be subtracted from the total to reveal them.
    outside = _exact(sum(int(n) for k, n in by_county.items() if int(k) not in known or int(k) == NO_COUNTY))

    offices = _offices(campaign, {int(k): int(v) for k, v in by_office.items()})
    county_cells = {c.division_id: c.supporters for c in counties}
    lines: list[Line] = [([*county_cells.values(), outside], total)]
    # A sheriff's letters are the same people as the county's supporters who wrote to them: tie the two.
    ties = [(county_cells[r.county_id], r.letters) for r in offices
            if r.office_type == OfficeType.SHERIFF.value and r.county_id in county_cells]
    protect(lines, ties)
    count: dict[str, int] = defaultdict(int)
    for c in counties:
        count[c.status] += 1
    state_row = db.session.get(RollupState, 1)
    return Progress(campaign=campaign, total=total, goal=campaign.goal, counties=counties, offices=offices,
                    refreshed_at=state_row.refreshed_at if state_row else None, statuses=dict(count))


def calls_by_office(campaign: Campaign) -> dict[int, int]:
    """Office id -> calls supporters reported to it for this campaign (every outcome); {} while there are none
    (the page then shows no calls column)."""
    return call_reports.calls_by_office(campaign.id)


def _offices(campaign: Campaign, letters: dict[int, int]) -> list[OfficeRow]:
    """Offices of the campaign's target types that received its letters or have a recorded response; for a
    campaign to sheriffs, every sheriff of its state (the public record covers those not written to yet)."""
    types = [OfficeType(t) for t in (campaign.target_types or []) if t in {x.value for x in OfficeType}]
    latest = responses.latest_for()
    calls = calls_by_office(campaign)
    wanted = set(letters) | set(latest) | set(calls)  # a calls-only campaign's offices have calls, no letters
    clauses: list[Any] = [Office.id.in_(wanted)] if wanted else []
    if OfficeType.SHERIFF in types:
        clauses.append(sa.and_(Office.type == OfficeType.SHERIFF, Division.state == campaign.state))
    if not clauses or not types:
        return []
    rows = db.session.execute(
        sa.select(Office.id, Office.title, Office.type, Division.id.label("division_id"))
        .join(Division, Division.id == Office.division_id)
        .where(sa.or_(*clauses), Office.type.in_(types),
               # fixed targets (a federal agency) sit on the country, not the campaign's state
               sa.or_(Division.state == campaign.state, Office.type == OfficeType.FIXED_TARGET))).all()
    ids = [r.id for r in rows]
    holders = dict(db.session.execute(
        sa.select(Official.office_id, Official.name).where(Official.office_id.in_(ids), Official.left_on.is_(None))
        .order_by(Official.id)).all()) if ids else {}
    out = [OfficeRow(r.id, r.title, r.type.value, holders.get(r.id),
                     r.division_id if r.type is OfficeType.SHERIFF else None,
                     _exact(letters.get(r.id, 0)), latest.get(r.id),
                     _exact(calls.get(r.id, 0)) if calls else None) for r in rows]
    order = {t.value: i for i, t in enumerate(OfficeType)}
    return sorted(out, key=lambda r: (order.get(r.office_type, 99), r.title))
