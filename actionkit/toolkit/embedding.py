"""The embeddable action: /act/<slug>/embed and every step after it (marked by embed=1) may be framed only by
the https origins listed in the campaign's settings (CSP frame-ancestors), in a compact layout that tells the
parent page its height by postMessage.

Inside a frame on another site the browser sends only SameSite=None cookies, so the embedded journey keeps its
CSRF token in a session cookie of its own (`<name>_embed`: SameSite=None, Secure, Partitioned); the main
site's session cookie, the staff login's, keeps its own SameSite setting and is never sent into a frame."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

from actionkit.campaigns import services as campaigns
from actionkit.security import CSP

EMBED_PARAM = "embed"
_ENVIRON_KEY = "actionkit.embedded"


def requested() -> bool:
    """This request is a step of an embedded journey (the embed page, or a step carrying embed=1)."""
    cached = request.environ.get(_ENVIRON_KEY)
    if cached is None:
        path = request.path
        # Only the URL decides (never the body: the session is opened before body limits are enforced).
        cached = path.startswith("/act/") and (path.endswith("/embed") or request.args.get(EMBED_PARAM) == "1")
        request.environ[_ENVIRON_KEY] = cached
    return bool(cached)


class EmbedSessionInterface(SecureCookieSessionInterface):
    """The app's signed-cookie sessions, under a separate cross-site cookie for embedded journeys."""

    def _embedded(self) -> bool:
        try:
            return requested()
        except RuntimeError:  # outside a request
            return False

    def get_cookie_name(self, app: Flask) -> str:
        name = super().get_cookie_name(app)
        return f"{name}_embed" if self._embedded() else name

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if self._embedded() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if self._embedded() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if self._embedded() else super().get_cookie_partitioned(app)


def csp_for(origins: list[str]) -> str:
    """The app's CSP with the campaign's embedding origins as frame-ancestors instead of 'none'."""
    return CSP.replace("frame-ancestors 'none'", "frame-ancestors " + " ".join(origins))


def _allowed_origins() -> list[str] | None:
    """The embedding origins of the campaign this embedded request is for (None: not embedded, or not allowed)."""
    if not requested():
        return None
    slug = (request.view_args or {}).get("slug")
    if not slug:
        return None
    key = "actionkit.embed_origins"  # per request (g may outlive a request when an app context is shared)
    if key not in request.environ:
        campaign = campaigns.by_slug(slug)
        request.environ[key] = list(campaign.embed_origins or []) if campaign is not None else []
    return request.environ[key] or None


def _with_embed(location: str) -> str:
    parts = urlsplit(location)
    if not parts.path.startswith("/act/"):
        return location
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != EMBED_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*query, (EMBED_PARAM, "1")])))


def _frame_headers(resp: Response) -> Response:
    origins = _allowed_origins()
    if origins:
        resp.headers["Content-Security-Policy"] = csp_for(origins)
        resp.headers.pop("X-Frame-Options", None)  # DENY would contradict it (security.py then leaves it out)
    if requested():
        if resp.location:
            resp.location = _with_embed(resp.location)
        _cross_site_cookies(resp)
    return resp


def _cross_site_cookies(resp: Response) -> None:
    """Cookies an embedded step sets (the letters' step-state cookie) must reach the app from a frame on another
    site: SameSite=None; Secure; Partitioned (kept per embedding site by the browser)."""
    cookies = resp.headers.getlist("Set-Cookie")
    if not cookies:
        return
    resp.headers.remove("Set-Cookie")
    for cookie in cookies:
        parts = [p for p in cookie.split("; ") if p.split("=")[0].lower() not in ("samesite", "secure", "partitioned")]
        resp.headers.add("Set-Cookie", "; ".join([*parts, "Secure", "SameSite=None", "Partitioned"]))


def embed_args() -> dict[str, str]:
    """URL arguments a form or link of an embedded step adds, so the next step stays embedded."""
    return {EMBED_PARAM: "1"} if _safe_requested() else {}


def _safe_requested() -> bool:
    try:
        return requested()
    except RuntimeError:
        return False


def init_app(app: Flask) -> None:
    app.session_interface = EmbedSessionInterface()
    app.after_request(_frame_headers)

    @app.context_processor
    def _embed_context() -> dict[str, Any]:
        embedded = _safe_requested()
        return {"embedded": embedded, "embed_args": embed_args,
                "embed_origins": (_allowed_origins() or []) if embedded else []}

