"""The refresh itself: the CLI, the task, re-runs, and the split of a date range into months and edge days."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.letters.models import Action
from actionkit.stats import services, tasks
from actionkit.stats.models import ActionRollup, DeliveryRollup, OfficeRollup, RollupState
from actionkit.stats.queries import _Period


def _rows() -> dict[str, list[tuple]]:
    return {m.__tablename__: sorted(tuple(r) for r in db.session.execute(sa.select(m.__table__)))
            for m in (ActionRollup, OfficeRollup, DeliveryRollup)}


def test_cli_refreshes_and_says_what_it_did(own_world, runner):
    result = runner.invoke(args=["stats", "refresh", "--full"])
    assert result.exit_code == 0, result.output
    days = {(a.campaign_id, a.created_at.date()) for a in db.session.scalars(sa.select(Action))}
    assert result.output.startswith(f"stats refresh (full rebuild): {len(days)} campaign-days recomputed in ")
    full = _rows()
    result = runner.invoke(args=["stats", "refresh"])
    assert result.exit_code == 0 and "(incremental)" in result.output
    assert _rows() == full  # an incremental refresh over unchanged facts writes the same rows


def test_the_task_refreshes(own_world):
    before = db.session.get(RollupState, 1).refreshed_at
    tasks.refresh.run(full=True)
    db.session.expire_all()
    state = db.session.get(RollupState, 1)
    assert state.full_at is not None and state.refreshed_at >= before and state.max_letters == 3


def test_periods_split_into_whole_months_and_edge_days():
    d = dt.date
    assert _Period.of(None, None) == _Period((None, None), [])
    assert _Period.of(d(2026, 2, 1), d(2026, 2, 28)) == _Period((d(2026, 2, 1), d(2026, 2, 1)), [])
    assert _Period.of(d(2026, 1, 20), d(2026, 3, 5)) == _Period(
        (d(2026, 2, 1), d(2026, 2, 1)), [(d(2026, 1, 20), d(2026, 1, 31)), (d(2026, 3, 1), d(2026, 3, 5))])
    assert _Period.of(d(2026, 1, 20), d(2026, 1, 25)) == _Period(None, [(d(2026, 1, 20), d(2026, 1, 25))])
    assert _Period.of(d(2026, 1, 20), d(2026, 2, 10)) == _Period(
        None, [(d(2026, 1, 20), d(2026, 2, 10))])
    assert _Period.of(None, d(2026, 3, 5)) == _Period((None, d(2026, 2, 1)), [(d(2026, 3, 1), d(2026, 3, 5))])
    assert _Period.of(d(2025, 12, 2), None) == _Period((d(2026, 1, 1), None), [(d(2025, 12, 2), d(2025, 12, 31))])


def test_runs_and_months_helpers():
    d = dt.date
    assert services.runs_of([d(2026, 1, 3), d(2026, 1, 1), d(2026, 1, 2), d(2026, 1, 9)]) == [
        (d(2026, 1, 1), d(2026, 1, 3)), (d(2026, 1, 9), d(2026, 1, 9))]
    assert services.months_in([(d(2025, 11, 30), d(2026, 1, 2))]) == [d(2025, 11, 1), d(2025, 12, 1), d(2026, 1, 1)]
    assert services.month_end(d(2024, 2, 1)) == d(2024, 2, 29)
