"""The Spanish catalogue covers every supporter-facing string: extracted from the code as `pybabel extract`
would (babel.cfg, keywords _ and _l), translated in es/messages.po, and compiled into the .mo the app loads."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "actionkit" / "translations" / "es" / "LC_MESSAGES"
SUPPORTER_FACING = ("actionkit/letters/", "actionkit/privacy/", "actionkit/officials/matching.py",
                    "templates/letters/", "templates/privacy/", "templates/emails/", "templates/base.html")


def extracted() -> dict[str, str]:
    """msgid -> where it was found, for every string in the supporter-facing files."""
    method_map = [("actionkit/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(REPO), method_map=method_map, keywords=keywords,
            options_map={"templates/**.html": {}, "templates/**.txt": {}}):
        if filename.startswith(SUPPORTER_FACING):
            msgid = message[0] if isinstance(message, tuple) else message
            found[msgid] = f"{filename}:{lineno}"
    return found


def _key(msgid: object) -> str:
    return str(msgid[0]) if isinstance(msgid, (list, tuple)) else str(msgid)


def _text(string: object) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, (list, tuple)) else (str(string),)


def test_every_supporter_string_has_a_spanish_translation() -> None:
    with (CATALOG / "messages.po").open("rb") as fh:
        po = {_key(m.id): m for m in read_po(fh) if m.id}
    with (CATALOG / "messages.mo").open("rb") as fh:
        mo = {_key(m.id): _text(m.string) for m in read_mo(fh) if m.id}
    strings = extracted()
    assert len(strings) > 150
    missing = [f"{where}: {msgid}" for msgid, where in strings.items()
               if msgid not in po or not all(_text(po[msgid].string))]
    assert not missing, "run pybabel extract/update and translate:\n" + "\n".join(missing)
    fuzzy = [msgid for msgid in strings if "fuzzy" in po[msgid].flags]
    assert not fuzzy, fuzzy
    stale = [msgid for msgid in strings if mo.get(msgid) != _text(po[msgid].string)]
    assert not stale, "messages.mo is older than messages.po: run pybabel compile -d actionkit/translations"


def test_placeholders_survive_translation() -> None:
    import re

    with (CATALOG / "messages.po").open("rb") as fh:
        for message in read_po(fh):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
            for text in strings:
                assert set(re.findall(r"%\(\w+\)[sd]", text)) == wanted, message.id
