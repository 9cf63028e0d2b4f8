"""The staff toolkit form of one campaign: the consent box, the sites that may embed the action, the share image."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length
from wtforms.validators import ValidationError

from actionkit.toolkit import services


class CampaignToolkitForm(FlaskForm):
    ask_consent = BooleanField("Ask “the organizers may contact me” (and the optional phone number with it)")
    embed_origins = TextAreaField("Sites that may embed this action (one https origin a line, e.g. "
                                  "https://www.example.org)", render_kw={"rows": 4, "spellcheck": "false"})
    share_image = FileField("Share card image (PNG, JPEG or WebP, at most 5 MB; 1200 × 630 is best)")
    remove_image = BooleanField("Remove the uploaded image (use the generated card)")
    email_subject_en = StringField("Confirmation e-mail subject (English)", validators=[Length(max=300)])
    email_body_en = TextAreaField("Confirmation e-mail text (English)", validators=[Length(max=20000)],
                                  render_kw={"rows": 8})
    email_subject_es = StringField("Confirmation e-mail subject (Spanish)", validators=[Length(max=300)])
    email_body_es = TextAreaField("Confirmation e-mail text (Spanish)", validators=[Length(max=20000)],
                                  render_kw={"rows": 8})
    save = SubmitField("Save")
    preview = SubmitField("Preview the e-mail")

    def emails(self) -> dict[str, tuple[str, str]]:
        """{lang: (subject, body)} as typed (both empty: the default e-mail)."""
        return {lang: ((self[f"email_subject_{lang}"].data or "").strip(), (self[f"email_body_{lang}"].data or ""))
                for lang in ("en", "es")}

    def validate_embed_origins(self, field: Any) -> None:
        try:
            services.parse_origins(field.data or "")
        except services.ToolkitError as exc:
            raise ValidationError(str(exc)) from None
