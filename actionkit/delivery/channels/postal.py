"""The postal channel: letters printed and mailed by USPS through Lob's letters API, tracked by Lob's webhooks.

Lob (https://docs.lob.com): POST {base}/letters with HTTP basic auth (the API key as user name), `to` and `from`
address objects, `file` (HTML, at most 10,000 characters), `color`, `use_type`; an `Idempotency-Key` header makes a
retry with the same key return the first letter instead of mailing a second. Errors are JSON
`{"error": {"message", "status_code"}}`: 4xx (bad address, bad file) are permanent, 401/403 an operator's fix,
429/5xx and timeouts transient. Webhooks are signed: `Lob-Signature` = hex HMAC-SHA256 of
`{Lob-Signature-Timestamp}.{raw body}` with the webhook secret. The stand-in is `actionkit.delivery.fake_lob`.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any, Optional

import requests

from actionkit.delivery.channels.base import Outcome, Outgoing
from actionkit.delivery.channels.email import html_body
from actionkit.delivery.models import Channel
from actionkit.privacy.crypto import crypto

# Lob's tracking events -> our tracking state, in the order a letter moves through them.
TRACKING_EVENTS = {
    "letter.mailed": "mailed",
    "letter.in_transit": "in_transit",
    "letter.in_local_area": "in_transit",
    "letter.processed_for_delivery": "in_transit",
    "letter.re-routed": "in_transit",
    "letter.delivered": "delivered",
    "letter.returned_to_sender": "returned",
}
TRACKING_ORDER = ("mailed", "in_transit", "delivered", "returned")
_ONE_LINE = re.compile(r"^(?P<line1>.+?),?\s+(?P<city>[A-Za-z][A-Za-z .'-]*?),?\s+(?P<state>[A-Z]{2}),?\s+"
                       r"(?P<zip>\d{5}(?:-\d{4})?)$")
_ROOM = re.compile(r"^(?P<line1>.*?\d.*?)\s+(?P<rest>(?:Suite|Ste\.?|Room|Rm\.?)\s+\S+)$", re.I)


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str

    def as_lob(self, name: str) -> dict[str, str]:
        return {"name": name[:40], "address_line1": self.line1[:64], "address_city": self.city,
                "address_state": self.state, "address_zip": self.zip, "address_country": "US"}


def parse_address(text: Optional[str]) -> Optional[Address]:
    """A one-line US address ('2368 Rayburn House Office Building Washington DC 20515-2402'), or None."""
    text = " ".join((text or "").split())
    match = _ONE_LINE.match(text)
    if not match:
        return None
    line1, city = match.group("line1").strip(" ,"), match.group("city").strip()
    if "," not in text:  # no commas: the city is the last word before the state ("... Building Washington DC")
        words = f"{line1} {city}".split()
        line1, city = " ".join(words[:-1]), words[-1]
    return Address(line1, city, match.group("state"), match.group("zip"))


def idempotency_key(delivery_id: int) -> str:
    """The same key for every retry of one delivery, so Lob never prints and mails it twice."""
    return "ak-" + crypto().lookup_hash(str(delivery_id), "lob-idempotency")[:40]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: Optional[str], timestamp: Optional[str], signature: Optional[str], body: bytes,
           *, tolerance: float = 300.0, now: Optional[float] = None) -> bool:
    """Whether a webhook carries Lob's signature of this body, made within `tolerance` seconds."""
    if not secret or not timestamp or not signature:
        return False
    try:
        age = abs((now or time.time()) - float(timestamp) / (1000 if len(timestamp) > 11 else 1))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def _error_text(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
        message = str(error.get("message") or "")
    except ValueError:
        message = ""
    return " ".join(message.split())[:200]


class PostalChannel:
    """Letters printed and mailed through Lob (or its stand-in)."""

    channel = Channel.POSTAL

    def __init__(self, cfg: dict[str, Any], session: Optional[requests.Session] = None) -> None:
        self.cfg = cfg
        self.session = session or requests.Session()

    def send(self, letter: Outgoing) -> Outcome:
        """Create the Lob letter; the same delivery always sends the same idempotency key."""
        if letter.withdrawn:
            return Outcome.permanent("withdrawn: the supporter deleted their data")
        to = parse_address(letter.destination)
        sender = parse_address(self.cfg.get("from_address"))
        if to is None:
            return Outcome.permanent("postal: the office's address is not a US address with a ZIP code")
        if sender is None:
            return Outcome.transient("postal: ACTIONKIT_LOB__from_address is not a US address with a ZIP code")
        html = html_body(letter.body)
        if len(html) > 10000:
            return Outcome.permanent("postal: the letter is longer than Lob's 10,000-character HTML limit")
        payload = {
            "description": f"actionkit delivery {letter.id}",
            "to": to.as_lob(letter.office_title),
            "from": sender.as_lob(self.cfg.get("from_name") or "actionkit"),
            "file": html, "color": False, "use_type": self.cfg.get("use_type") or "operational",
            "metadata": {"delivery": str(letter.id)},
        }
        try:
            response = self.session.post(
                str(self.cfg["base_url"]).rstrip("/") + "/letters", json=payload, auth=(self.cfg["api_key"], ""),
                headers={"Idempotency-Key": idempotency_key(letter.id)}, timeout=float(self.cfg.get("timeout") or 15))
        except requests.Timeout:
            return Outcome.transient("postal: Lob timeout")
        except requests.RequestException as exc:
            return Outcome.transient(f"postal: Lob connection error: {type(exc).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            try:
                ref = str(response.json()["id"])
            except (ValueError, KeyError, TypeError):
                return Outcome.transient("postal: Lob answered without a letter id")
            return Outcome.sent(ref)
        reason = f"postal: Lob {status}" + (f": {_error_text(response)}" if _error_text(response) else "")
        if status in (401, 403):
            return Outcome.transient(reason + " (check ACTIONKIT_LOB__api_key)")
        if status == 429 or status >= 500:
            return Outcome.transient(reason)
        return Outcome.permanent(reason)
