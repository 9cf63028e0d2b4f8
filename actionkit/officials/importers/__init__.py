"""Importers, one per real public format. Each module exposes:

    KIND: str                      short name, used in reports and sync_runs.source
    ORDER: int                     load order (counties before sheriffs before 287(g) ...)
    sniff(path, head) -> bool      does this file (first 4 kB of text in `head`, "" for dirs/binaries) look like ours?
    load(path, state, ctx) -> SyncReport
                                   parse everything first (raise SourceError naming file and line), then apply
                                   through officials.services; flush only, never commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, Iterator, TypeVar

from actionkit.officials.services import SourceError, SyncReport

T = TypeVar("T")
Progress = Callable[[Iterable[T], int, str], Iterator[T]]


def no_progress(items: Iterable[T], length: int, label: str) -> Iterator[T]:
    return iter(items)


@dataclass
class ImportContext:
    """What an importer may use besides the file: the date the data is 'as of' and a progress wrapper."""

    as_of: dt.date | None = None
    progress: Progress = no_progress
    options: dict[str, object] = field(default_factory=dict)

    def date_for(self, path: Path) -> dt.date:
        """Explicit --as-of, else the file's modification date."""
        if self.as_of:
            return self.as_of
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date()


def _modules() -> list[ModuleType]:
    from actionkit.officials.importers import (
        boundaries, congress, counties, executive, ice287g, openstates, police_chiefs, sheriffs, snapshot, zips,
    )
    mods = [snapshot, counties, congress, openstates, executive, sheriffs, police_chiefs, ice287g, boundaries, zips]
    return sorted(mods, key=lambda m: m.ORDER)


def _head(path: Path) -> str:
    if path.is_dir():
        return ""
    with path.open("rb") as fh:
        raw = fh.read(4096)
    if b"\0" in raw:
        return ""
    return raw.decode("utf-8", errors="replace")


def detect(path: Path) -> ModuleType | None:
    """The importer for one file (or an Open States legislature folder), or None."""
    head = _head(path)
    for mod in _modules():
        if mod.sniff(path, head):
            return mod
    return None


def discover(root: Path) -> list[tuple[ModuleType, Path]]:
    """Every loadable source under root (a folder laid out like shared/data, or one file), in load order."""
    if root.is_file():
        mod = detect(root)
        if mod is None:
            raise SourceError("not a format actionkit can import (see docs/officials-sources.md)", path=str(root))
        return [(mod, root)]
    if not root.is_dir():
        raise SourceError("no such file or folder", path=str(root))
    own = detect(root)  # e.g. --from openstates-ms/legislature: the folder itself is one source
    if own is not None:
        return [(own, root)]
    found: list[tuple[ModuleType, Path]] = []
    claimed_dirs: list[Path] = []
    for path in sorted(root.rglob("*")):
        if any(d in path.parents for d in claimed_dirs) or path.name.startswith("."):
            continue
        mod = detect(path)
        if mod is None:
            continue
        if path.is_dir():
            claimed_dirs.append(path)
        found.append((mod, path))
    # An importer may drop files another file of its own supersedes (e.g. a derived CSV beside its xlsx).
    result: list[tuple[ModuleType, Path]] = []
    for mod in _modules():
        paths = [p for m, p in found if m is mod]
        select = getattr(mod, "select", None)
        for p in (select(paths) if select else paths):
            result.append((mod, p))
    return result


def sha256_of(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["ImportContext", "Progress", "SourceError", "SyncReport", "detect", "discover", "no_progress", "sha256_of"]
