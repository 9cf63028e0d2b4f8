"""The staff toolkit form of one campaign: the consent box, the sites that may embed the action, the share image."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import ValidationError

from actionkit.toolkit import services


class CampaignToolkitForm(FlaskForm):
    ask_consent = BooleanField("Ask “the organizers may contact me” (and the optional phone number with it)")
    embed_origins = TextAreaField("Sites that may embed this action (one https origin a line, e.g. "
                                  "https://www.example.org)", render_kw={"rows": 4, "spellcheck": "false"})
    share_image = FileField("Share card image (PNG, JPEG or WebP, at most 5 MB; 1200 × 630 is best)")
    remove_image = BooleanField("Remove the uploaded image (use the generated card)")
    save = SubmitField("Save")

    def validate_embed_origins(self, field: Any) -> None:
        try:
            services.parse_origins(field.data or "")
        except services.ToolkitError as exc:
            raise ValidationError(str(exc)) from None
