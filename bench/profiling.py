"""What the benchmark scripts share: process CPU from /proc, free ports, and the in-process profile helpers
(sections timed by wrapping functions, cProfile's own time grouped by library)."""
from __future__ import annotations

import importlib
import os
import re
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

# (module[:attribute path], function, label, nested): nested sections run inside a top-level one.
Section = tuple[str, str, str, bool]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a server or worker and its children)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def timed_sections(sections: Iterable[Section], totals: dict[str, list[float]],
                   clock: Callable[[], float] = time.process_time) -> Callable[[], None]:
    """Wrap each section's function to add its CPU (`clock`) and wall seconds and its calls to totals[label]
    (no profiler overhead); returns the function that puts the originals back."""
    undo = []
    for where, attr, label, _ in sections:
        module, _, path = where.partition(":")
        owner: Any = importlib.import_module(module)
        for part in filter(None, path.split(".")):
            owner = getattr(owner, part)
        original = getattr(owner, attr)

        def timed(*args: Any, _original: Any = original, _label: str = label, **kwargs: Any) -> Any:
            cpu, wall = clock(), time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                entry = totals.setdefault(_label, [0.0, 0.0, 0])
                entry[0] += clock() - cpu
                entry[1] += time.perf_counter() - wall
                entry[2] += 1

        undo.append((owner, attr, original, attr in vars(owner)))
        setattr(owner, attr, timed)

    def restore() -> None:
        for owner, attr, original, own in reversed(undo):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
    return restore


def library(path: str) -> str:
    """The package a profiled file belongs to (site-packages name, 'actionkit', or the stdlib module)."""
    if "/actionkit/" in path:
        return "actionkit"
    found = re.search(r"site-packages/([A-Za-z0-9_]+)", path) or re.search(r"python3\.\d+/([A-Za-z0-9_]+)", path)
    return found.group(1) if found else "other"


def by_library(stats: dict[Any, Any]) -> tuple[str, int]:
    """cProfile's own time grouped by library (builtins charged to their callers), as 'name N%, …', and the
    number of Python function calls."""
    totals: Counter[str] = Counter()
    for (file, _, _), (_, _, own, _, callers) in stats.items():
        if file == "~":  # a builtin: charge it to the libraries that called it
            for (caller_file, _, _), timing in callers.items():
                totals[library(caller_file)] += timing[2]
        else:
            totals[library(file)] += own
    total = sum(totals.values()) or 1.0
    calls = sum(v[1] for v in stats.values())
    return ", ".join(f"{name} {100 * t / total:.0f}%" for name, t in totals.most_common() if t / total >= .01), calls


def print_sections(sections: Iterable[Section], totals: dict[str, list[float]], n: int, cpu: float, wall: float,
                   *, rest: str, statements: Counter[str], per: str) -> None:
    """Each section's CPU and wall ms per run (n runs, cpu/wall seconds in all), the rest, and the SQL
    statements per run by kind."""
    top_cpu = top_wall = 0.0
    for _, _, label, nested in sections:
        c, w, calls = totals.get(label, (0.0, 0.0, 0))
        if not nested:
            top_cpu, top_wall = top_cpu + c, top_wall + w
        print(f"  {label:<44} {c * 1000 / n:>7.2f} {w * 1000 / n:>8.2f} {calls / n:>6.1f}")
    print(f"  {rest:<44} {(cpu - top_cpu) * 1000 / n:>7.2f} {(wall - top_wall) * 1000 / n:>8.2f}")
    print(f"  SQL statements per {per}: {sum(statements.values()) / n:.1f}: " +
          ", ".join(f"{k} x{v / n:g}" for k, v in statements.most_common()))
