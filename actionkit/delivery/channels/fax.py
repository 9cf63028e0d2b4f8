"""The fax channel: a Standard Webhooks-signed POST to the organisation's fax (or other) provider.

The request body is JSON `{"type": "letter.fax", "delivery": REF, "to": "+1...", "subject", "text", "html"}`
signed per https://www.standardwebhooks.com (headers webhook-id, webhook-timestamp, webhook-signature; the
`standardwebhooks` package). A 2xx answer means the provider took the letter; its own signed callback to
/hooks/fax (`{"type": "fax.delivered" | "fax.failed", "delivery": REF, "reason": ...}`) reports the outcome.
REF is a keyed hash of the delivery, so the provider learns nothing about our rows.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Optional

import requests
from standardwebhooks import Webhook

from actionkit.delivery.channels.base import Outcome, Outgoing
from actionkit.delivery.channels.email import html_body
from actionkit.delivery.models import Channel
from actionkit.privacy.crypto import crypto

FAX_EVENTS = {"fax.delivered": "delivered", "fax.failed": "failed"}


def e164(number: Optional[str]) -> Optional[str]:
    """A US fax number in E.164 form (+1 and ten digits), or None when it is not one."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"+1{digits}" if len(digits) == 10 else None


def reference(delivery_id: int) -> str:
    """The delivery's stable name at the provider (the same for every retry)."""
    return "fax-" + crypto().lookup_hash(str(delivery_id), "fax-reference")[:32]


def signed(secret: str, payload: bytes, msg_id: str, when: Optional[dt.datetime] = None) -> dict[str, str]:
    """Standard Webhooks headers for this payload."""
    when = when or dt.datetime.now(dt.timezone.utc)
    signature = Webhook(secret).sign(msg_id, when, payload.decode("utf-8"))
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature,
            "Content-Type": "application/json"}


class FaxChannel:
    """Letters faxed by the organisation's provider."""

    channel = Channel.FAX

    def __init__(self, cfg: dict[str, Any], session: Optional[requests.Session] = None) -> None:
        self.cfg = cfg
        self.session = session or requests.Session()

    def send(self, letter: Outgoing) -> Outcome:
        if letter.withdrawn:
            return Outcome.permanent("withdrawn: the supporter deleted their data")
        number = e164(letter.destination)
        if number is None:
            return Outcome.permanent("fax: the office's fax number is not a US number")
        ref = reference(letter.id)
        payload = json.dumps({"type": "letter.fax", "delivery": ref, "to": number,
                              "subject": letter.subject or letter.office_title, "text": letter.body,
                              "html": html_body(letter.body)}, ensure_ascii=False).encode("utf-8")
        try:
            response = self.session.post(self.cfg["url"], data=payload, timeout=float(self.cfg.get("timeout") or 15),
                                         headers=signed(self.cfg["secret"], payload, f"msg_{ref}"))
        except requests.Timeout:
            return Outcome.transient("fax: provider timeout")
        except requests.RequestException as exc:
            return Outcome.transient(f"fax: provider connection error: {type(exc).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent(ref)
        if status in (401, 403, 408, 429) or status >= 500:
            return Outcome.transient(f"fax: provider {status}")
        return Outcome.permanent(f"fax: provider refused the letter ({status})")
