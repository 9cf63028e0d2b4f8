"""Our own small server-side SVG charts: column chart, bar chart and a county map.

Accessible by construction (role="img", aria-labelledby a <title> and <desc>, a <title> on every mark), styled
only through classes in app.css (the CSP forbids style attributes), and free of scripts and web fonts. A value
of None is a suppressed cell: it is drawn as a small marker and labelled "<5", never at its height.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from markupsafe import Markup, escape

SUPPRESSED = "<5"


@dataclass(frozen=True)
class Point:
    """One mark: its axis label, its value (None when suppressed) and the text shown for it."""

    label: str
    value: int | None
    text: str
    tick: str = ""  # axis label to print under this mark ("" = none)


@dataclass(frozen=True)
class Area:
    """One county of a map: its GeoJSON geometry, a class for its shading and the text of its <title>."""

    key: str
    geometry: str
    css_class: str
    title: str


def _open(chart_id: str, css: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5, 5 x a power of ten)."""
    if value <= 0:
        return 5
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def column_chart(chart_id: str, title: str, desc: str, points: Sequence[Point], *, x_label: str, y_label: str,
                 unit: str, width: int = 720, height: int = 260) -> Markup:
    """Vertical columns, one per point (e.g. actions per day), with a y axis and a few x ticks."""
    left, right, top, bottom = 56, 12, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_max(max((p.value or 0 for p in points), default=0))
    out = _open(chart_id, "chart-columns", width, height, title, desc)
    out.append('<g class="grid">')
    for i in range(5):
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick tick-y" x="{left - 6}" y="{y + 4:.1f}">{_number(v)}</text>')
    out.append("</g>")
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.8, 0.5)
    out.append('<g class="marks">')
    for i, p in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        label = f"{p.label}: {p.text} {unit}"
        if p.value is None:
            out.append(f'<rect class="mark-suppressed" x="{x:.2f}" y="{top + plot_h - 3:.1f}" width="{bar_w:.2f}" '
                       f'height="3"><title>{escape(label)}</title></rect>')
        elif p.value > 0:
            h = plot_h * p.value / top_value
            out.append(f'<rect class="mark" x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" '
                       f'height="{h:.2f}"><title>{escape(label)}</title></rect>')
    out.append("</g>")
    out.append(f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    out.append('<g class="ticks-x">')
    for i, p in enumerate(points):
        if p.tick:
            x = left + i * slot + slot / 2
            out.append(f'<line class="tick-mark" x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" '
                       f'y2="{top + plot_h + 4}"/>')
            out.append(f'<text class="tick tick-x" x="{x:.1f}" y="{top + plot_h + 16}">{escape(p.tick)}</text>')
    out.append("</g>")
    out.append(f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{height - 6}">{escape(x_label)}</text>')
    out.append(f'<text class="axis-label" transform="rotate(-90)" x="{-(top + plot_h / 2):.1f}" y="14">'
               f'{escape(y_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(chart_id: str, title: str, desc: str, points: Sequence[Point], *, x_label: str, unit: str,
              width: int = 720, label_width: int = 190) -> Markup:
    """Horizontal bars, one per category, labelled with their figure (or "<5")."""
    row_h, top, bottom, right = 26, 8, 40, 70
    height = top + bottom + row_h * max(len(points), 1)
    plot_w = width - label_width - right
    top_value = nice_max(max((p.value or 0 for p in points), default=0))
    out = _open(chart_id, "chart-bars", width, height, title, desc)
    out.append('<g class="grid">')
    plot_bottom = top + row_h * len(points)
    for i in range(5):
        x = label_width + plot_w * i / 4
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{plot_bottom}"/>')
        out.append(f'<text class="tick tick-x" x="{x:.1f}" y="{plot_bottom + 14}">'
                   f'{_number(top_value * i / 4)}</text>')
    out.append("</g>")
    out.append('<g class="marks">')
    for i, p in enumerate(points):
        y = top + i * row_h
        label = f"{p.label}: {p.text} {unit}"
        out.append(f'<text class="category" x="{label_width - 8}" y="{y + row_h / 2 + 4:.1f}">{escape(p.label)}</text>')
        w = 0.0 if p.value is None else plot_w * p.value / top_value
        css = "mark-suppressed" if p.value is None else "mark"
        shown_w = 3.0 if p.value is None else w
        out.append(f'<rect class="{css}" x="{label_width}" y="{y + 4}" width="{shown_w:.2f}" height="{row_h - 8}">'
                   f'<title>{escape(label)}</title></rect>')
        out.append(f'<text class="value" x="{label_width + shown_w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">'
                   f'{escape(p.text)}</text>')
    out.append("</g>")
    out.append(f'<text class="axis-label" x="{label_width + plot_w / 2:.1f}" y="{height - 6}">{escape(x_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


# --- the map ------------------------------------------------------------------------------------------------


def _rings(geometry: dict) -> Iterable[list[list[float]]]:
    kind = geometry.get("type")
    if kind == "Polygon":
        yield from geometry["coordinates"]
    elif kind == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries", []):
            yield from _rings(part)


@lru_cache(maxsize=16)
def project(geometries: tuple[str, ...], width: int) -> tuple[tuple[str, ...], float]:
    """SVG path data for each GeoJSON geometry, equirectangular (x scaled by cos of the middle latitude) and
    fitted to `width`; returns (paths, height). Cached: the county outlines rarely change."""
    parsed = [[ring for ring in _rings(json.loads(g))] if g else [] for g in geometries]
    points = [pt for rings in parsed for ring in rings for pt in ring]
    if not points:
        return tuple("" for _ in geometries), 0.0
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * k, 1e-9)
    scale = width / span_x
    height = (north - south) * scale

    def xy(pt: Sequence[float]) -> str:
        return f"{(pt[0] - west) * k * scale:.1f},{(north - pt[1]) * scale:.1f}"

    paths = []
    for rings in parsed:
        parts = []
        for ring in rings:
            if len(ring) < 3:
                continue
            parts.append("M" + xy(ring[0]) + "L" + " ".join(xy(pt) for pt in ring[1:]) + "Z")
        paths.append("".join(parts))
    return tuple(paths), height


def county_map(map_id: str, title: str, desc: str, areas: Sequence[Area], legend: Sequence[tuple[str, str]], *,
               width: int = 420) -> Markup:
    """One <path> per county, shaded by class, each with a <title>; the legend below the counties."""
    paths, height = project(tuple(a.geometry for a in areas), width)
    pad = 4
    legend_h = 22 * len(legend) + 8
    total_h = height + 2 * pad + legend_h
    out = _open(map_id, "chart-map", width + 2 * pad, total_h, title, desc)
    out.append(f'<g class="counties" transform="translate({pad} {pad})">')
    for area, d in zip(areas, paths):
        if d:
            out.append(f'<path class="county {escape(area.css_class)}" data-county="{escape(area.key)}" d="{d}">'
                       f'<title>{escape(area.title)}</title></path>')
    out.append("</g>")
    y = height + 2 * pad + 6
    out.append('<g class="legend">')
    for i, (css, text) in enumerate(legend):
        ly = y + 22 * i
        out.append(f'<rect class="county {escape(css)}" x="{pad}" y="{ly:.1f}" width="18" height="14"/>')
        out.append(f'<text class="legend-label" x="{pad + 26}" y="{ly + 11:.1f}">{escape(text)}</text>')
    out.append("</g></svg>")
    return Markup("".join(out))


def quantile_classes(values: dict[str, int | None], *, hidden: Iterable[str] = (),
                     bins: int = 4) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Shading classes by quantile: q0 for none, qs for suppressed (<5), qh for hidden, q1..q4 for the shown
    counts split at their quartiles. Returns (class per key, legend [(class, label)]) built from shown figures."""
    hidden = set(hidden)
    shown = sorted(v for k, v in values.items() if v and k not in hidden)
    breaks: list[int] = []
    for i in range(1, bins):
        if shown:
            b = shown[math.ceil(len(shown) * i / bins) - 1]
            if not breaks or b > breaks[-1]:
                breaks.append(b)
    if shown and (not breaks or breaks[-1] < shown[-1]):
        breaks.append(shown[-1])
    classes = {}
    for key, v in values.items():
        if key in hidden:
            classes[key] = "qh"
        elif v is None:
            classes[key] = "qs"
        elif v == 0:
            classes[key] = "q0"
        else:
            classes[key] = f"q{1 + next(i for i, b in enumerate(breaks) if v <= b)}"
    legend = [("q0", "No actions"), ("qs", "Fewer than 5 supporters")]
    if hidden & set(values):
        legend.append(("qh", "Hidden (would reveal a small county)"))
    for i, b in enumerate(breaks):
        in_bin = [v for v in shown if (i == 0 or v > breaks[i - 1]) and v <= b]
        lo, hi = in_bin[0], in_bin[-1]
        legend.append((f"q{i + 1}", f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"))
    return classes, legend
