"""Security headers on every response: a strict CSP (no third-party anything), framing and referrer rules; and
no secret token (thank-you, deletion, upload links) or client address in any log line; requests carrying NUL bytes
refused before any view reads them."""
from __future__ import annotations

import logging
import re

from flask import Flask, Response, abort, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def refuse_nul_bytes() -> None:
    """A NUL in the path or a query argument is never meant (no text we store can hold one, and PostgreSQL refuses
    it with an error): answer 400 at once instead of a 500 from the database."""
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                      for key, value in request.args.items(multi=True)):
        abort(400, description="This address contains a NUL character; check the link.")


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        # Thank-you pages carry a secret token in the URL: never send it on as a Referer.
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=(), interest-cohort=()")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not (app.config["EMBEDDED"] or app.config.get("ALLOW_PLAIN_HTTP")):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return resp


REDACTED = "[token]"
# Loggers that write request lines: the development server's and gunicorn's (access and error logs).
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")
_CLIENT = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)(?= - )")


class RedactTokens(logging.Filter):
    """Rewrites a log record so that no URL token (any route argument named token) and no client address at the
    start of a request line reaches a handler."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it for logging to report
            return True
        clean = _CLIENT.sub("-", self.pattern.sub(lambda m: m.group(1) + REDACTED, message))
        if clean != message:
            record.msg, record.args = clean, None
        return True


def token_pattern(app: Flask) -> re.Pattern[str]:
    """The path segment of every route argument called token (e.g. /thanks/<token>), wherever it appears."""
    prefixes = set()
    for rule in app.url_map.iter_rules():
        for match in re.finditer(r"([^<>]*)<(?:[^:<>]+:)?token>", rule.rule):
            prefixes.add(match.group(1).rsplit(">", 1)[-1].split("/")[-2] + "/")
    alternatives = "|".join(re.escape("/" + p) for p in sorted(prefixes)) or "(?!)"
    return re.compile(rf"({alternatives})[^/?#\s\"']+")


def redact_logs(app: Flask) -> RedactTokens:
    """Install the redacting filter on the request loggers and on every root handler (call once the blueprints
    are registered: the pattern comes from the URL map)."""
    redactor = RedactTokens(token_pattern(app))
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in REQUEST_LOGGERS]
    targets += list(logging.getLogger().handlers)
    for target in targets:
        for old in [f for f in target.filters if isinstance(f, RedactTokens)]:
            target.removeFilter(old)
        target.addFilter(redactor)
    return redactor
