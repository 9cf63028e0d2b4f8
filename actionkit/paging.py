"""The ?page= argument of the staff lists, read the same way on every list."""
from __future__ import annotations

from flask import abort, request

MAX_PAGE = 100_000  # far beyond any real list; a larger number overflowed the database's OFFSET integer


def page_arg(name: str = "page") -> int:
    """The page asked for (1 when absent or blank); anything but a whole number from 1 to MAX_PAGE is a 400 with
    a plain reason, never a 500 from the database."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, description=f"The page number must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)
