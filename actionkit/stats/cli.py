"""`flask stats refresh`: bring the participation stats up to date now; safe to re-run."""
from __future__ import annotations

import click

from actionkit.extensions import db
from actionkit.stats import services, tasks  # noqa: F401  (tasks: registers stats.refresh in every process)


@click.group("stats")
def stats_cli() -> None:
    """Participation stats."""


@stats_cli.command("refresh")
@click.option("--full", is_flag=True, help="Rebuild every rollup row (nightly, or after facts were deleted).")
def refresh_command(full: bool) -> None:
    """Recompute the stats rollups for everything changed since the last refresh."""
    report = services.refresh(full=full)
    db.session.commit()
    click.echo(report.summary())
