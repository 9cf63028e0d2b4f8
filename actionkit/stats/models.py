"""Rollups of actions, letters and deliveries, rebuilt from those tables by `stats.refresh`.

GROUP BY over a million deliveries takes seconds, so stats pages read these instead. Each table holds day rows
("d") and month rows ("m", day = first of the month), so a date range reads whole months plus the days at its
edges; and rows per county (county_key = division id, or NO_COUNTY) besides rows summed over all counties
(county_key = ALL_COUNTIES), so a page reads only the slice it shows. Only day rows per county come from the
facts; the others are sums of them. No personal data: ids of campaigns, divisions, offices and officials, and
counts.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from actionkit.extensions import db

ALL_COUNTIES = 0  # county_key of rows summed over every county
NO_COUNTY = -1  # county_key of actions whose address matched no county
NO_DELIVERY = "none"  # status/channel of a letter that has no delivery row
DAY = "d"
MONTH = "m"


class ActionRollup(db.Model):
    """Actions per campaign, day or month, county, language and new/returning."""

    __tablename__ = "stats_action_rollups"
    __table_args__ = (Index("ix_stats_action_rollups_campaign_day", "campaign_id", "day"),)  # the refresh's keys

    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    county_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    is_returning: Mapped[bool] = mapped_column(primary_key=True)
    actions: Mapped[int] = mapped_column(Integer)
    first_actions: Mapped[int] = mapped_column(Integer)  # supporters' first action on any campaign


class OfficeRollup(db.Model):
    """Letters per campaign, day or month, county, office and official (one letter per action and office)."""

    __tablename__ = "stats_office_rollups"
    __table_args__ = (Index("ix_stats_office_rollups_campaign_day", "campaign_id", "day"),)  # the refresh's keys

    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    county_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_key: Mapped[int] = mapped_column(Integer, primary_key=True)  # official id, 0 when none
    office_type: Mapped[str] = mapped_column(String(32))
    letters: Mapped[int] = mapped_column(Integer)


class DeliveryRollup(db.Model):
    """Letters per office type x delivery status x channel (NO_DELIVERY when a letter has no delivery row)."""

    __tablename__ = "stats_delivery_rollups"
    __table_args__ = (Index("ix_stats_delivery_rollups_campaign_day", "campaign_id", "day"),)  # the refresh's keys

    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    county_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    letters: Mapped[int] = mapped_column(Integer)


class RollupState(db.Model):
    """The single row saying when the rollups were last rebuilt, so a refresh knows what changed since."""

    __tablename__ = "stats_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))  # facts seen up to
    full_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))  # last full rebuild
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Most letters any one action has: n letters of one delivery cell come from at least n / max_letters people.
    max_letters: Mapped[int] = mapped_column(Integer, default=0)
