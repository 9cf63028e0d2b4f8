"""Toolkit settings of a campaign: who may embed it, whether it asks for consent, its share image. Plain
functions: they flush and audit, the caller commits."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from actionkit.campaigns.models import Campaign
from actionkit.extensions import db
from actionkit.letters import custom_email
from actionkit.staff.models import StaffUser
from actionkit.staff.services import audit
from actionkit.toolkit import images

MAX_ORIGINS = 20


class ToolkitError(ValueError):
    """A setting that cannot be saved; the message is for the editor."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_origins(text: str) -> list[str]:
    """The embed origins, one a line: https only, a host and an optional port, nothing else (no path, query,
    user or wildcard); normalised to lower case and deduplicated."""
    origins: list[str] = []
    for raw in text.replace(",", "\n").splitlines():
        value = raw.strip().rstrip("/")
        if not value:
            continue
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ToolkitError(f"“{value[:80]}” is not a web address.") from None
        if parts.scheme.lower() != "https":
            raise ToolkitError(f"“{value[:80]}”: only https:// sites may embed the action.")
        host = (parts.hostname or "").lower()
        if not host or parts.path or parts.query or parts.fragment or parts.username or "*" in host \
                or not all(c.isalnum() or c in ".-" for c in host) or "." not in host:
            raise ToolkitError(f"“{value[:80]}”: give just the site, like https://www.example.org.")
        if _is_ip(host):
            raise ToolkitError(f"“{value[:80]}”: give the site's name, not an IP address.")
        origin = f"https://{host}" + (f":{port}" if port and port != 443 else "")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ToolkitError(f"At most {MAX_ORIGINS} sites may embed the action.")
    return origins


def email_problems(emails: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Problems of the confirmation e-mail texts, by form field ({} when all can be saved)."""
    found: dict[str, list[str]] = {}
    for lang, (subject, body) in emails.items():
        if not subject and not body.strip():
            continue
        if not subject or not body.strip():
            found[f"email_body_{lang}"] = ["Write both a subject and a text, or leave both empty for the default "
                                           "e-mail."]
            continue
        for problem in custom_email.problems(subject, body):
            found.setdefault(f"email_{problem.field}_{lang}", []).append(str(problem))
    return found


def update_settings(campaign: Campaign, actor: StaffUser | None, *, ask_consent: bool, embed_origins: list[str],
                    image: bytes | None = None, remove_image: bool = False,
                    emails: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """Save the toolkit settings; returns what changed (also in the audit entry). Raises images.ImageRejected
    for an upload that is not an acceptable image, ToolkitError for an e-mail text that cannot render (nothing
    is saved then)."""
    changed = []
    encoded = images.reencode(image) if image else None
    if emails and email_problems(emails):
        raise ToolkitError("The confirmation e-mail has problems.")
    by_lang = {t.lang: t for t in campaign.texts}
    for lang, (subject, body) in (emails or {}).items():
        text = by_lang.get(lang)
        if text is None:
            continue
        new = (subject or None, body if body.strip() else None)
        if (text.email_subject, text.email_body) != new:
            text.email_subject, text.email_body = new
            changed.append(f"confirmation_email_{lang}")
    if campaign.ask_consent != ask_consent:
        campaign.ask_consent = ask_consent
        changed.append("ask_consent")
    if list(campaign.embed_origins or []) != embed_origins:
        campaign.embed_origins = embed_origins
        changed.append("embed_origins")
    if encoded is not None:
        campaign.share_image, campaign.share_image_type = encoded
        changed.append("share_image")
    elif remove_image and campaign.share_image_type:
        campaign.share_image = campaign.share_image_type = None
        changed.append("share_image")
    if changed:
        audit(actor, "campaign.toolkit", "campaign", campaign.id, changed=changed,
              embed_origins=list(campaign.embed_origins or []), ask_consent=campaign.ask_consent)
        db.session.flush()
    return changed
