"""The stats filters: GET query parameters, validated so bad input gets a message instead of a 500."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import ValidationError

from actionkit.officials.models import OfficeType
from actionkit.stats.queries import OFFICE_LABELS, Filters

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


def _parse_date(text: str | None) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) or None when empty; ValueError with a readable message otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("Enter the date as YYYY-MM-DD, for example 2026-03-01.") from None
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"Choose a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")
    return day


class StatsFilterForm(FlaskForm):
    """Date range, campaign, office type and county; every field optional."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    date_from = StringField("From", name="from")
    date_to = StringField("To", name="to")
    campaign = SelectField("Campaign", validate_choice=False)
    office_type = SelectField("Office type", validate_choice=False)
    county = SelectField("County", validate_choice=False)

    def __init__(self, *args: Any, campaigns: list[tuple[str, str]], counties: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign.choices = [("", "All campaigns"), *campaigns]
        self.office_type.choices = [("", "All office types"), *((t.value, OFFICE_LABELS[t.value]) for t in OfficeType)]
        self.county.choices = [("", "All counties"), *((str(i), name) for i, name in counties)]

    def validate_date_from(self, field: StringField) -> None:
        try:
            _parse_date(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_date_to(self, field: StringField) -> None:
        try:
            end = _parse_date(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        try:
            start = _parse_date(self.date_from.data)
        except ValueError:
            return
        if start and end and end < start:
            raise ValidationError("The end date is before the start date.")

    def validate_campaign(self, field: SelectField) -> None:
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("There is no campaign with that name.")

    def validate_office_type(self, field: SelectField) -> None:
        if field.data and field.data not in {t.value for t in OfficeType}:
            raise ValidationError("Choose one of the office types in the list.")

    def validate_county(self, field: SelectField) -> None:
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose one of the counties in the list.")

    def filters(self) -> Filters:
        """The validated filters (call after validate())."""
        return Filters(date_from=_parse_date(self.date_from.data), date_to=_parse_date(self.date_to.data),
                       office_type=self.office_type.data or None,
                       county_id=int(self.county.data) if self.county.data else None)
