"""`flask officials …`: sync the directory from public sources, show a division, export a snapshot."""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup

from actionkit.extensions import db
from actionkit.officials import importers, services
from actionkit.officials.models import SyncRun

T = TypeVar("T")

officials_cli = AppGroup("officials", help="The officials directory: sync, show, export.")


def _click_progress(items: Iterable[T], length: int, label: str) -> Iterator[T]:
    with click.progressbar(items, length=length, label=label.ljust(28), file=sys.stderr,
                           show_pos=True) as bar:
        yield from bar


def run_sync(root: Path, state: str, as_of: dt.date | None = None, *, progress=importers.no_progress,
             echo=lambda s: None) -> tuple[list[services.SyncReport], list[str]]:
    """Load every source under root, one transaction per source; a failing source is rolled back
    and reported, the others still load. Returns (reports, errors)."""
    reports: list[services.SyncReport] = []
    errors: list[str] = []
    for mod, path in importers.discover(root):
        ctx = importers.ImportContext(as_of=as_of, progress=progress)
        try:
            report = mod.load(path, state, ctx)
            db.session.add(SyncRun(source=report.source, location=str(path), sha256=importers.sha256_of(path),
                                   as_of=ctx.date_for(path), counts=report.counts(), changes=report.changes[:500]))
            db.session.commit()
        except services.SourceError as exc:
            db.session.rollback()
            errors.append(str(exc))
            echo(f"ERROR {mod.KIND}: {exc} (nothing from this file was stored)")
            continue
        reports.append(report)
        echo(report.summary())
    return reports, errors


@officials_cli.command("sync")
@click.option("--state", default="MS", show_default=True, help="Two-letter state code.")
@click.option("--from", "from_path", type=click.Path(exists=True, path_type=Path),
              help="A folder laid out like shared/data, or one file of any supported format. "
                   "Default: download the official bulk files.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Date the data is current as of.")
@click.option("--verbose", "-v", is_flag=True, help="List every change, not just the counts.")
def sync_command(state: str, from_path: Path | None, as_of: dt.datetime | None, verbose: bool) -> None:
    """Load offices and officials from public sources. Safe to re-run; never deletes history."""
    code = services.state_code(state)
    as_of_date = as_of.date() if as_of else None
    if from_path is None:
        from actionkit.officials.download import fetch_sources

        with tempfile.TemporaryDirectory(prefix="actionkit-sync-") as tmp:
            root, failures = fetch_sources(current_app.config["SOURCES"], code, Path(tmp), echo=click.echo,
                                           timeout=current_app.config["HTTP_TIMEOUT"])
            reports, errors = run_sync(root, code, as_of_date, progress=_click_progress, echo=click.echo)
            errors = failures + errors
    else:
        reports, errors = run_sync(from_path.resolve(), code, as_of_date, progress=_click_progress,
                                   echo=click.echo)
    if verbose:
        for report in reports:
            for change in report.changes:
                click.echo(f"  {report.source}: {change}")
    for report in reports:
        for problem in report.problems:
            click.echo(f"  note {report.source}: {problem}")
    total = {k: sum(r.counts()[k] for r in reports) for k in ("created", "updated", "vacated", "unchanged")}
    click.echo(f"sync {code.upper()}: {len(reports)} sources loaded, {len(errors)} failed; "
               + ", ".join(f"{v} {k}" for k, v in total.items()))
    if errors:
        sys.exit(1)


@officials_cli.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(key: str, as_json: bool) -> None:
    """Print the offices and holders of a division (OCD id, GEOID/FIPS, or county name)."""
    divisions = services.find_divisions(key)
    if not divisions:
        raise click.ClickException(f"no division matches {key!r}")
    out = [services.describe_division(d) for d in divisions]
    if as_json:
        click.echo(json.dumps(out if len(out) > 1 else out[0], indent=2, default=str))
        return
    for d in out:
        click.echo(f"{d['name']}  [{d['ocd_id']}]  GEOID {d['geoid'] or '-'}")
        if not d["offices"]:
            click.echo("  (no offices)")
        for o in d["offices"]:
            holder = o["holder"]["name"] if o["holder"] else "(vacant or unknown)"
            click.echo(f"  {o['title']}: {holder}")
            contact = ", ".join(f"{k} {o[k]}" for k in ("email", "phone") if o[k])
            if contact:
                click.echo(f"    {contact}")
            for a in o["agreements_287g"]:
                click.echo(f"    287(g): {a['support_type']} ({a['status']}, signed {a['signed_on'] or '-'})")
            click.echo(f"    source {o['source']} as of {o['as_of'] or '-'}")


@officials_cli.command("export")
@click.option("--state", default="MS", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="Snapshot file (.json.gz).")
def export_command(state: str, output: Path) -> None:
    """Write the state's directory as a compact snapshot that `sync --from` can load offline."""
    from actionkit.officials import snapshot

    code = services.state_code(state)
    counts = snapshot.export(code, output)
    click.echo(f"exported {code.upper()} to {output}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


from actionkit.officials.models import OfficeType  # noqa: E402  (used by the match command below)


@officials_cli.command("match")
@click.argument("address")
@click.option("--levels", default=",".join(t.value for t in OfficeType), show_default=True,
              help="Comma-separated office types to find seats for.")
@click.option("--state", default="MS", show_default=True, help="The campaign's state.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def match_command(address: str, levels: str, state: str, as_json: bool) -> None:
    """Match an address to its districts, offices and current holders, with the accuracy and source."""
    from actionkit.officials import matching

    try:
        wanted = [OfficeType(v.strip()) for v in levels.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"use a comma list of {', '.join(t.value for t in OfficeType)}",
                                 param_hint="--levels") from None
    try:
        result = matching.match(address, wanted, state=services.state_code(state))
    except matching.AddressError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from None
    db.session.commit()  # the cache row, if any
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    click.echo(f"accuracy: {result.accuracy.value}   source: {result.source}"
               + ("   (supporter must confirm)" if result.needs_confirmation else ""))
    for kind, division in result.divisions.items():
        click.echo(f"  {kind.value:<5} {division.name}  [{division.ocd_id}]  GEOID {division.geoid or '-'}")
    for kind, options in result.candidates.items():
        click.echo(f"  {kind.value:<5} one of: " + " | ".join(d.name for d in options))
    for address_option in result.address_candidates:
        click.echo(f"  address option: {address_option}")
    if result.pending:
        click.echo("pending (resolved later): " + ", ".join(sorted(p.value for p in result.pending)))
    for office, holder in result.holders():
        who = f"{holder.name}" + (f" ({holder.party})" if holder.party else "") if holder else "(vacant or unknown)"
        click.echo(f"  {office.title}: {who}")
    for code in result.warnings:
        click.echo(f"note {code}: {matching.message(code)}")
