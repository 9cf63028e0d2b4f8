"""The one form of the privacy pages: confirming a deletion (CSRF-protected POST)."""
from __future__ import annotations

from flask_wtf import FlaskForm


class DeleteForm(FlaskForm):
    """'Delete my data': no fields but the CSRF token."""
