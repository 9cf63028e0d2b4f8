"""Error pages: the database unreachable -> 503, anything unexpected -> 500; supporters get a page in their
language that keeps what they typed, staff a plain one. Logs name the error type and the page, never values."""
from __future__ import annotations

import logging
import traceback
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext as _
from flask_babel import refresh
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError

from actionkit.i18n import LANGUAGES, select_locale

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
# The database is down, restarting, refusing connections or out of pooled connections.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# Never carried over into the retry form: a language button, and Flask-WTF's token is re-sent as it came.
_NOT_REPOSTED = {"set_lang"}


def _is_staff() -> bool:
    return request.path.startswith("/staff")


def _repost_fields() -> list[tuple[str, str]]:
    """What the supporter sent, to re-post as hidden fields: Back in a browser may not keep a no-store page's
    form, so the error page itself keeps it (nothing is stored or logged)."""
    if request.method != "POST":
        return []
    return [(key, value) for key, values in request.form.lists() if key not in _NOT_REPOSTED for value in values]


def _supporter_page(status: int, title: str, message: str) -> Response:
    chosen = request.form.get("set_lang") if request.method == "POST" else None
    if chosen in LANGUAGES:
        g.lang = chosen
        refresh()
    lang = select_locale()
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    links = {code: f"{request.path}?{urlencode([*args, ('lang', code)])}" for code in LANGUAGES}
    body = render_template("errors/supporter.html", status=status, title=title, message=message, lang=lang,
                           fields=_repost_fields(), lang_links=links)
    return Response(body, status=status, mimetype="text/html")


def _staff_page(status: int, title: str, message: str) -> Response:
    return Response(render_template("errors/staff.html", status=status, title=title, message=message),
                    status=status, mimetype="text/html")


def _rollback() -> None:
    from actionkit.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded at the end of the request anyway
        pass


def _log(exc: BaseException, what: str) -> None:
    """The error's type, the endpoint and the stack frames: an exception's text can carry form values or SQL
    parameters, so it is never logged."""
    frames = "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ else ""
    log.error("%s on %s %s (%s)\n%s", what, request.method, request.endpoint or "-", type(exc).__name__, frames)


def database_unavailable(exc: Exception) -> Response:
    _rollback()
    log.warning("database unavailable on %s %s (%s)", request.method, request.endpoint or "-", type(exc).__name__)
    if _is_staff():
        resp = _staff_page(503, "Database unavailable",
                           "The database cannot be reached right now. Nothing was changed. Try again in a minute.")
    else:
        resp = _supporter_page(503, _("We are having a technical problem"),
                               _("Nothing was sent. Please try again in a minute: what you typed is kept on "
                                 "this page."))
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


def internal_error(exc: InternalServerError) -> Response:
    _rollback()
    if _is_staff():
        return _staff_page(500, "Something went wrong",
                           "An unexpected error stopped this page. Nothing was changed. Try again, and tell the "
                           "developers if it happens again (the server log names the error).")
    return _supporter_page(500, _("Something went wrong on our side"),
                           _("Nothing was sent. Please try again in a minute: what you typed is kept on this "
                             "page."))


def init_app(app: Flask) -> None:
    for exc_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(exc_class, database_unavailable)
    app.register_error_handler(InternalServerError, internal_error)

    def log_exception(exc_info: Any) -> None:
        """Flask's own logging of an unhandled error would print its text (SQL parameters, form values)."""
        _log(exc_info[1], "unexpected error")

    app.log_exception = log_exception  # type: ignore[method-assign]
