"""Security headers on every response: a strict CSP (no third-party anything), framing and referrer rules; and
requests carrying NUL bytes refused before any view reads them."""
from __future__ import annotations

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
        if not app.config["EMBEDDED"]:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return resp
