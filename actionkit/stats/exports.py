"""CSV exports: the page's aggregates (suppressed like the page) and, for admins, actions with personal data."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Iterable, Iterator

import sqlalchemy as sa

from actionkit.campaigns.models import Campaign
from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.officials.models import Division
from actionkit.staff.models import AuditEntry, StaffUser
from actionkit.stats.queries import CHANNEL_LABELS, STATUS_LABELS, Filters, Stats
from actionkit.stats.services import day_start

ACTION_COLUMNS = ["name", "email", "city", "county", "date", "language", "letters", "letters_sent"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def audit(user: StaffUser, action: str, campaign: Campaign, filters: Filters, *, rows: int | None) -> AuditEntry:
    """Record an export: who, which campaign, which filters and how many rows; never any personal data."""
    details: dict[str, Any] = {"filters": filters.params(), "format": "csv"}
    if rows is not None:
        details["rows"] = rows
    entry = AuditEntry(actor_id=user.id, action=action, target_type="campaign", target_id=str(campaign.id),
                       details=details)
    db.session.add(entry)
    db.session.flush()
    return entry


def safe(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (supporters typed these values)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """Rows as CSV text, one line at a time (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def aggregate_rows(stats: Stats) -> Iterator[list[Any]]:
    """Long format (section, key, label, value): every figure of the page, "<5" where the page shows it."""
    yield ["section", "key", "label", "value"]
    f = stats.filters
    for key, value in (("from", f.date_from), ("to", f.date_to), ("office_type", f.office_type),
                       ("county", f.county_id)):
        if value is not None:
            yield ["filter", key, "", value.isoformat() if hasattr(value, "isoformat") else value]
    if stats.refreshed_at:
        yield ["filter", "figures_as_of", "", stats.refreshed_at.isoformat(timespec="seconds")]
    for key, label, cell in (("supporters", "Supporters", stats.supporters), ("actions", "Actions", stats.actions),
                             ("letters", "Letters", stats.letters), ("deliveries", "Deliveries", stats.deliveries),
                             ("sent", "Deliveries sent", stats.sent)):
        yield ["total", key, label, cell.text]
    for row in stats.per_campaign:
        yield ["campaign", row.key, row.label, row.cell.text]
        if row.extra.get("goal"):
            yield ["goal", row.key, row.label, row.extra["goal"]]
            yield ["goal_progress", row.key, row.label,
                   "—" if row.cell.concealed else f"{100 * row.cell.value / row.extra['goal']:.1f}%"]
    for row in stats.per_day:
        yield ["day", row.label, row.label, row.cell.text]
    for row in stats.counties:
        yield ["county", "" if row.key == -1 else row.key, row.label, row.cell.text]
    for row in stats.office_types:
        yield ["office_type", row.key, row.label, row.cell.text]
    for row in stats.top_officials:
        yield ["official", f"{row.key[0]}:{row.key[1]}", f"{row.label} ({row.extra['office']})", row.cell.text]
    for row in stats.sheriffs:
        yield ["sheriff", row.key, f"{row.label} ({row.extra['office']})", row.cell.text]
    for (status, channel), cell in sorted(stats.deliveries_by.items()):
        label = f"{STATUS_LABELS.get(status, status) if status else 'All statuses'} / " \
                f"{CHANNEL_LABELS.get(channel, channel) if channel else 'All channels'}"
        yield ["delivery", f"{status or '*'}/{channel or '*'}", label, cell.text]
    for row in stats.returning:
        yield ["returning", "returning" if row.key else "new", row.label, row.cell.text]
    for row in stats.languages:
        yield ["language", row.key, row.label, row.cell.text]
    yield ["language", "non_english", "Not in English", stats.non_english.text]
    yield ["language", "non_english_share", "Share not in English", stats.non_english.share_of(stats.actions)]
    for row in stats.sources:
        yield ["source", row.key, row.label, row.cell.text]


def _action_query(campaign: Campaign, filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The personal export honours the date and county filters (office type is about letters, not people)."""
    where = [Action.campaign_id == campaign.id]
    if filters.date_from:
        where.append(Action.created_at >= day_start(filters.date_from))
    if filters.date_to:
        where.append(Action.created_at < day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.county_id:
        where.append(Action.county_id == filters.county_id)
    return where


def count_actions(campaign: Campaign, filters: Filters) -> int:
    """How many rows the personal export has (recorded in the audit log)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Action)
                             .where(*_action_query(campaign, filters))) or 0


def action_rows(campaign: Campaign, filters: Filters) -> Iterator[list[Any]]:
    """One row per action: the supporter's decrypted name and e-mail, city, county, UTC date, language and how
    many of its letters were sent. Streams in batches; street, ZIP and phone are never read."""
    per_action = (sa.select(Letter.action_id, sa.func.count(Letter.id).label("letters"),
                            sa.func.sum(sa.case((Delivery.status == DeliveryStatus.SENT.value, 1), else_=0))
                            .label("sent"))
                  .join(Action, Action.id == Letter.action_id)
                  .outerjoin(Delivery, Delivery.letter_id == Letter.id)
                  .where(*_action_query(campaign, filters)).group_by(Letter.action_id).subquery())
    stmt = (sa.select(Supporter.first_name, Supporter.last_name, Supporter.email, Action.city, Division.name,
                      Action.created_at, Action.language, per_action.c.letters, per_action.c.sent)
            .join(Supporter, Supporter.id == Action.supporter_id)
            .outerjoin(Division, Division.id == Action.county_id)
            .outerjoin(per_action, per_action.c.action_id == Action.id)
            .where(*_action_query(campaign, filters)).order_by(Action.created_at, Action.id)
            .execution_options(yield_per=500))
    yield ACTION_COLUMNS
    for first, last, email, city, county, created, language, letters, sent in db.session.execute(stmt):
        name = " ".join(part for part in (first, last) if part)
        yield [name, email or "", city or "", county or "", utc_day(created).isoformat(), language, letters or 0,
               sent or 0]


def utc_day(when: dt.datetime) -> dt.date:
    """The UTC day of a timestamp (SQLite gives naive UTC, PostgreSQL aware in the session's zone)."""
    return (when.astimezone(dt.timezone.utc) if when.tzinfo else when).date()

