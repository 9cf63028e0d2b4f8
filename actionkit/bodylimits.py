"""How large a request body may be: small on the public pages, larger on staff pages, largest for the officials
CSV upload; and forms that never echo a value longer than its field's limit. Werkzeug refuses a larger body with 413 before reading it (by its Content-Length) or as soon as a
streamed body passes the limit, so an oversized POST never fills the web process's memory."""
from __future__ import annotations

from typing import Any

from flask import Flask, Request, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

UPLOAD_ENDPOINTS = frozenset({"officials.upload"})  # the only form that takes a file


def limits_for(path: str, endpoint: str | None, config: Any) -> tuple[int, int]:
    """(body bytes, bytes of any one multipart form field) allowed for a request to this path/endpoint."""
    if endpoint in UPLOAD_ENDPOINTS:
        return int(config["UPLOAD_MAX_REQUEST_BYTES"]), int(config["STAFF_MAX_FIELD_BYTES"])
    if path == "/staff" or path.startswith("/staff/"):
        return int(config["STAFF_MAX_REQUEST_BYTES"]), int(config["STAFF_MAX_FIELD_BYTES"])
    return int(config["PUBLIC_MAX_REQUEST_BYTES"]), int(config["PUBLIC_MAX_FIELD_BYTES"])


class LimitedRequest(Request):
    """Flask's request with per-area body limits (a view may still set its own on the request)."""

    _body_refused = False

    def _load_form_data(self) -> None:
        # A refused body stays refused: parsing again would read the rest of a half-consumed stream as an
        # empty or partial form (the language lookup of the 413 page reads the form too).
        if self._body_refused:
            raise RequestEntityTooLarge()
        try:
            super()._load_form_data()
        except RequestEntityTooLarge:
            self._body_refused = True
            raise

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return self._max_content_length
        return limits_for(self.path, self.endpoint, current_app.config)[0]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        if self._max_form_memory_size is not None or not current_app:
            return self._max_form_memory_size
        return limits_for(self.path, self.endpoint, current_app.config)[1]

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value


def too_large(exc: Exception) -> tuple[str, int]:
    """The 413 page: short, and nothing of what was sent is in it."""
    return render_template("errors/too_large.html"), 413


def init_app(app: Flask) -> None:
    app.request_class = LimitedRequest
    app.register_error_handler(413, too_large)


def field_limit(field: Any, default: int) -> int:
    """The most characters a field accepts: its Length(max=...) (or any validator with a positive .max)."""
    limits = [int(v.max) for v in field.validators if isinstance(getattr(v, "max", None), int) and v.max > 0]
    return min(limits) if limits else default


def _too_long_message(field: Any, limit: int, length: int) -> str:
    for validator in field.validators:
        if getattr(validator, "max", None) == limit and getattr(validator, "message", None):
            try:
                return str(validator.message) % {"min": getattr(validator, "min", 0), "max": limit, "length": length}
            except (TypeError, ValueError, KeyError):
                return str(validator.message)
    return str(_l("This is too long (at most %(max)d characters).") % {"max": limit})


class BoundedForm(FlaskForm):
    """A form that never echoes an oversized value back into the page: a value longer than its field's limit
    (its Length(max=...), else DEFAULT_FIELD_CHARS) is cut to the limit as the form is read, and the form then
    fails validation with the field's own "too long" message. What fits is kept, so the person loses little."""

    DEFAULT_FIELD_CHARS = 1000

    def process(self, formdata: Any = None, obj: Any = None, data: Any = None, **kwargs: Any) -> None:
        super().process(formdata, obj, data, **kwargs)
        self._overlong: dict[str, str] = {}
        for field in self:
            limit = field_limit(field, self.DEFAULT_FIELD_CHARS)
            if isinstance(field.data, str) and len(field.data) > limit:
                self._overlong[field.name] = _too_long_message(field, limit, len(field.data))
                field.data = field.data[:limit]
                field.raw_data = [field.data]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for name, message in self._overlong.items():
            errors = list(self[name].errors)
            if message not in errors:
                self[name].errors = [message, *errors]
        return valid and not self._overlong
