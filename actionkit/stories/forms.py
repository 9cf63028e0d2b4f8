"""The storyteller's form, the deletion form, and the moderator's forms."""
from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from actionkit.letters.forms import SupporterForm, paragraph_fits
from actionkit.stories.models import Consent
from actionkit.stories.services import MAX_NAME, MAX_TEXT, clean_text


def _strip(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


def consent_choices() -> list[tuple[str, Any]]:
    return [
        (Consent.PRIVATE.value, _l("Only the organizers may read my story. Do not publish it.")),
        (Consent.ANONYMOUS.value, _l("You may publish my story without my name.")),
        (Consent.NAMED.value, _l("You may publish my story with the first name I gave and my county.")),
    ]


class StoryForm(SupporterForm):
    """A story: the text, an optional name or pseudonym, county and e-mail, and the consent choice."""

    text = TextAreaField(_l("Your story"), validators=[
        InputRequired(_l("Write your story before sending it.")),
        Length(max=MAX_TEXT, message=_l("Please keep your story under %(max)d characters."))])
    name = StringField(_l("First name or a made-up name (optional)"), filters=[_strip], validators=[
        Optional(), Length(max=MAX_NAME, message=_l("Please use a shorter name."))])
    county = SelectField(_l("County (optional)"), coerce=str, validate_choice=True)
    consent = RadioField(_l("Who may read your story?"), choices=consent_choices(), validators=[
        InputRequired(_l("Choose who may read your story."))])
    email = EmailField(_l("Email (optional)"), filters=[lambda v: v.strip() if isinstance(v, str) else v],
                       validators=[Optional(), Length(max=254, message=_l("Your email is too long."))])
    contact_ok = BooleanField(_l("The organizers may contact me about my story."), default=False)
    # Shown only on campaigns whose letters take a paragraph; off unless the storyteller ticks it.
    use_in_letters = BooleanField(_l("Also add my story to my letters to my officials, as my own paragraph."),
                                  default=False)
    website = StringField(_l("Leave this field empty"))  # honeypot

    def __init__(self, *args: Any, counties: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.county.choices = [("", _l("I prefer not to say"))] + [(str(i), n) for i, n in counties]

    def validate_text(self, field: Any) -> None:
        if not clean_text(field.data or ""):
            raise ValidationError(_l("Write your story before sending it."))

    def validate_use_in_letters(self, field: Any) -> None:
        if field.data and not paragraph_fits(clean_text(self.text.data or "")):
            raise ValidationError(_l("A letter's paragraph can be up to %(max)s characters, and your story is "
                                     "longer. Shorten it, or leave this box unticked.", max="2,000"))

    def validate_name(self, field: Any) -> None:
        if field.data and any(not ch.isprintable() for ch in field.data):
            raise ValidationError(_l("Please use only letters, numbers and ordinary punctuation."))

    def validate_email(self, field: Any) -> None:
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(_l("Enter an email address like name@example.com, or leave it empty.")) from None

    def county_id(self) -> int | None:
        return int(self.county.data) if self.county.data else None


class DeleteStoryForm(SupporterForm):
    """Deleting one's story with the code shown after sending it."""

    code = StringField(_l("Your deletion code"), filters=[_strip], validators=[
        InputRequired(_l("Enter the code you were given, like K7QM2-3TXAP-W9RHB.")), Length(max=40)])


class ApproveForm(FlaskForm):
    """Moderator: the published (redacted) copy and the level, at most the storyteller's consent."""

    published_text = TextAreaField("Text to publish (remove identifying details)", validators=[
        InputRequired("The published text is empty."), Length(max=MAX_TEXT)])
    level = SelectField("Publish", choices=[(Consent.ANONYMOUS.value, "Without a name"),
                                            (Consent.NAMED.value, "With the first name and county they gave")])


class ModerationActionForm(FlaskForm):
    """Reject, feature, unfeature, keep: a button with the CSRF token."""
