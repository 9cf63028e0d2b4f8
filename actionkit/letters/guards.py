"""Protections on the public pages besides CSRF: a same-origin check, a honeypot, rate limits, and headers that
keep personal pages out of caches."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Response, current_app, request

from actionkit.extensions import limiter

# Per client address and form. A room of 100 people on one Wi-Fi (a rally, a church, a library) acting within ten
# minutes posts each form about 100-300 times, in bursts; a script is held to 120 a minute and 600 an hour
# (and each signature still needs its own e-mail address).
DEFAULT_RATE_LIMIT = "120/minute;600/hour;2000/day"


def public_rate_limit() -> str:
    """Per client (keyed by an HMAC of the IP), per endpoint; ACTIONKIT_PUBLIC_RATE_LIMIT overrides it."""
    return str(current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_RATE_LIMIT)


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the client in again (60 when it cannot be told)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def _our_hosts() -> set[str]:
    """The request's host, and ACTIONKIT_PUBLIC_URL's (behind a proxy that does not pass the Host on)."""
    hosts = {request.host.lower()}
    public = current_app.config.get("PUBLIC_URL")
    if public:
        hosts.add(urlsplit(str(public)).netloc.lower())
    return hosts


def cross_origin() -> bool:
    """True when the POST says it came from another site: its Origin (else its Referer) names another host, or
    it is 'Origin: null' (sandboxed frames, file: pages). With neither header it passes: CSRF still applies."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() not in _our_hosts()
    referer = request.headers.get("Referer")
    if referer:
        return urlsplit(referer).netloc.lower() not in _our_hosts()
    return origin == "null"


def honeypot_filled() -> bool:
    return bool((request.form.get("website") or "").strip())


def private_page(resp: Response) -> Response:
    """after_request of the supporter blueprints: pages carry form tokens and personal data, so never cached;
    same-origin referrers let browsers send a real Origin header with our POSTs (with no-referrer they send
    'Origin: null')."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp
