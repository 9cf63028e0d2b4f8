"""Forms of the supporter's journey, and the sealed state that carries answers from one step to the next.

Nothing is stored server-side before the signature and nothing personal goes into a URL: each step posts a
hidden `state` field, Fernet-encrypted and authenticated under a key derived from SECRET_KEY, that expires.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import zlib
from typing import Any

from babel import support
from cryptography.fernet import Fernet, InvalidToken
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, SelectField, StringField, TelField, \
    TextAreaField
from wtforms.i18n import messages_path
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from actionkit.bodylimits import BoundedForm
from actionkit.campaigns.models import Campaign
from actionkit.campaigns import sources
from actionkit.letters import labels
from actionkit.letters.services import MAX_PERSONAL_CHARS, Signer
from actionkit.officials.services import STATE_NAMES

STATE_MAX_CHARS = 20_000  # a sealed state is far smaller; a longer one is refused unread
STATE_MAX_AGE_SECONDS = 2 * 3600  # a supporter on a phone may pause; after this they start again
_ZIP = re.compile(r"\d{5}(?:-?\d{4})?")
_PHONE = re.compile(r"[\d\s()+.\-]{7,25}")


class ExpiredState(Exception):
    """The hidden state is missing, tampered with, from another campaign, or too old."""


def _fernet(purpose: bytes = b"actionkit.letters.form-state.v1") -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = hmac.new(secret, purpose, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


_PARAGRAPH_KEY = b"actionkit.letters.offered-paragraph.v1"  # its own key: never mistaken for a step's state


MAX_PARAGRAPH_COOKIE = 3500  # bytes; browsers keep 4 KB per cookie


def seal_paragraph(campaign_id: int, text: str) -> str:
    """A paragraph the supporter chose to add to their letters (their story), compressed and encrypted for a
    cookie: 2,000 characters of English or Spanish stay well under a cookie's 4 KB."""
    raw = json.dumps({"campaign": campaign_id, "paragraph": text}, ensure_ascii=False, separators=(",", ":"))
    return _fernet(_PARAGRAPH_KEY).encrypt(zlib.compress(raw.encode(), 9)).decode("ascii")


def paragraph_fits(text: str) -> bool:
    """Whether `text` can be carried to the letters page as a paragraph (length, and its sealed cookie's size)."""
    return len(text) <= MAX_PERSONAL_CHARS and len(seal_paragraph(0, text)) <= MAX_PARAGRAPH_COOKIE - 20


def unseal_paragraph(token: str | None, campaign_id: int) -> str | None:
    """The paragraph sealed for this campaign, or None when missing, tampered with, another campaign's or old."""
    if not token or len(token) > 8000:
        return None
    try:
        raw = zlib.decompressobj().decompress(_fernet(_PARAGRAPH_KEY).decrypt(token.encode("ascii"),
                                                                            ttl=STATE_MAX_AGE_SECONDS), 20_000)
        data = json.loads(raw)
    except (InvalidToken, ValueError, UnicodeError, zlib.error):
        return None
    if not isinstance(data, dict) or data.get("campaign") != campaign_id or not isinstance(data.get("paragraph"), str):
        return None
    return data["paragraph"][:MAX_PERSONAL_CHARS]


def seal(data: dict[str, Any]) -> str:
    """Encrypt and sign step data for a hidden field."""
    return _fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode("ascii")


def unseal(token: str | None, campaign_id: int) -> dict[str, Any]:
    """The step data sealed for this campaign; raises ExpiredState otherwise."""
    if not token or len(token) > STATE_MAX_CHARS:
        raise ExpiredState()
    try:
        data = json.loads(_fernet().decrypt(token.encode("ascii"), ttl=STATE_MAX_AGE_SECONDS))
    except (InvalidToken, ValueError, UnicodeError):
        raise ExpiredState() from None
    if not isinstance(data, dict) or data.get("campaign") != campaign_id:
        raise ExpiredState()
    return data


def _no_control_characters(form: FlaskForm, field: Any) -> None:
    if field.data and any(not ch.isprintable() for ch in field.data):
        raise ValidationError(_l("Please use only letters, numbers and ordinary punctuation."))


def _strip(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


def state_choices() -> list[Any]:
    """US states by name, values as postal codes (SelectChoice on WTForms >= 3.3, where tuples are deprecated)."""
    try:
        from wtforms import SelectChoice
    except ImportError:  # WTForms < 3.3
        return sorted(((code.upper(), name) for code, name in STATE_NAMES.items()), key=lambda c: c[1])
    return [SelectChoice(code.upper(), name) for code, name in sorted(STATE_NAMES.items(), key=lambda c: c[1])]


@functools.lru_cache(maxsize=16)
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class SupporterForm(BoundedForm):
    """The supporter pages' forms: WTForms' own messages in the page's language, from a catalog loaded once per
    process and language (Flask-WTF reads the .mo file again on every request)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalog(str(get_locale() or "en"))


class SignupForm(SupporterForm):
    """Step 1: who the supporter is and where they live."""

    first_name = StringField(_l("First name"), filters=[_strip], validators=[
        InputRequired(_l("Enter your first name.")), Length(max=100, message=_l("Your first name is too long.")),
        _no_control_characters])
    last_name = StringField(_l("Last name"), filters=[_strip], validators=[
        InputRequired(_l("Enter your last name.")), Length(max=100, message=_l("Your last name is too long.")),
        _no_control_characters])
    email = EmailField(_l("Email"), filters=[lambda v: v.strip() if isinstance(v, str) else v], validators=[
        InputRequired(_l("Enter your email address.")), Length(max=254, message=_l("Your email is too long."))])
    street = StringField(_l("Street address"), filters=[_strip], validators=[
        InputRequired(_l("Enter your street address.")), Length(max=120, message=_l("Your street address is too long.")),
        _no_control_characters])
    city = StringField(_l("City"), filters=[_strip], validators=[
        InputRequired(_l("Enter your city or town.")), Length(max=80, message=_l("The city name is too long.")),
        _no_control_characters])
    state = SelectField(_l("State"), choices=state_choices(), validate_choice=True)
    zip = StringField(_l("ZIP code"), filters=[_strip], validators=[InputRequired(_l("Enter your ZIP code."))])
    phone = TelField(_l("Phone (optional)"), filters=[_strip], validators=[Optional()])
    opt_in = BooleanField(labels.CONSENT_LABEL, default=False)
    website = StringField(_l("Leave this field empty"))  # honeypot: people never see it, some robots fill it in
    source = HiddenField(filters=[sources.clean])  # where the visit came from (?source= / utm_*), a short code

    def validate_email(self, field: Any) -> None:
        """Addresses our mail can reach: an internationalised domain is kept in its ASCII (IDNA) form, which every
        mail server accepts; letters outside ASCII before the @ need SMTPUTF8, which the confirmation e-mail and
        the officials' Reply-To cannot count on, so they are refused here with a clear message."""
        value = field.data or ""
        if not value.partition("@")[0].isascii() and "@" in value:
            raise ValidationError(_l("We cannot send email to addresses with accents or other special letters "
                                     "before the @ (like ñoño@example.net). Please use another address."))
        try:
            checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError(_l("Enter an email address like name@example.com.")) from None
        field.data = checked.ascii_email or value

    def validate_zip(self, field: Any) -> None:
        if not _ZIP.fullmatch(field.data or ""):
            raise ValidationError(_l("Enter a 5-digit ZIP code, like 39201."))

    def validate_phone(self, field: Any) -> None:
        digits = re.sub(r"\D", "", field.data or "")
        if not _PHONE.fullmatch(field.data or "") or not (len(digits) == 10 or (len(digits) == 11
                                                                               and digits[0] == "1")):
            raise ValidationError(_l("Enter a 10-digit US phone number, like 601-555-0100, or leave it empty."))

    def signer(self, language: str) -> Signer:
        """The validated answers as the value the next steps carry (no phone or consent when the campaign does
        not ask for them); the consent keeps the exact words the supporter saw."""
        opt_in = "opt_in" in self and bool(self.opt_in.data)
        return Signer(first_name=self.first_name.data, last_name=self.last_name.data, email=self.email.data,
                      street=self.street.data, city=self.city.data, state=self.state.data.lower(),
                      zip=self.zip.data[:5], phone=(self.phone.data or None) if "phone" in self else None,
                      opt_in=opt_in, language=language, source=self.source.data or None,
                      consent_text=str(self.opt_in.label.text) if opt_in else None)

    def fill(self, signer: Signer) -> None:
        """Prefill from carried answers (the 'correct my address' path)."""
        for name in ("first_name", "last_name", "email", "street", "city", "zip", "phone"):
            if name in self:
                getattr(self, name).data = getattr(signer, name) or ""
        self.state.data = signer.state.upper()
        self.source.data = signer.source or ""
        if "opt_in" in self:
            self.opt_in.data = signer.opt_in


def signup_form(campaign: Campaign, **kwargs: Any) -> SignupForm:
    """The step-1 form for this campaign: without the consent box and the phone when the campaign does not ask
    for consent (collect the minimum: a phone nobody may use is not asked for)."""
    form = SignupForm(**kwargs)
    if not campaign.ask_consent:
        del form.phone
        del form.opt_in
    return form


class StepForm(SupporterForm):
    """Steps 2 and 3 carry only the sealed state (plus their own fields); CSRF still applies."""

    state = HiddenField(validators=[Length(max=STATE_MAX_CHARS)])


# The title Congress's CWC system requires (asked only when a letter goes through it); keys of cwc.PREFIX_CHOICES.
TITLE_CHOICES = [("none", _l("No title")), ("ms", _l("Ms.")), ("mr", _l("Mr.")), ("mrs", _l("Mrs.")),
                 ("miss", _l("Miss")), ("mx", _l("Mx.")), ("dr", _l("Dr."))]


class ComposeForm(StepForm):
    """Step 3: which letters to send and the supporter's own words."""

    title = SelectField(_l("Title for your letters to Congress"), choices=TITLE_CHOICES, default="none",
                        validate_choice=True)

    personal = TextAreaField(_l("Add a few words of your own (optional)"), validators=[
        Length(max=MAX_PERSONAL_CHARS, message=_l("Please keep your paragraph under %(max)d characters."))])


class ConfirmEmailForm(SupporterForm):
    """The button behind the e-mail check link: only the CSRF token (a GET never confirms)."""


class CallReportForm(SupporterForm):
    """One tap under a call card: which office, and how the call went (the pressed button's value)."""

    office = IntegerField(validators=[InputRequired()])
    outcome = StringField(validators=[InputRequired(), AnyOf(("talked", "voicemail", "no_answer"))])
