"""Rebuilding the stats rollups from actions, letters and deliveries (the only writes the stats domain does).

refresh() recomputes the rows of every (campaign, day) touched since the last refresh, and of the months
those days are in; refresh(full=True) rebuilds everything (nightly, and after facts were deleted, which leaves
no timestamp behind). Flushes, never commits.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from actionkit.db import utcnow
from actionkit.delivery.models import Delivery
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter
from actionkit.stats.models import (
    ALL_COUNTIES, DAY, MONTH, NO_COUNTY, NO_DELIVERY, ActionRollup, DeliveryRollup, OfficeRollup, RollupState,
)

# Rows changed this long before the previous refresh started are looked at again: covers transactions that
# were still open (their timestamps are older than their commit) and small clock differences between hosts.
LOOKBACK = dt.timedelta(minutes=10)
ROLLUPS = (ActionRollup, OfficeRollup, DeliveryRollup)
Runs = dict[int, list[tuple[dt.date, dt.date]]]  # campaign id -> inclusive runs of days


@dataclass
class RefreshReport:
    """What a refresh did, for the CLI's one-line summary and the task log."""

    full: bool
    days: int
    duration_ms: int

    def summary(self) -> str:
        kind = "full rebuild" if self.full else "incremental"
        return f"stats refresh ({kind}): {self.days} campaign-days recomputed in {self.duration_ms} ms"


def const(value: str | int) -> ColumnElement[Any]:
    """One of our own constants inlined in the SQL, so a GROUP BY expression matches its SELECT twin."""
    return sa.literal_column(str(value) if isinstance(value, int) else f"'{value}'")


def day_of(column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in the database's own date functions."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(const("UTC"), column), sa.Date)
    return sa.func.date(column)


def month_of(day: Any) -> ColumnElement[Any]:
    """The first day of the month of a date column."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc(const("month"), sa.cast(day, sa.DateTime())), sa.Date)
    return sa.func.date(day, const("start of month"))


def day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of a day: stats days are UTC days."""
    return dt.datetime.combine(day, dt.time(), dt.timezone.utc)


def month_end(first: dt.date) -> dt.date:
    """The last day of the month that starts on `first`."""
    nxt = dt.date(first.year + 1, 1, 1) if first.month == 12 else dt.date(first.year, first.month + 1, 1)
    return nxt - dt.timedelta(days=1)


def months_in(runs: Iterable[tuple[dt.date, dt.date]]) -> list[dt.date]:
    """First days of the months a list of day runs touches."""
    months = set()
    for a, b in runs:
        y, m = a.year, a.month
        while (y, m) <= (b.year, b.month):
            months.add(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return sorted(months)


def as_date(value: Any) -> dt.date:
    """A date from the database: SQLite hands back 'YYYY-MM-DD' text for date() expressions."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def runs_of(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Days merged into sorted inclusive runs of consecutive days, so a WHERE clause stays short."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] <= dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def in_runs(runs: Iterable[tuple[dt.date, dt.date]], when: Any, *, timestamps: bool) -> ColumnElement[bool]:
    """`when` (a UTC timestamp column, or a date column) falls on one of the runs of days."""
    spans = [sa.and_(when >= day_start(a), when < day_start(b + dt.timedelta(days=1))) if timestamps
             else when.between(a, b) for a, b in runs]
    return sa.or_(*spans) if spans else sa.false()


def _keyed(keys: Runs | None, campaign: Any, when: Any, *, timestamps: bool) -> list[ColumnElement[bool]]:
    """(campaign, day) in keys (None: no restriction), as one OR branch per campaign and run of days so each
    branch is a range of a (campaign_id, created_at/day) index."""
    if keys is None:
        return []
    parts = [sa.and_(campaign == c, in_runs([run], when, timestamps=timestamps)) for c, runs in keys.items()
             for run in runs]
    return [sa.or_(*parts) if parts else sa.false()]


def _changed_days(since: dt.datetime) -> dict[int, set[dt.date]]:
    """(campaign, day of the action) of every action, letter or delivery created or updated since `since`."""
    a_day = day_of(Action.created_at).label("day")
    queries = [
        sa.select(Action.campaign_id, a_day).where(sa.or_(Action.created_at >= since, Action.updated_at >= since)),
        sa.select(Action.campaign_id, a_day).join(Letter, Letter.action_id == Action.id)
        .where(sa.or_(Letter.created_at >= since, Letter.updated_at >= since)),
        sa.select(Action.campaign_id, a_day).join(Letter, Letter.action_id == Action.id)
        .join(Delivery, Delivery.letter_id == Letter.id)
        .where(sa.or_(Delivery.created_at >= since, Delivery.updated_at >= since)),
    ]
    keys: dict[int, set[dt.date]] = {}
    for campaign_id, day in db.session.execute(sa.union(*queries)):
        keys.setdefault(campaign_id, set()).add(as_date(day))
    return keys


def _state() -> RollupState:
    """The single state row, locked for the rest of the transaction so two refreshes never interleave."""
    state = db.session.scalars(sa.select(RollupState).where(RollupState.id == 1).with_for_update()).first()
    if state is None:
        state = RollupState(id=1, max_letters=0)
        db.session.add(state)
        db.session.flush()
    return state


def current_state() -> RollupState | None:
    """When the rollups were last refreshed (None before the first refresh), without locking."""
    return db.session.get(RollupState, 1)


def refresh(*, full: bool = False, now: dt.datetime | None = None) -> RefreshReport:
    """Bring the rollups up to date with the facts; incremental unless full or never refreshed."""
    started = time.perf_counter()
    now = now or utcnow()
    state = _state()
    full = full or state.refreshed_at is None
    day_keys: Runs | None = None
    month_keys: Runs | None = None
    if full:
        for model in ROLLUPS:
            db.session.execute(sa.delete(model))
        days = db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.select(Action.campaign_id, day_of(Action.created_at)).distinct().subquery())) or 0
    else:
        since = state.refreshed_at
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.timezone.utc)
        changed = _changed_days(since - LOOKBACK)
        days = sum(len(ds) for ds in changed.values())
        day_keys = {c: runs_of(ds) for c, ds in changed.items()}
        month_keys = {c: [(m, month_end(m)) for m in months_in(runs)] for c, runs in day_keys.items()}
        for model in ROLLUPS:
            db.session.execute(sa.delete(model).where(
                model.span == DAY, *_keyed(day_keys, model.campaign_id, model.day, timestamps=False)))
            db.session.execute(sa.delete(model).where(
                model.span == MONTH, *_keyed(month_keys, model.campaign_id, model.day, timestamps=False)))
    if full or days:
        for model in ROLLUPS:
            _rollup(model, day_keys, month_keys)
        most = _max_letters(day_keys)
        state.max_letters = most if full else max(state.max_letters or 0, most)
    state.refreshed_at = now
    if full:
        state.full_at = now
        if db.engine.dialect.name == "postgresql":  # fresh planner statistics for the rebuilt tables
            for model in ROLLUPS:
                db.session.execute(sa.text(f"ANALYZE {model.__tablename__}"))
    state.duration_ms = int((time.perf_counter() - started) * 1000)
    db.session.flush()
    return RefreshReport(full=full, days=days, duration_ms=state.duration_ms)


def _max_letters(day_keys: Runs | None) -> int:
    """The most letters one action of the keys has: bounds how few people n letters can come from."""
    per_action = (sa.select(sa.func.count().label("n")).select_from(Letter)
                  .join(Action, Action.id == Letter.action_id)
                  .where(*_keyed(day_keys, Action.campaign_id, Action.created_at, timestamps=True))
                  .group_by(Letter.action_id).subquery())
    return db.session.scalar(sa.select(sa.func.max(per_action.c.n))) or 0


def _insert(model: type, columns: list[str], select: sa.Select[Any]) -> None:
    db.session.execute(sa.insert(model.__table__).from_select(columns, select))


_DIMS: dict[type, tuple[list[str], list[str]]] = {
    ActionRollup: (["language", "is_returning"], ["actions", "first_actions"]),
    OfficeRollup: (["office_id", "official_key", "office_type"], ["letters"]),
    DeliveryRollup: (["office_type", "status", "channel"], ["letters"]),
}


def _sum_rows(model: type, *, span: str, day: Any, per_county: bool, where: list[ColumnElement[bool]]) -> None:
    """Insert rows of `model` summed from its own day rows, per county or over all counties."""
    dims, measures = _DIMS[model]
    cols = [getattr(model, k) for k in dims]
    county = model.county_key if per_county else const(ALL_COUNTIES)
    _insert(model, ["span", "county_key", "day", "campaign_id", *dims, *measures],
            sa.select(const(span), county, day, model.campaign_id, *cols,
                      *(sa.func.sum(getattr(model, m)) for m in measures))
            .where(*where).group_by(*([model.county_key] if per_county else []), day, model.campaign_id, *cols))


def _rows_from_facts(model: type, day_keys: Runs | None) -> None:
    """Day rows per county for the given (campaign, day) keys (None: all), straight from the facts."""
    county = sa.func.coalesce(Action.county_id, const(NO_COUNTY))
    a_day = day_of(Action.created_at)
    dims, measures = _DIMS[model]
    columns = ["span", "county_key", "day", "campaign_id", *dims, *measures]
    where = _keyed(day_keys, Action.campaign_id, Action.created_at, timestamps=True)
    if model is ActionRollup:
        earlier = aliased(Action)
        is_first = ~sa.exists().where(
            earlier.supporter_id == Action.supporter_id,
            sa.or_(earlier.created_at < Action.created_at,
                   sa.and_(earlier.created_at == Action.created_at, earlier.id < Action.id)))
        keys: list[Any] = [Action.language, Action.is_returning]
        values: list[Any] = [*keys, sa.func.count(), sa.func.sum(sa.case((is_first, 1), else_=0))]
        source = sa.select().select_from(Action)
    elif model is OfficeRollup:
        official = sa.func.coalesce(Letter.official_id, const(0))
        keys = [Letter.office_id, official]
        values = [*keys, sa.func.max(Letter.office_type), sa.func.count()]
        source = sa.select().select_from(Action).join(Letter, Letter.action_id == Action.id)
    else:
        keys = [Letter.office_type, sa.func.coalesce(Delivery.status, const(NO_DELIVERY)),
                sa.func.coalesce(Delivery.channel, const(NO_DELIVERY))]
        values = [*keys, sa.func.count()]
        source = (sa.select().select_from(Action).join(Letter, Letter.action_id == Action.id)
                  .outerjoin(Delivery, Delivery.letter_id == Letter.id))
    _insert(model, columns, source.add_columns(const(DAY), county, a_day, Action.campaign_id, *values)
            .where(*where).group_by(county, a_day, Action.campaign_id, *keys))


def _rollup(model: type, day_keys: Runs | None, month_keys: Runs | None) -> None:
    """One pass over the keys' facts for day rows per county; every other row is a sum of those (counts of
    distinct actions add up across counties and days, since an action has one county and one day)."""
    _rows_from_facts(model, day_keys)
    _sum_rows(model, span=DAY, day=model.day, per_county=False,
              where=[model.span == DAY, model.county_key != ALL_COUNTIES,
                     *_keyed(day_keys, model.campaign_id, model.day, timestamps=False)])
    _sum_rows(model, span=MONTH, day=month_of(model.day), per_county=True,
              where=[model.span == DAY, *_keyed(month_keys, model.campaign_id, model.day, timestamps=False)])
