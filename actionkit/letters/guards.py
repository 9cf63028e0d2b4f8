"""Protections on the public pages besides CSRF: a same-origin check, a honeypot, rate limits, and headers that
keep personal pages out of caches."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, request

DEFAULT_RATE_LIMIT = "10/minute;50/hour"


def public_rate_limit() -> str:
    """Per client (keyed by an HMAC of the IP), per endpoint; ACTIONKIT_PUBLIC_RATE_LIMIT overrides it."""
    return str(current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_RATE_LIMIT)


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
