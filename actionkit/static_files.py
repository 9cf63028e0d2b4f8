"""Static files under content-hashed names (`css/app.3f2a9c1b0d4e.css`), cached by browsers for a year.

`url_for("static", filename="css/app.css")` writes the hashed name; a request for it is served with
`Cache-Control: public, max-age=31536000, immutable`, so a page view revalidates nothing. A changed file gets a
new name, so no browser keeps an old copy. The plain name still works, revalidated each time (old links, tools).
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from flask import Flask, Response, current_app, send_from_directory

ONE_YEAR = 365 * 24 * 3600
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")


class _Digests:
    """The short SHA-256 of each static file, kept while its size and modification time stay the same."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.cache: dict[str, tuple[tuple[int, int], str]] = {}

    def __call__(self, filename: str) -> str | None:
        path = os.path.join(self.folder, filename)
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self.cache.get(filename)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:12]
        self.cache[filename] = (stamp, digest)
        return digest


def hashed_name(filename: str) -> str:
    """'css/app.css' -> 'css/app.<digest>.css' (unchanged when the file does not exist)."""
    digest = current_app.extensions["actionkit.static_digests"](filename)
    if digest is None:
        return filename
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{filename}.{digest}"


def init_app(app: Flask) -> None:
    folder = app.static_folder
    if folder is None:
        return
    digests = _Digests(folder)
    app.extensions["actionkit.static_digests"] = digests

    @app.url_defaults
    def _hash_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and not _HASHED.match(str(values["filename"])):
            values["filename"] = hashed_name(str(values["filename"]))

    def static(filename: str) -> Response:
        match = _HASHED.match(filename)
        if match is not None:
            plain = match.group("stem") + match.group("ext")
            if digests(plain) == match.group("digest"):
                resp = send_from_directory(folder, plain, max_age=ONE_YEAR)
                resp.cache_control.public = True
                resp.cache_control.immutable = True
                return resp
        return app.send_static_file(filename)

    app.view_functions["static"] = static
