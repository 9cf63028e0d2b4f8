"""The confirmation e-mail text staff may write per campaign and language: a sandboxed template (the letters'
sandbox) over a small context, checked at save time against sample values, rendered at send time. The status,
deletion and withdrawal links are not part of it: the sender always appends them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from actionkit.letters.rendering import RenderError, TemplateProblem, render_letter, validate_template

log = logging.getLogger(__name__)
MERGE_FIELDS = (("supporter.first_name", "Ana"), ("supporter.last_name", "García"),
                ("supporter.county", "Harrison County"), ("campaign.title", "End ICE detainer agreements"))


@dataclass(frozen=True)
class _Source:
    subject: str
    body: str


def sample_contexts() -> list[dict[str, Any]]:
    supporter = {"first_name": "Ana", "last_name": "García", "county": "Harrison County"}
    campaign = {"title": "End ICE detainer agreements"}
    return [{"supporter": supporter, "campaign": campaign},
            {"supporter": {**supporter, "county": ""}, "campaign": campaign}]


def problems(subject: str, body: str) -> list[TemplateProblem]:
    """Why this subject/body cannot be saved ([] when it can): syntax, forbidden constructs, unknown fields."""
    found = [p for p in validate_template(subject, body) if "undefined" not in p.reason]
    if found:
        return found
    for context in sample_contexts():
        try:
            render_letter(_Source(subject, body), context)
        except RenderError as exc:
            if exc.problem not in found:
                found.append(exc.problem)
    return found


def render(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body); raises RenderError (the caller falls back to the default e-mail)."""
    return render_letter(_Source(subject, body), context)
