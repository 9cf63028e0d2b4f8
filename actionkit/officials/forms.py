"""Forms of the officials admin: search, editing an office and its holder, the sheriffs CSV upload."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, Form, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from actionkit.bodylimits import BoundedForm
from actionkit.officials import validation
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


class Checked:
    """A form validator that applies the directory's shared rule for one field (officials/validation.py), the
    same rule the sheriffs CSV import applies to its rows."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.max = validation.MAX_LENGTHS[field]  # BoundedForm never echoes more than this, and then says:
        self.message = "This value is too long (%(length)d characters; at most %(max)d)."

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            validation.clean(self.field, field.data)
        except validation.Invalid as exc:
            raise ValidationError(f"This value {exc}.") from None


class OfficeForm(BoundedForm):
    email = StringField("Email", validators=[Optional(), Checked("email")])
    phone = StringField("Phone", validators=[Optional(), Checked("phone")])
    fax = StringField("Fax", validators=[Optional(), Checked("fax")])
    postal_address = TextAreaField("Postal address", validators=[Optional(), Checked("postal_address")],
                                   render_kw={"rows": 4})
    web_form_url = StringField("Web contact form", validators=[Optional(), Checked("web_form_url")])
    website = StringField("Website", validators=[Optional(), Checked("website")])
    cwc_office_code = StringField("CWC office code (House)", validators=[Optional(), Checked("cwc_office_code")])
    holder_mode = RadioField("Holder", default="keep", choices=[
        ("keep", "Same person: correct the details below"),
        ("new", "Someone else holds the office now (the previous holder is kept in the history)"),
        ("vacant", "Vacant, or the holder is unknown (letters go to the office)"),
    ])
    holder_name = StringField("Full name as it should appear on letters", validators=[Optional(), Checked("name")])
    holder_first_name = StringField("First name", validators=[Optional(), Checked("first_name")])
    holder_last_name = StringField("Last name (used in the salutation)",
                                   validators=[Optional(), Checked("last_name")])
    holder_party = StringField("Party", validators=[Optional(), Checked("party")])
    holder_email = StringField("Holder's own email", validators=[Optional(), Checked("email")])
    holder_phone = StringField("Holder's phone", validators=[Optional(), Checked("phone")])
    submit = SubmitField("Save")


class FixedTargetForm(BoundedForm):
    """A new target every supporter writes to (a federal agency head, an ICE field office)."""

    title = StringField("Title (the office, as letters address it)", validators=[Optional(), Checked("name")])
    name = StringField("Holder's full name (empty when unknown: letters go to the office)",
                       validators=[Optional(), Checked("name")])
    first_name = StringField("First name", validators=[Optional(), Checked("first_name")])
    last_name = StringField("Last name (used in the salutation)", validators=[Optional(), Checked("last_name")])
    email = StringField("Email", validators=[Optional(), Checked("email")])
    postal_address = TextAreaField("Postal address", validators=[Optional(), Checked("postal_address")],
                                   render_kw={"rows": 4})
    fax = StringField("Fax", validators=[Optional(), Checked("fax")])
    web_form_url = StringField("Web contact form (not sent through: such letters go to the print to-do)",
                               validators=[Optional(), Checked("web_form_url")])
    phone = StringField("Phone", validators=[Optional(), Checked("phone")])
    website = StringField("Website", validators=[Optional(), Checked("website")])
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
