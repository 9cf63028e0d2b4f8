"""The outside calls of webhooks, behind one small interface with a timeout and classified errors: a Standard
Webhooks POST, and Action Network's person signup helper. Both refuse hosts that resolve to private, loopback
or link-local addresses (SSRF) unless listed in ACTIONKIT_WEBHOOKS__allow_private_hosts (tests, the demo's
stand-in), and never follow redirects."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from flask import current_app
from standardwebhooks import Webhook

DEFAULTS: dict[str, Any] = {
    "connect_timeout": 3.0,
    "read_timeout": 5.0,
    "max_attempts": 8,
    "deadline_hours": 48,
    "backoff_base_seconds": 30,
    "backoff_cap_seconds": 3600,
    "lease_seconds": 60,
    "allow_private_hosts": [],  # test/demo only: host names the SSRF guard lets through
}
RESPONSE_KEPT = 500


def settings() -> dict[str, Any]:
    configured = {k.lower(): v for k, v in (current_app.config.get("WEBHOOKS") or {}).items()}
    return {**DEFAULTS, **configured}


@dataclass(frozen=True)
class Answer:
    """A classified outcome: sent, transient (retry with backoff) or permanent (dead-letter)."""

    result: str  # "sent" | "transient" | "permanent"
    status_code: int | None = None
    response: str | None = None
    error: str | None = None


class Refused(Exception):
    """The endpoint may not be called (its address is private, or its URL is not https/http)."""


Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def check_url(url: str, resolver: Resolver = _resolve) -> None:
    """Refuse a URL whose host is, or resolves to, a non-public address (unless allowed for tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Refused("the endpoint URL must be an http(s) address")
    host = parts.hostname.lower()
    if host in {h.lower() for h in settings()["allow_private_hosts"]}:
        return
    if parts.scheme != "https":
        raise Refused("the endpoint URL must use https")
    try:
        addresses = resolver(host)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"the endpoint's host could not be resolved ({type(exc).__name__})") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise Refused(f"the endpoint's host resolves to a private or reserved address ({ip})")


def _classify(resp: requests.Response) -> Answer:
    text = resp.text[:RESPONSE_KEPT] if resp.content else ""
    if 200 <= resp.status_code < 300:
        return Answer("sent", resp.status_code, text)
    if 300 <= resp.status_code < 400:
        return Answer("permanent", resp.status_code, text,
                      f"answered with a redirect (HTTP {resp.status_code}); redirects are not followed")
    if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
        return Answer("transient", resp.status_code, text, f"HTTP {resp.status_code}")
    return Answer("permanent", resp.status_code, text, f"HTTP {resp.status_code}")


def post(url: str, body: str, headers: dict[str, str], resolver: Resolver = _resolve) -> Answer:
    """POST once with the configured timeouts; classified, never raising."""
    cfg = settings()
    try:
        check_url(url, resolver)
    except Refused as exc:
        return Answer("permanent", error=f"refused: {exc}")
    try:
        resp = requests.post(url, data=body.encode(), headers=headers, allow_redirects=False,
                             timeout=(float(cfg["connect_timeout"]), float(cfg["read_timeout"])))
    except requests.Timeout:
        return Answer("transient", error="timed out")
    except requests.RequestException as exc:
        return Answer("transient", error=f"connection failed ({type(exc).__name__})")
    return _classify(resp)


def send_webhook(url: str, secret: str, msg_id: str, body: str, now: dt.datetime) -> Answer:
    """A Standard Webhooks delivery: webhook-id, webhook-timestamp and webhook-signature headers."""
    signature = Webhook(secret).sign(msg_id, now, body)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
               "user-agent": "actionkit-webhooks/1"}
    return post(url, body, headers)


def send_action_network(url: str, api_key: str, msg_id: str, body: str, now: dt.datetime) -> Answer:
    """Action Network's person signup helper (POST <base>/people/) with the OSDI-API-Token header."""
    headers = {"content-type": "application/json", "OSDI-API-Token": api_key, "user-agent": "actionkit-sync/1"}
    return post(url.rstrip("/") + "/people/", body, headers)


def new_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
