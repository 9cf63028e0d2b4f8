"""What an office's contact details and a holder's name may contain, in one place: the staff edit form and the
sheriffs CSV import (upload or `flask officials sync`) check every value with these functions, so neither can let
in what the other refuses (a javascript: link, an invalid email, a CR/LF or NUL in a name)."""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Optional
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email


class Invalid(ValueError):
    """A value was refused; the message says why, for staff (it never repeats the value)."""


# Longest value each field may hold (the column sizes of offices and officials).
MAX_LENGTHS = {
    "email": 255, "phone": 64, "fax": 64, "postal_address": 1000, "web_form_url": 512, "website": 512,
    "cwc_office_code": 16, "source_url": 1024,
    "name": 255, "first_name": 128, "last_name": 128, "party": 64,
}
MULTILINE = frozenset({"postal_address"})  # line breaks are allowed here (and only here)
# Control and format characters (NUL, escapes, bidi overrides), surrogates, private use, line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_CWC_CODE = re.compile(r"^[A-Z0-9]+$")


def check_text(value: str, max_length: int, *, multiline: bool = False) -> str:
    """Plain text: no control characters (NUL, escape codes; CR/LF only in multi-line fields), within its length."""
    if len(value) > max_length:
        raise Invalid(f"is too long ({len(value)} characters; at most {max_length})")
    allowed = {"\n", "\r", "\t"} if multiline else {"\t"}
    for ch in value:
        if ch in allowed or unicodedata.category(ch) not in _REFUSED_CATEGORIES:
            continue
        if ch in "\r\n\u2028\u2029\x85":
            raise Invalid("must be on one line (it contains a line break)")
        raise Invalid("contains a control character (such as NUL); retype it as plain text")
    return value


def check_email(value: str) -> str:
    """An email address (syntax only: officials' mail servers are not contacted), as the form's Email() does."""
    check_text(value, MAX_LENGTHS["email"])
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"is not a valid email address ({exc})") from None
    return value


def check_url(value: str, max_length: int = 512) -> str:
    """A web address people can open: http or https with a host name; never javascript:, data: or file:."""
    check_text(value, max_length)
    if any(ch.isspace() for ch in value):
        raise Invalid("is not a web address (it contains spaces)")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise Invalid("must be a web address starting with https:// or http://")
    return value


def check_cwc_code(value: str) -> str:
    check_text(value, MAX_LENGTHS["cwc_office_code"])
    if not _CWC_CODE.match(value):
        raise Invalid("may contain only capital letters and digits")
    return value


def _checker(field: str) -> Callable[[str], str]:
    if field == "email":
        return check_email
    if field in ("web_form_url", "website", "source_url"):
        return lambda v: check_url(v, MAX_LENGTHS[field])
    if field == "cwc_office_code":
        return check_cwc_code
    return lambda v: check_text(v, MAX_LENGTHS[field], multiline=field in MULTILINE)


def clean(field: str, value: Optional[str]) -> Optional[str]:
    """The value to store for a field (surrounding spaces removed; a blank is None), or Invalid with the reason.
    Fields: the keys of MAX_LENGTHS (contact channels, the office's source_url and the holder's name parts)."""
    if value is None or not value.strip():
        return None
    return _checker(field)(value.strip())
