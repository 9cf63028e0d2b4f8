"""Signed callbacks from delivery providers: Lob's letter tracking (/hooks/lob) and the fax provider's outcome
(/hooks/fax, Standard Webhooks). A bad signature is refused (401) and logged without the body; a duplicate or
unknown callback is harmless (200)."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from actionkit.delivery import services
from actionkit.delivery.channels.fax import FAX_EVENTS
from actionkit.delivery.channels.postal import TRACKING_EVENTS, verify
from actionkit.delivery.models import Channel
from actionkit.extensions import csrf, db

log = logging.getLogger(__name__)
bp = Blueprint("delivery_hooks", __name__, url_prefix="/hooks")
MAX_BODY = 256 * 1024


def _refused(provider: str, why: str) -> Any:
    log.warning("%s callback refused: %s", provider, why)
    return jsonify(error=why), 401


def _body() -> bytes:
    return request.get_data(cache=True)[:MAX_BODY]


@bp.post("/lob")
@csrf.exempt
def lob() -> Any:
    """Lob's tracking events for our letters (signed with the webhook secret)."""
    body = _body()
    if not verify(current_app.config["LOB"].get("webhook_secret"), request.headers.get("Lob-Signature-Timestamp"),
                  request.headers.get("Lob-Signature"), body):
        return _refused("lob", "bad or missing signature")
    try:
        event = json.loads(body)
        kind, ref = str(event["event_type"]["id"]), str(event["body"]["id"])
    except (ValueError, KeyError, TypeError):
        return jsonify(error="not a Lob event"), 400
    state = TRACKING_EVENTS.get(kind)
    if state is None:
        return jsonify(result="ignored")
    result = services.track(Channel.POSTAL, ref, state, reason=kind)
    db.session.commit()
    return jsonify(result=result)


@bp.post("/fax")
@csrf.exempt
def fax() -> Any:
    """The fax provider's outcome for a letter (Standard Webhooks signature)."""
    secret = current_app.config["FAX"].get("secret")
    if not secret:
        return _refused("fax", "no fax provider is configured")
    body = _body()
    try:
        event = Webhook(secret).verify(body, dict(request.headers))
    except WebhookVerificationError:
        return _refused("fax", "bad or missing signature")
    try:
        kind, ref = str(event["type"]), str(event["delivery"])
    except (KeyError, TypeError):
        return jsonify(error="not a fax event"), 400
    state = FAX_EVENTS.get(kind)
    if state is None:
        return jsonify(result="ignored")
    reason = " ".join(str(event.get("reason") or "").split())[:200]
    result = services.track(Channel.FAX, ref, state, reason=reason)
    db.session.commit()
    return jsonify(result=result)
