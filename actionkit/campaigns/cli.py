"""`flask campaigns demo`: load the sample campaign the demo and the browser tests use (safe to re-run)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from actionkit.campaigns import services
from actionkit.extensions import db

campaigns_cli = AppGroup("campaigns", help="Campaigns: load the sample campaign.")


@campaigns_cli.command("demo")
def demo_command() -> None:
    """Create the live sample campaign 'End ICE detainer agreements in Mississippi' unless it exists."""
    campaign, created = services.create_demo_campaign()
    db.session.commit()
    state = "created" if created else "already there (left as it is)"
    click.echo(f"sample campaign {state}: /act/{campaign.slug}")
