"""Language choice for supporter pages: ?lang= in the URL, else the browser's Accept-Language."""
from __future__ import annotations

from flask import Flask, g, request
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def _posted(name: str) -> str | None:
    """A form field of the request, or None when the body was refused as too large (the 413 page is still
    shown in a language)."""
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        return None


def select_locale() -> str:
    lang = getattr(g, "lang", None)
    if lang in LANGUAGES:
        return lang
    asked = request.args.get("lang") or (request.view_args or {}).get("lang") or _posted("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "en"


def choose_request_language() -> None:
    """before_request of the supporter blueprints: each request picks its language afresh (Flask-Babel caches it
    on g, which an app context shared across requests, as in tests, would carry over); a language button on a
    POSTed page re-posts the page's own form with set_lang=<code>."""
    from flask_babel import refresh

    refresh()
    g.pop("lang", None)
    chosen = _posted("set_lang") if request.method == "POST" else None
    if chosen in LANGUAGES:
        g.lang = chosen


def init_app(app: Flask) -> None:
    from actionkit.extensions import babel

    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/translations"))
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _languages() -> dict[str, object]:
        from flask_babel import get_locale

        return {"languages": LANGUAGE_NAMES, "current_lang": str(get_locale() or "en")}
