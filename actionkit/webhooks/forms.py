"""The admin form for a new webhook endpoint (a Standard Webhooks receiver or Action Network)."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, ValidationError

from actionkit.webhooks.clients import Refused, check_url
from actionkit.webhooks.services import EVENTS, PERSONAL_FIELDS

ACTION_NETWORK_URL = "https://actionnetwork.org/api/v2"


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class EndpointForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = RadioField("Kind", choices=[("webhook", "Webhook (signed per Standard Webhooks)"),
                                       ("action_network", "Action Network (consenting supporters, person signup "
                                                          "helper)")], default="webhook")
    url = StringField("URL (Action Network: its API base)", default="",
                      validators=[DataRequired(), Length(max=500)])
    api_key = PasswordField("Action Network API key (only for Action Network)")
    events = _Checkboxes("Events", choices=list(EVENTS.items()))
    fields = _Checkboxes("Personal fields it may receive (only for supporters who consent)",
                         choices=[(f, f.replace("_", " ")) for f in PERSONAL_FIELDS])

    def validate_url(self, field: Any) -> None:
        url = (field.data or "").strip()
        target = url.rstrip("/") + "/people/" if self.kind.data == "action_network" else url
        try:
            check_url(target)
        except Refused as exc:
            raise ValidationError(f"This address cannot be used: {exc}.") from None

    def validate_api_key(self, field: Any) -> None:
        if self.kind.data == "action_network" and len((field.data or "").strip()) < 8:
            raise ValidationError("Enter the API key from Action Network (Start Organizing → Details → API & Sync).")

    def validate_events(self, field: Any) -> None:
        if self.kind.data == "webhook" and not field.data:
            raise ValidationError("Choose at least one event.")
