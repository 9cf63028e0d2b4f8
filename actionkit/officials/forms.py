"""Forms of the officials admin: search, editing an office and its holder, the sheriffs CSV upload."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Form, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp, URL, ValidationError

from actionkit.officials.models import OfficeType
from actionkit.officials.responses import ResponseError, check_source_url
from actionkit.officials.services import STATE_NAMES

OFFICE_TYPE_CHOICES = [("", "any office")] + [(t.value, t.value.replace("_", " ")) for t in OfficeType]
STATE_CHOICES = sorted(STATE_NAMES.items(), key=lambda item: item[1])


class SearchForm(Form):
    """GET parameters of the directory search (no CSRF: it changes nothing)."""

    q = StringField("Name, office, county or district", validators=[Optional(), Length(max=200)])
    type = SelectField("Office", choices=OFFICE_TYPE_CHOICES, default="")
    state = SelectField("State", choices=[("", "any state")] + STATE_CHOICES, default="")
    undeliverable = SelectField("Show", choices=[("", "all offices"),
                                                 ("1", "only offices with no email and no postal address")],
                                default="")


class OfficeForm(FlaskForm):
    email = StringField("Email", validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    phone = StringField("Phone", validators=[Optional(), Length(max=64)])
    fax = StringField("Fax", validators=[Optional(), Length(max=64)])
    postal_address = TextAreaField("Postal address", validators=[Optional(), Length(max=1000)],
                                   render_kw={"rows": 4})
    web_form_url = StringField("Web contact form", validators=[Optional(), URL(), Length(max=512)])
    website = StringField("Website", validators=[Optional(), URL(), Length(max=512)])
    cwc_office_code = StringField("CWC office code (House)", validators=[Optional(), Length(max=16),
                                                                          Regexp(r"^[A-Z0-9]+$", message=
                                                                                 "Capital letters and digits.")])
    holder_mode = RadioField("Holder", default="keep", choices=[
        ("keep", "Same person: correct the details below"),
        ("new", "Someone else holds the office now (the previous holder is kept in the history)"),
        ("vacant", "Vacant, or the holder is unknown (letters go to the office)"),
    ])
    holder_name = StringField("Full name as it should appear on letters", validators=[Optional(), Length(max=255)])
    holder_first_name = StringField("First name", validators=[Optional(), Length(max=128)])
    holder_last_name = StringField("Last name (used in the salutation)", validators=[Optional(), Length(max=128)])
    holder_party = StringField("Party", validators=[Optional(), Length(max=64)])
    holder_email = StringField("Holder's own email", validators=[Optional(), Email(check_deliverability=False),
                                                                 Length(max=255)])
    holder_phone = StringField("Holder's phone", validators=[Optional(), Length(max=64)])
    submit = SubmitField("Save")


class FixedTargetForm(FlaskForm):
    """A new target every supporter writes to (a federal agency head, an ICE field office)."""

    title = StringField("Title (the office, as letters address it)", validators=[Length(max=255)])
    name = StringField("Holder's full name (empty when unknown: letters go to the office)",
                       validators=[Optional(), Length(max=255)])
    first_name = StringField("First name", validators=[Optional(), Length(max=128)])
    last_name = StringField("Last name (used in the salutation)", validators=[Optional(), Length(max=128)])
    email = StringField("Email", validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    postal_address = TextAreaField("Postal address", validators=[Optional(), Length(max=1000)],
                                   render_kw={"rows": 4})
    fax = StringField("Fax", validators=[Optional(), Length(max=64)])
    web_form_url = StringField("Web contact form (not sent through: such letters go to the print to-do)",
                               validators=[Optional(), URL(), Length(max=512)])
    phone = StringField("Phone (for the call page)", validators=[Optional(), Length(max=64)])
    website = StringField("Website", validators=[Optional(), URL(), Length(max=512)])
    submit = SubmitField("Create the target")


class UploadForm(FlaskForm):
    file = FileField("Sheriffs or police chiefs CSV", validators=[FileRequired("Choose a CSV file.")])
    state = SelectField("State", choices=STATE_CHOICES, default="ms")
    submit = SubmitField("Upload and preview")


class ApplyForm(FlaskForm):
    state = HiddenField()
    file_name = HiddenField()
    apply = SubmitField("Apply these changes")
    cancel = SubmitField("Cancel")


class ResponseForm(FlaskForm):
    """An official's response, recorded by staff and shown on the public progress page."""

    position = SelectField("Position", choices=[
        ("supports", "Supports ending the agreements"), ("opposes", "Opposes ending them"),
        ("undecided", "Undecided"), ("no_response", "No response")])
    responded_on = DateField("Date of the response (or of the last try, for no response)",
                             validators=[InputRequired("Enter the date.")])
    note = TextAreaField("Public note (shown on the progress page)", validators=[
        Optional(), Length(max=280, message="Keep the note under 280 characters.")])
    source_label = StringField("Source (e.g. letter of 3 March, meeting, news story)",
                               validators=[Optional(), Length(max=120)])
    source_url = StringField("Source link (http or https)", validators=[Optional(), Length(max=512)])
    submit = SubmitField("Record the response")

    def validate_source_url(self, field: Any) -> None:
        try:
            check_source_url(field.data or "")
        except ResponseError as exc:
            raise ValidationError(str(exc)) from None
