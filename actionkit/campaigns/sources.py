"""Where supporters come from: a short source code taken from `?source=` (or the `utm_*` parameters) on the
campaign page, carried through the journey in the sealed state and stored on the action. Never a referrer URL:
only a code an organizer chose, cut to a safe charset and length."""
from __future__ import annotations

import re
from collections.abc import Mapping

MAX_LENGTH = 40
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")
# The channels the editor makes tagged links for, and the share links on the thank-you page use.
CHANNELS = ("whatsapp", "sms", "email", "facebook", "twitter", "instagram", "website", "newsletter", "flyer")


def clean(value: str | None) -> str | None:
    """A source code: lower case, letters, digits, '-', '_' and '.', at most MAX_LENGTH characters; None when
    nothing usable is left."""
    if not value:
        return None
    code = _UNSAFE.sub("-", value.strip().lower()[: MAX_LENGTH * 4]).strip("-._")
    return code[:MAX_LENGTH].rstrip("-._") or None


def from_args(args: Mapping[str, str]) -> str | None:
    """The source of a campaign-page visit: `source`, else `utm_source` (with `utm_medium` when given, e.g.
    'newsletter-email'), else `utm_campaign`."""
    if code := clean(args.get("source")):
        return code
    utm_source = clean(args.get("utm_source"))
    if utm_source:
        medium = clean(args.get("utm_medium"))
        return clean(f"{utm_source}-{medium}" if medium else utm_source)
    return clean(args.get("utm_campaign"))
