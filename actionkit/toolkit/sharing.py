"""Share links and preview-card metadata for a campaign, with no third-party script: plain links for WhatsApp,
SMS, e-mail and Facebook (each tagged with its own source code), copy-link and the Web Share API through our
own static/js/share.js, and Open Graph / Twitter card tags pointing at the campaign's card image."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from flask import Flask, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from actionkit.campaigns.models import Campaign
from actionkit.letters.confirmation import public_url

OG_LOCALES = {"en": "en_US", "es": "es_US"}


@dataclass(frozen=True)
class Share:
    url: str  # the campaign page, tagged source=share (what copy-link and the Web Share API use)
    card: str  # absolute URL of the card image
    title: str
    summary: str
    message: str  # the prefilled message, in the page's language
    locale: str
    links: list[tuple[str, str, str]]  # (id, label, href)


def _tagged(base: str, source: str, lang: str) -> str:
    return f"{base}?source={source}" + (f"&lang={lang}" if lang != "en" else "")


def for_campaign(campaign: Campaign, lang: str, *, origin: str = "page") -> Share:
    """What a page needs to share the campaign: `origin` 'page' (the campaign page) or 'thanks' (the
    "ask three friends" block) prefixes the source codes, so the stats tell them apart."""
    base = public_url() + url_for("letters.campaign", slug=campaign.slug)
    text = campaign.text(lang)
    with force_locale(lang):
        if origin == "thanks":
            message = _("I just wrote to my officials: %(title)s. It takes two minutes. Will you write too?",
                        title=text.title)
        else:
            message = _("Write to your officials: %(title)s.", title=text.title)
        labels = {"whatsapp": "WhatsApp", "sms": _("Text message"), "email": _("Email"), "facebook": "Facebook"}
    prefix = "share" if origin == "page" else "friends"
    url = {channel: _tagged(base, f"{prefix}-{channel}", lang) for channel in labels}
    links = [
        ("whatsapp", labels["whatsapp"], "https://wa.me/?text=" + quote(f"{message} {url['whatsapp']}")),
        ("sms", labels["sms"], "sms:?&body=" + quote(f"{message} {url['sms']}")),
        ("email", labels["email"], f"mailto:?subject={quote(text.title)}&body=" + quote(f"{message}\n\n{url['email']}")),
        ("facebook", labels["facebook"], "https://www.facebook.com/sharer/sharer.php?u=" + quote(url["facebook"], safe="")),
    ]
    card = public_url() + url_for("toolkit_public.card", slug=campaign.slug, lang=lang,
                                  v=int(campaign.updated_at.timestamp()) if campaign.updated_at else None)
    return Share(url=_tagged(base, f"{prefix}-link", lang), card=card, title=text.title, summary=text.summary,
                 message=message, locale=OG_LOCALES.get(lang, "en_US"), links=links)


def init_app(app: Flask) -> None:
    app.add_template_global(for_campaign, "share_for")
