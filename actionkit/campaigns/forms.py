"""The campaign editor form: campaign settings, texts in English and Spanish, one letter per office type and
language. Single-field rules live here; rules about other rows and the template sandbox live in editor.check()."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, Form, FormField, IntegerField, RadioField, SelectField, \
    SelectMultipleField, StringField, SubmitField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from actionkit.campaigns.editor import LANGUAGE_LABELS, OFFICE_TYPE_LABELS, SCRIPT_KEYS, TEMPLATE_KEYS, \
    CampaignDraft, TemplateText, script_key, template_key
from actionkit.campaigns.models import LANGUAGES, LOC_TOPICS, CampaignMode, Personalisation
from actionkit.officials.models import OfficeType
from actionkit.officials.services import STATE_NAMES

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
PERSONALISATION_CHOICES = [
    (Personalisation.LOCKED.value, "Locked: the letter is sent as written here"),
    (Personalisation.PARAGRAPH.value, "The supporter may add a personal paragraph"),
    (Personalisation.EDITABLE.value, "The supporter may rewrite the letter"),
]


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes instead of a multi-select: usable on a phone and without JavaScript."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

MODE_CHOICES = [
    (CampaignMode.LETTERS.value, "Letters: supporters sign letters"),
    (CampaignMode.CALLS.value, "Calls: supporters call their officials from their own phone, with a script"),
    (CampaignMode.BOTH.value, "Both: letters, and the call page offered beside them"),
]


class TextForm(Form):
    """Title, summary and body of the campaign page in one language."""

    title = StringField("Title", validators=[Optional(), Length(max=200)])
    summary = TextAreaField("Summary (one or two sentences)", validators=[Optional(), Length(max=1000)])
    body = TextAreaField("Why it matters", validators=[Optional(), Length(max=20000)])


class TemplateForm(Form):
    """Subject and body of one letter template (checked in the sandbox by the editor service)."""

    subject = StringField("Subject")
    body = TextAreaField("Letter", render_kw={"rows": 14, "spellcheck": "true"})


class CampaignForm(FlaskForm):
    slug = StringField("Slug (the campaign's link: /act/<slug>)", validators=[DataRequired(), Length(max=80)],
                       render_kw={"autocapitalize": "none", "spellcheck": "false"})
    state = SelectField("State", choices=sorted(((code, name) for code, name in STATE_NAMES.items()),
                                                key=lambda c: c[1]), default="ms")
    target_types = MultiCheckboxField("Write to", choices=[(t.value, OFFICE_TYPE_LABELS[t]) for t in OfficeType])
    mode = RadioField("Supporters are asked to", choices=MODE_CHOICES, default=CampaignMode.LETTERS.value)
    personalisation = RadioField("Supporters may", choices=PERSONALISATION_CHOICES,
                                 default=Personalisation.PARAGRAPH.value)
    letter_language = SelectField("Officials receive the letter in",
                                  choices=[(lang, LANGUAGE_LABELS[lang]) for lang in LANGUAGES], default="en")
    goal = IntegerField("Goal (number of supporters)", validators=[Optional(), NumberRange(min=1, max=10_000_000)])
    starts_at = DateTimeLocalField("Opens (UTC, optional)", format=DATETIME_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField("Closes (UTC, optional)", format=DATETIME_FORMATS, validators=[Optional()])
    confirm_email = BooleanField(
        "Confirm the email address before letters go out",
        description="Off (the default): letters go out as soon as a supporter signs, so anyone can sign with "
                    "someone else's email address. On: each supporter is emailed a link and their letters wait, "
                    "encrypted, until they open it; signatures not confirmed within a few days are erased and "
                    "never sent. Fewer letters arrive, but each one is from a confirmed address.")
    cwc_topics = MultiCheckboxField("Topics of letters to Congress (Library of Congress policy areas, sent through CWC)",
                                    choices=[(t, t) for t in LOC_TOPICS], default=["Immigration"])
    cwc_statement = TextAreaField("Organization statement sent with each letter to Congress (optional)",
                                  validators=[Length(max=5000)], render_kw={"rows": 3})
    cwc_response_requested = BooleanField("Ask congressional offices to reply to the supporter", default=True)
    text_en = FormField(TextForm, label="English")
    text_es = FormField(TextForm, label="Spanish")
    save = SubmitField("Save")
    preview = SubmitField("Preview letters")

    def template_fields(self) -> list[tuple[OfficeType, list[tuple[str, str, Any]]]]:
        """[(office type, [(key, language, subform)])] in display order."""
        return [(kind, [(template_key(kind, lang), lang, self[template_key(kind, lang)]) for lang in LANGUAGES])
                for kind in OfficeType]

    def script_fields(self) -> list[tuple[OfficeType, list[tuple[str, str, Any]]]]:
        """[(office type, [(key, language, field)])] of the call scripts, in display order."""
        return [(kind, [(script_key(kind, lang), lang, self[script_key(kind, lang)]) for lang in LANGUAGES])
                for kind in OfficeType]

    def to_draft(self) -> CampaignDraft:
        def utc(value: dt.datetime | None) -> dt.datetime | None:
            return value.replace(tzinfo=dt.timezone.utc) if value is not None else None

        return CampaignDraft(
            slug=(self.slug.data or "").strip().lower(), state=self.state.data or "",
            personalisation=Personalisation(self.personalisation.data)
            if self.personalisation.data in {p.value for p in Personalisation} else Personalisation.PARAGRAPH,
            target_types=[t.value for t in OfficeType if t.value in (self.target_types.data or [])],
            letter_language=self.letter_language.data or "en", goal=self.goal.data,
            starts_at=utc(self.starts_at.data), ends_at=utc(self.ends_at.data),
            confirm_email=bool(self.confirm_email.data),
            cwc_topics=[t for t in (self.cwc_topics.data or []) if t in LOC_TOPICS] or list(self.cwc_topics.data or []),
            cwc_statement=(self.cwc_statement.data or "").strip() or None,
            cwc_response_requested=bool(self.cwc_response_requested.data),
            texts={lang: {f: self[f"text_{lang}"][f].data or "" for f in ("title", "summary", "body")}
                   for lang in LANGUAGES},
            templates={key: TemplateText(self[key].subject.data or "", self[key].body.data or "")
                       for key in TEMPLATE_KEYS},
            mode=CampaignMode(self.mode.data) if self.mode.data in {m.value for m in CampaignMode}
            else CampaignMode.LETTERS,
            scripts={key: self[key].data or "" for key in SCRIPT_KEYS},
        )

    @staticmethod
    def data_from(draft: CampaignDraft) -> dict[str, Any]:
        """Keyword data that fills the form from a draft (an existing campaign's values)."""
        def local(value: dt.datetime | None) -> dt.datetime | None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value is not None else None

        data: dict[str, Any] = {
            "slug": draft.slug, "state": draft.state, "target_types": list(draft.target_types),
            "personalisation": draft.personalisation.value, "letter_language": draft.letter_language,
            "goal": draft.goal, "starts_at": local(draft.starts_at), "ends_at": local(draft.ends_at),
            "confirm_email": draft.confirm_email,
            "cwc_topics": list(draft.cwc_topics), "cwc_statement": draft.cwc_statement or "",
            "cwc_response_requested": draft.cwc_response_requested, "mode": draft.mode.value,
        }
        for lang in LANGUAGES:
            data[f"text_{lang}"] = dict(draft.texts.get(lang) or {})
        for key in TEMPLATE_KEYS:
            text = draft.templates.get(key) or TemplateText()
            data[key] = {"subject": text.subject, "body": text.body}
        for key in SCRIPT_KEYS:
            data[key] = draft.scripts.get(key, "")
        return data


for _key, (_kind, _lang) in TEMPLATE_KEYS.items():
    setattr(CampaignForm, _key, FormField(TemplateForm, label=f"{OFFICE_TYPE_LABELS[_kind]}, {LANGUAGE_LABELS[_lang]}"))

for _key, (_kind, _lang) in SCRIPT_KEYS.items():
    setattr(CampaignForm, _key, TextAreaField(f"Call script: {OFFICE_TYPE_LABELS[_kind]}, {LANGUAGE_LABELS[_lang]}",
                                              validators=[Optional(), Length(max=4000)],
                                              render_kw={"rows": 6, "spellcheck": "true"}))

del _key, _kind, _lang
