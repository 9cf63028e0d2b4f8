"""`flask delivery ...`: status, retry, sweep and print batches; each safe to re-run, one summary line at the end."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
import requests
from flask import current_app
from sqlalchemy import select

from actionkit.campaigns.models import Campaign
from actionkit.delivery import services, tasks
from actionkit.delivery.channels import Result, cwc  # tasks: registers delivery.send/sweep in every process
from actionkit.delivery.models import Channel, DeliveryStatus
from actionkit.extensions import db


@click.group("delivery")
def delivery_cli() -> None:
    """The delivery outbox: status, retries, sweeps and print batches."""


@delivery_cli.command("status")
def status_command() -> None:
    """Count deliveries by status and channel."""
    counts = services.status_counts()
    channels = [c for c in Channel if any(c in row for row in counts.values())]
    click.echo(f"{'status':<10}" + "".join(f"{c.value:>10}" for c in channels) + f"{'total':>10}")
    for status in DeliveryStatus:
        row = counts.get(status, {})
        if row:
            click.echo(f"{status.value:<10}" + "".join(f"{row.get(c, 0):>10}" for c in channels)
                       + f"{sum(row.values()):>10}")
    total = sum(sum(row.values()) for row in counts.values())
    parts = [f"{sum(counts[s].values())} {s.value}" for s in DeliveryStatus if s in counts]
    click.echo(f"{total} deliveries" + (": " + ", ".join(parts) if parts else ""))


@delivery_cli.command("retry")
@click.option("--dead", is_flag=True, help="Retry every dead delivery.")
@click.option("--failed", is_flag=True, help="Retry every failed delivery.")
@click.option("--held", is_flag=True, help="Retry every held delivery.")
@click.argument("ids", nargs=-1, type=int)
def retry_command(dead: bool, failed: bool, held: bool, ids: tuple[int, ...]) -> None:
    """Put failed, dead or held deliveries back to pending, with attempts and deadline reset.

    Sent, pending and sending deliveries named by id are left alone (a retry never sends a letter twice).
    """
    statuses = [s for s, on in ((DeliveryStatus.DEAD, dead), (DeliveryStatus.FAILED, failed),
                                (DeliveryStatus.HELD, held)) if on]
    if not statuses and not ids:
        raise click.UsageError("name deliveries by id, or pass --dead, --failed or --held")
    retried = services.retry(ids, statuses=statuses)
    db.session.commit()  # publishes the email deliveries (enqueue_on_commit)
    skipped = len(set(ids) - set(retried))
    click.echo(f"{len(retried)} deliveries back to pending (attempts reset)"
               + (f"; {skipped} named ids were not failed, dead or held" if skipped else ""))


@delivery_cli.command("sweep")
def sweep_command() -> None:
    """Run one sweep now: recover expired leases and publish due deliveries."""
    totals = tasks.sweep()
    click.echo(f"Swept: {totals['published']} published ({totals['requeued']} due, {totals['recovered']} "
               f"recovered leases), {totals['dead']} dead, {totals['held']} held")


@delivery_cli.command("print-batch")
@click.option("--office", "office_ids", type=int, multiple=True, help="Office id (repeatable).")
@click.option("--all-pending", is_flag=True, help="Every office with pending print letters.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for plain copies of the PDFs to print (delete them once printed); without it the "
                   "batches are only stored encrypted, for admins to download from the delivery monitor.")
def print_batch_command(office_ids: tuple[int, ...], all_pending: bool, output: Optional[Path]) -> None:
    """Write one PDF per office of its pending print letters (stored encrypted) and mark them sent."""
    from actionkit.delivery import print_batch

    if bool(office_ids) == all_pending:
        raise click.UsageError("pass --office ID (one or more) or --all-pending")
    targets = list(office_ids) or [row.office_id for row in services.print_queue()]
    results = []
    with click.progressbar(targets, label="Print batches", show_pos=True) as bar:
        for office_id in bar:
            try:
                result = print_batch.make_print_batch(office_id)
            except print_batch.PrintBatchError as exc:
                raise click.ClickException(str(exc)) from exc
            if result is not None:
                results.append(result)
                if output is not None:
                    output.mkdir(parents=True, exist_ok=True)
                    (output / result.download_name).write_bytes(result.data)
                    (output / result.download_name).chmod(0o600)
    for r in results:
        extra = f" ({r.withdrawn} withdrawn, not printed)" if r.withdrawn else ""
        where = output / r.download_name if output is not None else r.path
        click.echo(f"{where}: {r.letters} letters to {r.office_title}, batch {r.batch_id}{extra}")
    letters = sum(r.letters for r in results)
    click.echo(f"{len(results)} batches, {letters} letters written to "
               f"{output if output is not None else print_batch.output_dir()}"
               + ("" if output is not None else " (encrypted: download them from the delivery monitor)"))


@delivery_cli.command("cwc-validate")
@click.option("--office", "codes", multiple=True, help="Only this office code, e.g. HMS02 (repeatable).")
def cwc_validate_command(codes: tuple[str, ...]) -> None:
    """Post one sample message per active CWC office of the loaded states to the validate endpoint.

    Exits 0 only when every office accepts it. Nothing is delivered and no real person's data is sent.
    """
    cfg = current_app.config["CWC"]
    chambers = [c for c in (cwc.HOUSE, cwc.SENATE) if cfg.get(f"{c}_url")]
    if not chambers:
        raise click.ClickException("CWC is not configured: set ACTIONKIT_CWC__house_url and ACTIONKIT_CWC__api_key")
    states = services.congress_states()
    wanted = {c.strip().upper() for c in codes}
    results: list[tuple[str, bool]] = []
    for chamber in chambers:
        client = cwc.CwcClient(cfg, chamber)
        try:
            active = client.offices()
        except (requests.RequestException, ValueError) as exc:
            raise click.ClickException(f"{chamber.title()} CWC office list unavailable ({type(exc).__name__})") from exc
        chosen = [c for c in cwc.codes_for_states(active, states) if not wanted or c in wanted]
        unknown = sorted(c for c in wanted if c[:1] == chamber[0].upper() and c not in active)
        for code in unknown:
            click.echo(f"{code}: FAILED not an active {chamber.title()} office")
            results.append((code, False))
        for n, code in enumerate(chosen):
            sample, _ = cwc.sample_letter(code, code[1:3], delivery=-(n + 1))
            try:
                xml = cwc.build_xml(sample, cfg, chamber=chamber, office_code=code)
            except cwc.Undeliverable as exc:
                raise click.ClickException(str(exc)) from exc
            outcome = client.post(xml, ref=code, validate=True)
            ok = outcome.result is Result.SENT
            click.echo(f"{code}: ok" if ok else f"{code}: FAILED {outcome.reason}")
            results.append((code, ok))
    failed = sum(1 for _, ok in results if not ok)
    click.echo(f"{len(results)} offices validated: {len(results) - failed} ok, {failed} failed")
    if failed or not results:
        sys.exit(1)


@delivery_cli.command("reach")
@click.option("--campaign", "slug", help="Only the office types and state this campaign targets.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def reach_command(slug: Optional[str], as_json: bool) -> None:
    """For every targeted office type: which channel reaches each office, and the offices none reaches."""
    report = _reach_report(slug)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        return
    for office_type, row in report.by_type().items():
        channels = ", ".join(f"{name} {count}" for name, count in sorted(row["by_channel"].items()))
        click.echo(f"{office_type}: {row['offices']} offices, {row['reachable']} reachable, "
                   f"{row['unreachable']} only by hand ({channels})")
    if report.unreachable:
        click.echo("Unreachable except by hand delivery (to do):")
        for office in report.unreachable:
            click.echo(f"  #{office.office_id} {office.title}: " + "; ".join(office.missing))
    click.echo(f"{len(report.offices)} offices: {len(report.offices) - len(report.unreachable)} reachable, "
               f"{len(report.unreachable)} unreachable")


def _reach_report(slug: Optional[str]) -> services.ReachReport:
    if not slug:
        return services.reach()
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise click.ClickException(f"no campaign with the slug {slug!r}")
    return services.reach(campaign.office_types, campaign.state, campaign=campaign.slug)
