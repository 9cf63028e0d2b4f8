"""Read-only participation stats: a handful of GROUP BY queries over the rollups, small cells suppressed.

Every figure is a Cell that knows how many distinct supporters it counts, or bounds on that number when the
rollups cannot say exactly: within one campaign an action is one supporter and a letter to an office is one
supporter, so those are exact; n letters of a delivery cell come from between n / max_letters and n people,
and a cell summed over several campaigns may count one person once per campaign. Cells whose bounds straddle
the threshold are settled by one exact COUNT(DISTINCT) on the facts, restricted to those cells.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Sequence

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from actionkit.campaigns.models import Campaign
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, CallOutcome, CallReport, Letter, Submission, SubmissionStatus
from actionkit.officials.models import Boundary, Division, DivisionType, Office, OfficeType, Official
from actionkit.stats.models import (
    ALL_COUNTIES, DAY, MONTH, NO_COUNTY, NO_DELIVERY, ActionRollup, DeliveryRollup, OfficeRollup, RollupState,
)
from actionkit.stats.services import as_date, const, day_of, day_start, in_runs, month_end, runs_of

SUPPRESS_BELOW = 5  # a cell counting fewer supporters than this, none included, is shown as "<5"
SUPPRESSED = "<5"
HIDDEN = "hidden"
TOP_OFFICIALS = 10


@dataclass(frozen=True)
class Filters:
    """The page's filters, already validated (forms.StatsFilterForm)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    office_type: str | None = None
    county_id: int | None = None

    def params(self) -> dict[str, str]:
        """As URL query parameters (also what audit entries record: no personal data)."""
        out = {"from": self.date_from.isoformat() if self.date_from else "",
               "to": self.date_to.isoformat() if self.date_to else "",
               "office_type": self.office_type or "", "county": str(self.county_id or "")}
        return {k: v for k, v in out.items() if v}


@dataclass
class Cell:
    """A count and the fewest/most distinct supporters it can stand for; `hidden` when it is withheld only so
    that a suppressed neighbour cannot be worked out by subtraction from a total (see protect())."""

    value: int = 0
    low: int = 0
    high: int = 0
    hidden: bool = False

    def add(self, value: int, low: int, high: int) -> None:
        """Fold in one campaign's share: people may repeat across campaigns, so low is a max, high a sum."""
        self.value += value
        self.low = max(self.low, low)
        self.high += high

    @property
    def settled(self) -> bool:
        return self.high < SUPPRESS_BELOW or self.low >= SUPPRESS_BELOW or self.low == self.high

    @property
    def suppressed(self) -> bool:
        """Counts fewer than SUPPRESS_BELOW supporters: shown as "<5". Zero is included, or "0" beside "<5"
        would tell that someone is behind the "<5" (that someone in a county acted, that a letter failed
        because its writer deleted their data)."""
        return self.low < SUPPRESS_BELOW

    @property
    def concealed(self) -> bool:
        return self.suppressed or self.hidden

    @property
    def shown(self) -> int | None:
        """The figure, or None when it must not be shown (what charts may draw)."""
        return None if self.concealed else self.value

    @property
    def text(self) -> str:
        if self.suppressed:
            return SUPPRESSED
        return HIDDEN if self.hidden else f"{self.value:,}"

    @property
    def html(self) -> Markup:
        """The figure as page markup (built here: a Jinja macro per cell is slow on 500-row tables)."""
        css = "figure suppressed" if self.concealed else "figure"
        return Markup(f'<span class="{css}">{escape(self.text)}</span>')

    def share_of(self, total: "Cell") -> str:
        """A percentage, or an em dash when either side is not shown (a share would give the count away)."""
        if self.concealed or total.concealed or not total.value:
            return "—"
        return f"{100 * self.value / total.value:.1f}%"


Line = tuple[Sequence[Cell], "Cell | None"]


def protect(lines: Iterable[Line], ties: Iterable[tuple[Cell, Cell]] = ()) -> None:
    """Complementary (secondary) suppression, for every card, table, chart and export that shows these cells.

    A line is cells that add up to a total. If exactly one of its figures (a cell or the total) is concealed,
    it could be worked out from the others, by subtraction or by addition, so the smallest other shown cell is
    hidden too (or the total, if no cell is shown). Tied cells are the same figure in two places (a county's
    actions and its sheriff's letters): hiding one hides the other. Repeated until nothing changes, since
    hiding a cell may expose another line it belongs to. Generic over what the cells count (any statuses)."""
    lines, ties = list(lines), [t for t in ties if t[0].value == t[1].value]
    changed = True
    while changed:
        changed = False
        for cells, total in lines:
            if total is None or sum(c.concealed for c in cells) + total.concealed != 1:
                continue
            visible = [c for c in cells if not c.concealed]
            target = min(visible, key=lambda c: c.value) if visible else total
            if target.concealed:
                continue
            target.hidden = changed = True
        for a, b in ties:
            if a.concealed != b.concealed:
                (b if a.concealed else a).hidden = changed = True


@dataclass
class Row:
    """One labelled cell of a breakdown."""

    key: Any
    label: str
    cell: Cell
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CountyShape:
    division_id: int
    name: str
    geoid: str | None
    geometry: str | None  # GeoJSON geometry text from the Boundary table


@dataclass
class Stats:
    """Everything a stats page shows."""

    campaigns: list[Campaign]
    single: bool
    state: str | None
    filters: Filters
    refreshed_at: dt.datetime | None
    supporters: Cell
    actions: Cell
    letters: Cell
    deliveries: Cell
    sent: Cell
    goal: int | None
    per_campaign: list[Row]
    per_day: list[Row]
    counties: list[Row]
    county_shapes: list[CountyShape]
    office_types: list[Row]
    top_officials: list[Row]
    sheriffs: list[Row]
    statuses: list[str]
    channels: list[str]
    deliveries_by: dict[tuple[str, str], Cell]
    returning: list[Row]
    languages: list[Row]
    non_english: Cell
    sources: list[Row] = field(default_factory=list)  # actions by ?source= code (campaigns.sources)

    @property
    def goal_text(self) -> str:
        """Progress to the campaign's goal, unless there is no goal or the actions are not shown."""
        if not self.goal or self.actions.concealed:
            return "—"
        return f"{100 * self.actions.value / self.goal:.1f}%"


# --- the scope, the period and the facts ------------------------------------------------------------------


@dataclass
class _Scope:
    campaign_ids: list[int]
    filters: Filters
    max_letters: int

    def rollup_where(self, model: Any) -> list[ColumnElement[bool]]:
        """Rows of the scope's campaigns, for the filter's county or summed over all counties."""
        return [model.campaign_id.in_(self.campaign_ids),
                model.county_key == (self.filters.county_id or ALL_COUNTIES)]


@dataclass
class _Period:
    """A date range as whole months (read from month rows) plus the days at its edges (day rows)."""

    months: tuple[dt.date | None, dt.date | None] | None  # first and last month start, None = unbounded
    edges: list[tuple[dt.date, dt.date]]

    @classmethod
    def of(cls, start: dt.date | None, end: dt.date | None) -> "_Period":
        """Whole months from the first month starting on/after `start` to the last ending on/before `end`."""
        first = last = None
        if start is not None:
            first = start if start.day == 1 else month_end(start) + dt.timedelta(days=1)
        if end is not None:
            month = dt.date(end.year, end.month, 1)
            last = month if end == month_end(month) else (month - dt.timedelta(days=1)).replace(day=1)
        if start is not None and end is not None and first is not None and last is not None and first > last:
            return cls(None, [(start, end)])
        edges = []
        if start is not None and first is not None and start < first:
            edges.append((start, first - dt.timedelta(days=1)))
        if end is not None and last is not None and end > month_end(last):
            edges.append((month_end(last) + dt.timedelta(days=1), end))
        return cls((first, last), edges)

    def rollup_clause(self, model: Any) -> ColumnElement[bool]:
        """Rollup rows covering the period exactly once."""
        parts = []
        if self.months is not None:
            first, last = self.months
            bounds = [model.span == MONTH]
            if first is not None:
                bounds.append(model.day >= first)
            if last is not None:
                bounds.append(model.day <= last)
            parts.append(sa.and_(*bounds))
        # One branch per run of days, so each is an index range (span, county_key, day) of its own.
        parts += [sa.and_(model.span == DAY, model.day.between(a, b)) for a, b in self.edges]
        return sa.or_(*parts) if parts else sa.false()


def _action_facts(scope: _Scope) -> list[ColumnElement[bool]]:
    f = scope.filters
    where = [Action.campaign_id.in_(scope.campaign_ids)]
    if f.date_from:
        where.append(Action.created_at >= day_start(f.date_from))
    if f.date_to:
        where.append(Action.created_at < day_start(f.date_to + dt.timedelta(days=1)))
    if f.county_id:
        where.append(Action.county_id == f.county_id)
    return where


def _letter_facts(scope: _Scope, *, deliveries: bool = False) -> sa.Select[Any]:
    source = sa.select().select_from(Action).join(Letter, Letter.action_id == Action.id)
    if deliveries:
        source = source.outerjoin(Delivery, Delivery.letter_id == Letter.id)
    where = _action_facts(scope)
    if scope.filters.office_type:
        where.append(Letter.office_type == scope.filters.office_type)
    return source.where(*where)


_STATUS = sa.func.coalesce(Delivery.status, const(NO_DELIVERY))
_CHANNEL = sa.func.coalesce(Delivery.channel, const(NO_DELIVERY))
_OFFICIAL = sa.func.coalesce(Letter.official_id, const(0))
_COUNTY = sa.func.coalesce(Action.county_id, const(NO_COUNTY))


def _settle(cells: dict[Any, Cell], key_exprs: Sequence[Any], source: Callable[[], sa.Select[Any]],
            restrict: Callable[[list[Any]], ColumnElement[bool]] | None = None,
            convert: Callable[[Any], Any] = lambda k: k) -> None:
    """Replace the bounds of unsettled cells by the exact number of distinct supporters (one query)."""
    open_keys = [k for k, c in cells.items() if not c.settled]
    if not open_keys:
        return
    if restrict is None:
        keys = [k if isinstance(k, tuple) else (k,) for k in open_keys]
        restrict_clause = (sa.tuple_(*key_exprs).in_(keys) if len(key_exprs) > 1
                           else key_exprs[0].in_([k[0] for k in keys]))
    else:
        restrict_clause = restrict(open_keys)
    stmt = (source().add_columns(*key_exprs, sa.func.count(sa.distinct(Action.supporter_id)))
            .where(restrict_clause).group_by(*key_exprs))
    found = {}
    for row in db.session.execute(stmt):
        key = tuple(row[:-1]) if len(key_exprs) > 1 else convert(row[0])
        found[key] = row[-1]
    for key in open_keys:
        exact = found.get(key, 0)
        cells[key].low = cells[key].high = exact


# --- the page ------------------------------------------------------------------------------------------------


def all_campaigns() -> list[Campaign]:
    """Every campaign, newest first, with its texts (for titles) loaded in the same statement."""
    return list(db.session.scalars(sa.select(Campaign).options(joinedload(Campaign.texts))
                                   .order_by(Campaign.created_at.desc(), Campaign.id.desc())).unique())


def campaign_choices(campaigns: list[Campaign] | None = None) -> list[tuple[str, str]]:
    """(slug, title) of every campaign, for the filter form."""
    return [(c.slug, c.text("en").title if c.texts else c.slug) for c in campaigns or all_campaigns()]


def county_shapes(state: str | None) -> list[CountyShape]:
    """The state's counties with their outlines (the filter form and the map both use them)."""
    if state is None:
        return []
    rows = db.session.execute(
        sa.select(Division.id, Division.name, Division.geoid, Boundary.geometry)
        .outerjoin(Boundary, Boundary.division_id == Division.id)
        .where(Division.type == DivisionType.COUNTY, Division.state == state).order_by(Division.name))
    return [CountyShape(r.id, r.name, r.geoid, r.geometry) for r in rows]


def main_state(campaigns: Iterable[Campaign]) -> str | None:
    """The state most of the campaigns are in: the one the map shows."""
    states = Counter(c.state for c in campaigns)
    return states.most_common(1)[0][0] if states else None


def load(campaigns: list[Campaign], filters: Filters, *, single: bool,
         shapes: list[CountyShape] | None = None) -> Stats:
    """Every figure of a stats page for these campaigns (one, or all of them) under these filters; `shapes`
    are the counties of main_state(campaigns), if the caller already has them."""
    state_row = db.session.get(RollupState, 1)
    scope = _Scope([c.id for c in campaigns], filters, max(1, state_row.max_letters if state_row else 1))
    period = _Period.of(filters.date_from, filters.date_to)
    state = main_state(campaigns)

    rows = _read_rollups(scope, period)
    by_campaign, totals, returning, languages, non_english, first_actions = _action_breakdowns(scope, rows["actions"])
    supporters = _supporters(scope, totals, first_actions, single=single)
    per_day = _per_day(scope, rows["days"], _opened_on(campaigns))
    counties, shapes = _counties(scope, rows["counties"], shapes if shapes is not None else county_shapes(state))
    deliveries_by, type_cells, letters, deliveries = _deliveries(scope, rows["deliveries"])
    top, sheriffs = _officials(scope, rows["offices"], state)
    by_source = _sources(scope)

    # Every office type, status, channel and the two supporter languages are rows whether or not anyone is in
    # them: a row that appears only when someone is in it would tell what its "<5" hides.
    type_rows = [Row(t.value, _office_label(t.value), type_cells.get(t.value, Cell())) for t in OfficeType]
    statuses = [s.value for s in DeliveryStatus] + [NO_DELIVERY]
    channels = [c.value for c in Channel]
    _fill_grid(deliveries_by, statuses, channels)
    for code in LANGUAGE_LABELS:
        if code not in {r.key for r in languages}:
            languages.append(Row(code, LANGUAGE_LABELS[code], Cell()))
    per_campaign = [Row(c.slug, c.text("en").title if c.texts else c.slug, by_campaign.get(c.id, Cell()),
                        {"goal": c.goal, "status": c.status.value}) for c in campaigns]
    sent = deliveries_by.get((DeliveryStatus.SENT.value, ""), Cell())
    english = next((r.cell for r in languages if r.key == "en"), Cell())
    lines: list[Line] = [
        ([r.cell for r in counties], totals), ([r.cell for r in per_day], totals),
        ([r.cell for r in per_campaign], totals), ([r.cell for r in languages], totals),
        ([english, non_english], totals), ([r.cell for r in returning], totals),
        ([r.cell for r in type_rows], letters),
        ([r.cell for r in by_source], None if filters.office_type else totals),
        ([r.cell for r in sheriffs], type_cells.get(OfficeType.SHERIFF.value)),
        ([deliveries, deliveries_by.get((NO_DELIVERY, ""), Cell())], letters),
        *_delivery_lines(deliveries_by, statuses, channels, deliveries),
    ]
    by_county = {r.key: r.cell for r in counties}
    by_office = {r.key: r.cell for r in sheriffs}
    ties = [(by_county[r.extra["division_id"]], r.cell) for r in sheriffs if r.extra["division_id"] in by_county]
    ties += [(by_office[r.key[0]], r.cell) for r in top if r.key[0] in by_office]
    protect(lines, ties)
    # Rows that exist only because someone is in them (another state's county, an official
    # written to, an office type or language nobody targets) are listed only when their figure may be shown;
    # they stay in the lines above, so the totals cannot give them away.
    counties = [r for r in counties if not r.extra.get("other_state") or not r.cell.suppressed]
    top = [r for r in top if not r.cell.suppressed]
    type_rows = [r for r in type_rows if not r.cell.suppressed or r.key == filters.office_type
                 or (not filters.office_type and _targets(campaigns, r.key))]
    languages = [r for r in languages if r.key in LANGUAGE_LABELS or not r.cell.suppressed]
    return Stats(
        campaigns=campaigns, single=single, state=state, filters=filters,
        refreshed_at=state_row.refreshed_at if state_row else None,
        supporters=supporters, actions=totals, letters=letters, deliveries=deliveries, sent=sent,
        goal=campaigns[0].goal if single else None, per_campaign=per_campaign, per_day=per_day,
        counties=counties, county_shapes=shapes, office_types=type_rows, top_officials=top, sheriffs=sheriffs,
        statuses=statuses, channels=channels, deliveries_by=deliveries_by, returning=returning,
        languages=languages, non_english=non_english, sources=by_source,
    )


def _fill_grid(by: dict[tuple[str, str], Cell], statuses: list[str], channels: list[str]) -> None:
    """Every status x channel cell and margin, present or not (cells of nobody count zero and show "<5")."""
    for status in statuses:
        by.setdefault((status, ""), Cell())
        if status != NO_DELIVERY:
            for channel in channels:
                by.setdefault((status, channel), Cell())
    for channel in channels:
        by.setdefault(("", channel), Cell())


NO_SOURCE_LABEL = "(no source: direct or untagged link)"


def _sources(scope: _Scope) -> list[Row]:
    """Actions by source code, most first; read from the actions (the code is not in the rollups), each cell
    exact in distinct supporters so small ones are suppressed like every other figure."""
    stmt = (sa.select(Action.source, sa.func.count(), sa.func.count(sa.distinct(Action.supporter_id)))
            .where(*_action_facts(scope)).group_by(Action.source))
    rows = [Row(source or "", source or NO_SOURCE_LABEL, Cell(count, people, people))
            for source, count, people in db.session.execute(stmt)]
    return sorted(rows, key=lambda r: (-r.cell.value, r.key))


def _delivery_lines(by: dict[tuple[str, str], Cell], statuses: list[str], channels: list[str],
                    deliveries: Cell) -> list[Line]:
    """Rows and columns of the status x channel table with their margins, and the margins with the total."""
    empty = Cell()
    queued = [s for s in statuses if s != NO_DELIVERY]
    via = [c for c in channels if c != NO_DELIVERY]
    lines: list[Line] = [([by.get((s, c), empty) for c in via], by.get((s, ""))) for s in queued]
    lines += [([by.get((s, c), empty) for s in queued], by.get(("", c))) for c in via]
    lines.append(([by.get((s, ""), empty) for s in queued], deliveries))
    lines.append(([by.get(("", c), empty) for c in via], deliveries))
    return lines


def _targets(campaigns: Iterable[Campaign], office_type: str) -> bool:
    return any(office_type in (c.target_types or []) for c in campaigns)


OFFICE_LABELS = {
    "sheriff": "Sheriffs", "state_senator": "State senators", "state_representative": "State representatives",
    "us_representative": "U.S. representatives", "us_senator": "U.S. senators",
    "governor": "Governor", "lieutenant_governor": "Lieutenant governor", "attorney_general": "Attorney general",
    "secretary_of_state": "Secretary of state", "police_chief": "City police chiefs",
    "fixed_target": "Fixed targets",
}
STATUS_LABELS = {
    "pending": "Pending", "sending": "Sending", "sent": "Sent", "failed": "Failed", "dead": "Gave up",
    "held": "Held for review", "cancelled": "Cancelled", "expired": "Expired", NO_DELIVERY: "Not queued",
}
CHANNEL_LABELS = {"email": "Email", "print": "Print", "cwc": "CWC", "webhook": "Webhook", "postal": "Postal mail",
                  "fax": "Fax", NO_DELIVERY: "None"}
LANGUAGE_LABELS = {"en": "English", "es": "Spanish"}


def _office_label(value: str) -> str:
    return OFFICE_LABELS.get(value, value.replace("_", " ").capitalize())


def _action_breakdowns(scope: _Scope, rows: list[tuple[Any, ...]]) -> tuple[dict[int, Cell], Cell, list[Row],
                                                                          list[Row], Cell, int]:
    """Actions per campaign, new/returning and language, from the all-county (or one county) rows."""
    per: dict[tuple[Hashable, int], int] = defaultdict(int)
    first_actions = 0
    for campaign_id, language, is_returning, actions, first in rows:
        for key in (("campaign", campaign_id), ("all", None), ("returning", bool(is_returning)),
                    ("language", language), ("non_english", language != "en")):
            per[(key, campaign_id)] += int(actions)
        first_actions += int(first or 0)
    cells: dict[Hashable, Cell] = defaultdict(Cell)
    for (key, _campaign), n in per.items():
        cells[key].add(n, n, n)
    by_campaign = {k[1]: c for k, c in cells.items() if k[0] == "campaign"}
    total = cells.get(("all", None), Cell())
    ret = {k[1]: c for k, c in cells.items() if k[0] == "returning"}
    langs = {k[1]: c for k, c in cells.items() if k[0] == "language"}
    non_english = {k[1]: c for k, c in cells.items() if k[0] == "non_english"}
    _settle_one(total, sa.select().select_from(Action).where(*_action_facts(scope)))  # across campaigns
    _settle(ret, [Action.is_returning], lambda: sa.select().select_from(Action).where(*_action_facts(scope)))
    _settle(langs, [Action.language], lambda: sa.select().select_from(Action).where(*_action_facts(scope)))
    _settle(non_english, [Action.language != "en"],
            lambda: sa.select().select_from(Action).where(*_action_facts(scope)),
            restrict=lambda keys: sa.true())
    returning = [Row(False, "New supporters", ret.get(False, Cell())),
                 Row(True, "Returning supporters", ret.get(True, Cell()))]
    languages = [Row(lang, LANGUAGE_LABELS.get(lang, lang), cell)
                 for lang, cell in sorted(langs.items(), key=lambda kv: (-kv[1].value, kv[0]))]
    return by_campaign, total, returning, languages, non_english.get(True, Cell()), first_actions


def _supporters(scope: _Scope, actions: Cell, first_actions: int, *, single: bool) -> Cell:
    """Distinct people: the actions of one campaign; across campaigns, supporters' first actions when the
    range starts at the beginning (no county filter), else one COUNT(DISTINCT) on the facts."""
    if single:
        return Cell(actions.value, actions.value, actions.value)
    f = scope.filters
    if f.date_from is None and f.county_id is None:
        n = first_actions
    else:
        n = db.session.scalar(sa.select(sa.func.count(sa.distinct(Action.supporter_id)))
                              .where(*_action_facts(scope))) or 0
    return Cell(n, n, n)


def _opened_on(campaigns: Iterable[Campaign]) -> dt.date | None:
    """The first day of the earliest campaign: where the per-day series starts without a date filter."""
    days = [when.date() if isinstance(when, dt.datetime) else as_date(when)
            for when in (c.starts_at or c.created_at for c in campaigns) if when is not None]
    return min(days) if days else None


def _per_day(scope: _Scope, rows: list[tuple[Any, ...]], opened: dt.date | None = None) -> list[Row]:
    """Actions per UTC day over the filter's dates, else from the day the campaigns opened to today: a series
    that started at the first action (or ended at the last) would date a "<5" day."""
    f = scope.filters
    cells: dict[dt.date, Cell] = defaultdict(Cell)
    for _campaign, day, n in rows:
        cells[as_date(day)].add(int(n), int(n), int(n))
    _settle(cells, [day_of(Action.created_at)],
            lambda: sa.select().select_from(Action).where(*_action_facts(scope)),
            restrict=lambda keys: in_runs(runs_of(keys), Action.created_at, timestamps=True), convert=as_date)
    if not cells and opened is None and not (f.date_from and f.date_to):
        return []
    days_with_data = [d for d, c in cells.items() if c.value]
    start = f.date_from or min([d for d in (opened, *days_with_data) if d is not None] or [dt.date.today()])
    end = f.date_to or max([dt.datetime.now(dt.timezone.utc).date(), *days_with_data])
    start = min(start, end)
    if (end - start).days > 3660:
        start = end - dt.timedelta(days=3660)
    out = []
    day = start
    while day <= end:
        out.append(Row(day, day.isoformat(), cells.get(day, Cell())))
        day += dt.timedelta(days=1)
    return out


def _counties(scope: _Scope, rows: list[tuple[Any, ...]],
              shapes: list[CountyShape]) -> tuple[list[Row], list[CountyShape]]:
    """Actions per county (every county of the state, with its boundary), plus actions with no county."""
    key = scope.filters.county_id
    cells: dict[int, Cell] = defaultdict(Cell)
    for _campaign, county_key, n in rows:
        cells[int(county_key)].add(int(n), int(n), int(n))
    _settle(cells, [_COUNTY], lambda: sa.select().select_from(Action).where(*_action_facts(scope)))
    known = {s.division_id for s in shapes}
    out = [Row(s.division_id, s.name, cells.get(s.division_id, Cell()), {"geoid": s.geoid}) for s in shapes
           if not key or s.division_id == key]
    others = [k for k in cells if k not in known and k != NO_COUNTY]
    if others:  # counties of another state (a campaign outside the map's state)
        names = dict(db.session.execute(sa.select(Division.id, Division.name).where(Division.id.in_(others))).all())
        out += [Row(k, names.get(k, f"County #{k}"), cells[k], {"other_state": True}) for k in sorted(others)]
    out.append(Row(NO_COUNTY, "County not known", cells.get(NO_COUNTY, Cell()), {"unknown": True}))
    return out, shapes


_SLOTS = (("n1", sa.Integer), ("n2", sa.Integer), ("s1", sa.String), ("s2", sa.String), ("s3", sa.String),
          ("day", sa.Date), ("flag", sa.Boolean))


def _slice(tag: str, model: Any, where: list[Any], keys: dict[str, Any], sums: list[Any]) -> sa.Select[Any]:
    """One rollup read shaped for the UNION ALL of _read_rollups: (tag, campaign, key slots, two sums)."""
    slots = [keys[name].label(name) if name in keys else sa.cast(sa.null(), kind).label(name) for name, kind in _SLOTS]
    sums = [*sums, sa.cast(sa.null(), sa.BigInteger)][:2]
    return (sa.select(sa.literal(tag).label("tag"), model.campaign_id, *slots,
                      *(sa.cast(v, sa.BigInteger).label(f"v{i}") for i, v in enumerate(sums)))
            .where(*where).group_by(model.campaign_id, *keys.values()))


def _read_rollups(scope: _Scope, period: _Period) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup slice a page shows, in one statement: a round trip per slice costs more than the slice."""
    a, o, d = ActionRollup, OfficeRollup, DeliveryRollup
    f = scope.filters
    days = [*scope.rollup_where(a), a.span == DAY]
    if f.date_from:
        days.append(a.day >= f.date_from)
    if f.date_to:
        days.append(a.day <= f.date_to)
    counties = [a.campaign_id.in_(scope.campaign_ids), period.rollup_clause(a),
                a.county_key == f.county_id if f.county_id else a.county_key != ALL_COUNTIES]
    letters = {m: [*scope.rollup_where(m), period.rollup_clause(m),
                   *([m.office_type == f.office_type] if f.office_type else [])] for m in (o, d)}
    union = sa.union_all(
        _slice("actions", a, [*scope.rollup_where(a), period.rollup_clause(a)],
               {"s1": a.language, "flag": a.is_returning}, [sa.func.sum(a.actions), sa.func.sum(a.first_actions)]),
        _slice("days", a, days, {"day": a.day}, [sa.func.sum(a.actions)]),
        _slice("counties", a, counties, {"n1": a.county_key}, [sa.func.sum(a.actions)]),
        _slice("deliveries", d, letters[d], {"s1": d.office_type, "s2": d.status, "s3": d.channel},
               [sa.func.sum(d.letters)]),
        _slice("offices", o, letters[o], {"n1": o.office_id, "n2": o.official_key, "s1": o.office_type},
               [sa.func.sum(o.letters)]),
    )
    shape = {"actions": ("s1", "flag", "v0", "v1"), "days": ("day", "v0"), "counties": ("n1", "v0"),
             "deliveries": ("s1", "s2", "s3", "v0"), "offices": ("n1", "n2", "s1", "v0")}
    out: dict[str, list[tuple[Any, ...]]] = {tag: [] for tag in shape}
    for row in db.session.execute(union).mappings():
        out[row["tag"]].append((row["campaign_id"], *(row[k] for k in shape[row["tag"]])))
    return out


def _deliveries(scope: _Scope, rows: list[tuple[Any, ...]]) -> tuple[dict[tuple[str, str], Cell], dict[str, Cell],
                                                                   Cell, Cell]:
    """Letters by office type, deliveries by status x channel (with totals), letters and deliveries."""
    per: dict[tuple[Hashable, int], int] = defaultdict(int)
    for campaign_id, office_type, status, channel, n in rows:
        n = int(n)
        for key in (("type", office_type), ("sc", (status, channel)), ("sc", (status, "")), ("sc", ("", channel)),
                    ("letters", None)):
            per[(key, campaign_id)] += n
        if status != NO_DELIVERY:
            per[(("deliveries", None), campaign_id)] += n
    k = scope.max_letters
    cells: dict[Hashable, Cell] = defaultdict(Cell)
    for (key, _campaign), n in per.items():
        cells[key].add(n, math.ceil(n / k), n)  # one person's action has at most k letters
    by_sc = {key[1]: c for key, c in cells.items() if key[0] == "sc"}
    by_type = {key[1]: c for key, c in cells.items() if key[0] == "type"}
    singles = {name: cells.get((name, None), Cell()) for name in ("letters", "deliveries")}

    def facts() -> sa.Select[Any]:
        return _letter_facts(scope, deliveries=True)

    _settle(by_type, [Letter.office_type], facts)
    _settle({k: c for k, c in by_sc.items() if k[0] and k[1]}, [_STATUS, _CHANNEL], facts)
    _settle({k[0]: c for k, c in by_sc.items() if k[0] and not k[1]}, [_STATUS], facts)
    _settle({k[1]: c for k, c in by_sc.items() if k[1] and not k[0]}, [_CHANNEL], facts)
    _settle_one(singles["letters"], facts())
    _settle_one(singles["deliveries"], facts().where(Delivery.id.is_not(None)))
    by_sc[("", "")] = singles["deliveries"]
    return by_sc, by_type, singles["letters"], singles["deliveries"]


def _settle_one(cell: Cell, source: sa.Select[Any]) -> None:
    """The exact number of distinct supporters behind one unsettled total."""
    if not cell.settled:
        cell.low = cell.high = db.session.scalar(source.add_columns(sa.func.count(sa.distinct(
            Action.supporter_id)))) or 0


def _officials(scope: _Scope, rows: list[tuple[Any, ...]], state: str | None) -> tuple[list[Row], list[Row]]:
    """Top officials by letters, and every sheriff of the state (with no letters too)."""
    by_official: dict[tuple[int, int], Cell] = defaultdict(Cell)
    by_office: dict[int, Cell] = defaultdict(Cell)
    per_official: dict[tuple[tuple[int, int], int], int] = defaultdict(int)
    per_office: dict[tuple[int, int], int] = defaultdict(int)
    for campaign_id, office_id, official_key, _type, n in rows:
        per_official[((int(office_id), int(official_key)), campaign_id)] += int(n)
        per_office[(int(office_id), campaign_id)] += int(n)
    for (key, _c), n in per_official.items():
        by_official[key].add(n, n, n)  # one letter per action and office: letters are people
    for (office_id, _c), n in per_office.items():
        by_office[office_id].add(n, n, n)

    def facts() -> sa.Select[Any]:
        return _letter_facts(scope)

    show_sheriffs = state is not None and scope.filters.office_type in (None, OfficeType.SHERIFF.value)
    top_keys = sorted(by_official, key=lambda k: (-by_official[k].value, k))[:TOP_OFFICIALS]
    office_ids = {k[0] for k in top_keys}
    official_ids = {k[1] for k in top_keys if k[1]}
    offices = _office_names(office_ids, state if show_sheriffs else None, scope.filters.county_id)
    sheriff_ids = [oid for oid, info in offices.items() if info["sheriff_listed"]]
    _settle({k: by_official[k] for k in top_keys}, [Letter.office_id, _OFFICIAL], facts)
    _settle({k: by_office[k] for k in sheriff_ids if k in by_office}, [Letter.office_id], facts)
    holders = _official_names(official_ids, sheriff_ids)
    top = []
    for office_id, official_key in top_keys:
        office = offices.get(office_id, {"title": f"Office #{office_id}", "type": ""})
        name = holders.get(official_key, {}).get("name") if official_key else None
        top.append(Row((office_id, official_key), name or "Vacant or not known", by_official[(office_id, official_key)],
                       {"office": office["title"], "type": _office_label(office["type"]) if office["type"] else ""}))
    sheriffs = []
    if show_sheriffs:
        current = {h["office_id"]: h["name"] for h in holders.values() if h["current"]}
        for office_id in sorted(sheriff_ids, key=lambda o: offices[o]["county"]):
            sheriffs.append(Row(office_id, current.get(office_id) or "Vacant or not known",
                                by_office.get(office_id, Cell()),
                                {"office": offices[office_id]["title"], "county": offices[office_id]["county"],
                                 "division_id": offices[office_id]["division_id"]}))
    return top, sheriffs


def _office_names(office_ids: set[int], sheriff_state: str | None, county_id: int | None) -> dict[int, dict[str, Any]]:
    """Titles of the given offices, plus every sheriff's office of the state (one query)."""
    clauses = [Office.id.in_(office_ids)] if office_ids else []
    if sheriff_state:
        sheriff = sa.and_(Office.type == OfficeType.SHERIFF, Division.state == sheriff_state)
        if county_id:
            sheriff = sa.and_(sheriff, Division.id == county_id)
        clauses.append(sheriff)
    if not clauses:
        return {}
    rows = db.session.execute(
        sa.select(Office.id, Office.title, Office.type, Division.id.label("division_id"), Division.name,
                  Division.state)
        .join(Division, Division.id == Office.division_id).where(sa.or_(*clauses))).all()
    return {r.id: {"title": r.title, "type": r.type.value, "county": r.name, "division_id": r.division_id,
                   "sheriff_listed": bool(sheriff_state and r.type == OfficeType.SHERIFF and r.state == sheriff_state
                                          and county_id in (None, r.division_id))}
            for r in rows}


def _official_names(official_ids: set[int], office_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Names of the given officials and of the current holders of the given offices (one query)."""
    clauses = []
    if official_ids:
        clauses.append(Official.id.in_(official_ids))
    if office_ids:
        clauses.append(sa.and_(Official.office_id.in_(office_ids), Official.left_on.is_(None)))
    if not clauses:
        return {}
    rows = db.session.execute(sa.select(Official.id, Official.name, Official.office_id, Official.left_on)
                              .where(sa.or_(*clauses)).order_by(Official.id)).all()
    return {r.id: {"name": r.name, "office_id": r.office_id, "current": r.left_on is None} for r in rows}


def email_checks(campaign_ids: list[int]) -> list[Row]:
    """Signatures on campaigns that confirm e-mail addresses: confirmed, still waiting for the link, expired
    unconfirmed (erased). Each signature is one person, so the usual small-cell suppression applies."""
    checked = sa.and_(Submission.campaign_id.in_(campaign_ids), Submission.email_check.is_(True))
    confirmed, waiting, expired = db.session.execute(sa.select(
        sa.func.count().filter(Submission.confirmed_at.is_not(None)),
        sa.func.count().filter(Submission.status == SubmissionStatus.AWAITING),
        sa.func.count().filter(Submission.status == SubmissionStatus.EXPIRED)).where(checked)).one()
    return [Row(key, label, Cell(int(n), int(n), int(n))) for key, label, n in (
        ("confirmed", "Confirmed (letters released)", confirmed),
        ("waiting", "Unconfirmed, waiting for the link", waiting),
        ("expired", "Unconfirmed, expired and erased", expired))]


CALL_OUTCOMES = {"talked": "Talked to staff", "voicemail": "Left a voicemail", "no_answer": "Busy or no answer"}


@dataclass
class CallStats:
    """Calls supporters reported: per office type and per office (target), each split by outcome."""

    total: Cell
    outcomes: list[Row]  # outcome totals
    by_type: list[Row]  # extra["outcomes"]: outcome -> Cell
    by_office: list[Row]  # extra["outcomes"], extra["office_type"]


def _cell(n: int) -> Cell:
    return Cell(n, n, n)  # one report is one call by one person: the usual small-cell rule applies


def calls(campaign_ids: list[int], filters: Filters) -> CallStats:
    """The call reports of these campaigns (date range and office type filters; reports carry no county), with
    every figure under the same suppression as the rest of the page: outcomes add up to each office's and type's
    calls, offices to their type's, types to the total, so no "<5" can be recovered by subtraction."""
    where: list[Any] = [CallReport.campaign_id.in_(campaign_ids)]
    if filters.date_from:
        where.append(CallReport.day >= filters.date_from)
    if filters.date_to:
        where.append(CallReport.day <= filters.date_to)
    if filters.office_type:
        where.append(Office.type == filters.office_type)
    rows = db.session.execute(
        sa.select(Office.id, Office.title, Office.type, CallReport.outcome, sa.func.count())
        .join(Office, Office.id == CallReport.office_id).where(*where)
        .group_by(Office.id, Office.title, Office.type, CallReport.outcome)).all()
    counts: dict[tuple[int, str], int] = {}
    offices: dict[int, tuple[str, str]] = {}
    for office_id, title, kind, outcome, n in rows:
        offices[office_id] = (title, OfficeType(kind).value)
        counts[(office_id, CallOutcome(outcome).value)] = int(n)
    keys = list(CALL_OUTCOMES)

    def split(ids: Iterable[int]) -> dict[str, Cell]:
        return {o: _cell(sum(counts.get((i, o), 0) for i in ids)) for o in keys}

    by_office = []
    for office_id, (title, kind) in sorted(offices.items(), key=lambda kv: (kv[1][1], kv[1][0])):
        parts = split([office_id])
        by_office.append(Row(office_id, title, _cell(sum(c.value for c in parts.values())),
                             {"outcomes": parts, "office_type": kind}))
    types = sorted({kind for _, kind in offices.values()}, key=lambda k: [t.value for t in OfficeType].index(k))
    by_type = []
    for kind in types:
        parts = split([i for i, (_, k) in offices.items() if k == kind])
        by_type.append(Row(kind, _office_label(kind), _cell(sum(c.value for c in parts.values())),
                           {"outcomes": parts}))
    outcome_rows = [Row(o, CALL_OUTCOMES[o], _cell(sum(counts.get((i, o), 0) for i in offices))) for o in keys]
    total = _cell(sum(counts.values()))
    lines: list[Line] = [([r.cell for r in outcome_rows], total), ([r.cell for r in by_type], total)]
    for row in by_type:
        lines.append((list(row.extra["outcomes"].values()), row.cell))
        members = [r for r in by_office if r.extra["office_type"] == row.key]
        lines.append(([r.cell for r in members], row.cell))
        for o in keys:
            lines.append(([r.extra["outcomes"][o] for r in members], row.extra["outcomes"][o]))
    for o in keys:
        lines.append(([r.extra["outcomes"][o] for r in by_type], next(r.cell for r in outcome_rows if r.key == o)))
    for row in by_office:
        lines.append((list(row.extra["outcomes"].values()), row.cell))
    protect(lines)
    # An office or type is a row only because someone called it: listed only when its figure may be shown (it
    # stays in the lines above, so the totals cannot give it away).
    return CallStats(total, outcome_rows, [r for r in by_type if not r.cell.suppressed],
                     [r for r in by_office if not r.cell.suppressed])
