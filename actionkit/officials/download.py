"""Download the official bulk files into a folder laid out like shared/data, for `flask officials sync`."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import unquote, urljoin, urlsplit

import requests

from actionkit.officials.services import STATE_FIPS

USER_AGENT = "actionkit/0.1 (officials directory sync; python-requests)"
MAX_BYTES = 200 * 1024 * 1024  # no official bulk file comes near this; stops a runaway response filling the disk
CHUNK = 1 << 16

# Config key -> file under dest (templates as in config SOURCES) and what its first bytes must look like.
FILES = {
    "congress_legislators": ("congress-legislators/legislators-current.json", "json"),
    "congress_district_offices": ("congress-legislators/legislators-district-offices.json", "json"),
    "openstates_csv": ("openstates-{state}/{state}.csv", "text"),
    "census_counties": ("counties/st{state_fips}_{state}_cou2020.txt", "text"),
}
ICE_PAGE = "ice_287g_page"
ICE_DIR = "ice-287g"
ICE_KINDS = ("participating", "pending")


class DownloadError(Exception):
    """One source could not be fetched; the message names the URL and the HTTP status or network error."""


@dataclass
class _Link:
    url: str
    text: str
    position: int


class _LinkParser(HTMLParser):
    """Collects <a href> targets with their text, honouring <base href>."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.links: list[_Link] = []
        self._open: Optional[tuple[str, list[str]]] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        href = dict(attrs).get("href")
        if tag == "base" and href:
            self.base = urljoin(self.base, href.strip())
        elif tag == "a" and href:
            self._close()
            self._open = (urljoin(self.base, href.strip()), [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def close(self) -> None:
        super().close()
        self._close()

    def _close(self) -> None:
        if self._open is not None:
            url, text = self._open
            self.links.append(_Link(url, " ".join("".join(text).split()), len(self.links)))
            self._open = None


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


_STAMP = re.compile(r"(\d{2})(\d{2})(\d{4})\s*(am|pm)?", re.I)


def _stamp(name: str) -> tuple[dt.date, int] | None:
    """The publication stamp ICE puts in its file names (participatingAgencies07182025pm.xlsx)."""
    m = _STAMP.search(name)
    if not m:
        return None
    try:
        day = dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return day, 1 if (m.group(4) or "").lower() == "pm" else 0


def find_ice_links(html: str, page_url: str) -> dict[str, str]:
    """The current participating and pending .xlsx URLs on ICE's 287(g) page (absolute).

    File names change on every update and older sheets may be linked too, so the newest stamp in the
    file name wins; without a stamp the first link on the page does.
    """
    parser = _LinkParser(page_url)
    parser.feed(html)
    parser.close()
    found: dict[str, str] = {}
    for kind in ICE_KINDS:
        candidates = []
        for link in parser.links:
            name = _file_name(link.url)
            if not name.lower().endswith(".xlsx"):
                continue
            label = f"{name} {link.text}".lower()
            if kind in label and not any(other in label for other in ICE_KINDS if other != kind):
                candidates.append(link)
        if candidates:
            best = max(candidates, key=lambda c: (_stamp(_file_name(c.url)) or (dt.date.min, 0), -c.position))
            found[kind] = best.url
    return found


def _check_start(first: bytes, expect: str, url: str) -> None:
    """Catch an HTML error or login page served with status 200 before an importer misreads it."""
    lead = first.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if expect == "xlsx" and not first.startswith(b"PK"):
        raise DownloadError(f"download of {url} failed: not an .xlsx file (starts with {first[:16]!r})")
    if expect in ("json", "text") and (lead.startswith(b"<!doctype") or lead.startswith(b"<html")):
        raise DownloadError(f"download of {url} failed: got an HTML page instead of the data file")
    if expect == "json" and lead[:1] not in (b"[", b"{"):
        raise DownloadError(f"download of {url} failed: not JSON (starts with {first[:16]!r})")


def _get(session: requests.Session, url: str, timeout: float, *, stream: bool) -> requests.Response:
    try:
        response = session.get(url, timeout=(min(timeout, 10.0), timeout), stream=stream)
    except requests.RequestException as exc:
        raise DownloadError(f"download of {url} failed: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        response.close()
        raise DownloadError(f"download of {url} failed: HTTP {response.status_code} {response.reason or ''}".rstrip())
    return response


def download(session: requests.Session, url: str, target: Path, *, expect: str = "text",
             timeout: float = 30) -> int:
    """Stream url into target (written whole or not at all); returns the size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")  # dot files are ignored by importers.discover
    size = 0
    try:
        with _get(session, url, timeout, stream=True) as response, part.open("wb") as fh:
            for chunk in response.iter_content(CHUNK):
                if size == 0 and chunk:
                    _check_start(chunk, expect, url)
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DownloadError(f"download of {url} failed: larger than {MAX_BYTES // 2**20} MB")
                fh.write(chunk)
        if size == 0:
            raise DownloadError(f"download of {url} failed: empty response")
        os.replace(part, target)
    except requests.RequestException as exc:
        raise DownloadError(f"download of {url} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    return size


def _fill(template: str, state: str) -> str:
    return template.replace("{state}", state).replace("{state_fips}", STATE_FIPS[state])


def _safe_name(name: str, fallback: str) -> str:
    """A plain file name from a link (no directories, no odd characters)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return clean if clean.lower().endswith(".xlsx") and len(clean) > 5 else fallback


def _fetch_ice(session: requests.Session, page_url: str, dest: Path, timeout: float,
               echo: Callable[[str], None]) -> list[str]:
    """Fetch the 287(g) page, then both spreadsheets it links; returns the failures."""
    response = _get(session, page_url, timeout, stream=False)
    html = response.text
    links = find_ice_links(html, response.url or page_url)
    failures = [f"{ICE_PAGE}: no {kind} .xlsx link found on {page_url}" for kind in ICE_KINDS if kind not in links]
    for kind in ICE_KINDS:
        if kind not in links:
            echo(f"ERROR download {ICE_PAGE}: no {kind} .xlsx link found on {page_url}")
            continue
        url = links[kind]
        target = dest / ICE_DIR / _safe_name(_file_name(url), f"{kind}Agencies.xlsx")
        try:
            size = download(session, url, target, expect="xlsx", timeout=timeout)
        except DownloadError as exc:
            failures.append(f"{ICE_PAGE} ({kind}): {exc}")
            echo(f"ERROR download {ICE_PAGE} ({kind}): {exc}")
            continue
        echo(f"downloaded {url} -> {target.relative_to(dest)} ({size // 1024} kB)")
    return failures


def fetch_sources(sources: dict[str, str], state: str, dest: Path, echo: Callable[[str], None] = lambda s: None,
                  *, timeout: float = 30, session: requests.Session | None = None) -> tuple[Path, list[str]]:
    """Download every configured source for `state` into dest; a failing source is reported and skipped.

    Returns (dest, failures): dest is laid out like shared/data so importers.discover(dest) finds the files.
    A source whose URL is empty in the config is skipped.
    """
    state = state.lower()
    dest.mkdir(parents=True, exist_ok=True)
    own = session is None
    session = session or requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    failures: list[str] = []
    try:
        for key, (relative, expect) in FILES.items():
            template = sources.get(key)
            if not template:
                continue
            url = _fill(template, state)
            target = dest / _fill(relative, state)
            try:
                size = download(session, url, target, expect=expect, timeout=timeout)
            except DownloadError as exc:
                failures.append(f"{key}: {exc}")
                echo(f"ERROR download {key}: {exc}")
                continue
            echo(f"downloaded {url} -> {target.relative_to(dest)} ({size // 1024} kB)")
        if sources.get(ICE_PAGE):
            try:
                failures += _fetch_ice(session, _fill(sources[ICE_PAGE], state), dest, timeout, echo)
            except DownloadError as exc:
                failures.append(f"{ICE_PAGE}: {exc}")
                echo(f"ERROR download {ICE_PAGE}: {exc}")
    finally:
        if own:
            session.close()
    return dest, failures
