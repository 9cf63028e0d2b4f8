"""The public progress page of a campaign (/act/<slug>/progress): no login, no personal data, no third-party
resources; cacheable for anonymous visitors. Figures come from stats.progress (the rollups, never the actions
table); the map is the staff pages' server-rendered SVG."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign, CampaignStatus
from actionkit.i18n import choose_request_language
from actionkit.stats import progress, svg

bp = Blueprint("progress", __name__)
bp.before_request(choose_request_language)
CACHE_SECONDS = 300
SORTS = ("county", "status", "supporters")
OFFICIAL_SORTS = ("office", "response", "letters")
RESPONSE_ORDER = {"supports": 0, "undecided": 1, "opposes": 2, "no_response": 3, None: 4}


@bp.after_request
def _cacheable(resp: Response) -> Response:
    """Nothing personal on these pages: shared caches may keep them a few minutes, per language."""
    if resp.status_code == 200:
        resp.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
        resp.headers["Vary"] = "Accept-Language"
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def _status_label(status: str) -> str:
    return {progress.PARTICIPATING: _("287(g) agreement in force"), progress.PENDING: _("287(g) agreement pending"),
            progress.NONE: _("No 287(g) agreement")}[status]


def _position_label(value: str | None) -> str:
    return {"supports": _("Supports ending the agreements"), "opposes": _("Opposes ending the agreements"),
            "undecided": _("Undecided"), "no_response": _("No response"), None: _("No response recorded")}[value]


def _map(data: progress.Progress) -> Any:
    drawn = [c for c in data.counties if c.geometry]
    if not drawn:
        return None
    css = {progress.PARTICIPATING: "g-participating", progress.PENDING: "g-pending", progress.NONE: "g-none"}
    areas = [svg.Area(str(c.division_id), c.geometry or "", css[c.status],
                      _("%(county)s: %(status)s; supporters: %(n)s", county=c.name, status=_status_label(c.status),
                        n=c.supporters.text)) for c in drawn]
    legend = [(css[s], _status_label(s)) for s in (progress.PARTICIPATING, progress.PENDING, progress.NONE)]
    return svg.county_map("progress-map", _("287(g) agreements by county"),
                          _("Map of the counties shaded by their sheriff's 287(g) status; the table lists every "
                            "county with its status and number of supporters."), areas, legend)


def _sorted(rows: list[progress.CountyRow], sort: str) -> list[progress.CountyRow]:
    if sort == "status":
        return sorted(rows, key=lambda r: (progress.STATUS_ORDER[r.status], r.name))
    if sort == "supporters":
        return sorted(rows, key=lambda r: (-(r.supporters.shown or 0), r.name))
    return sorted(rows, key=lambda r: r.name)


def _sorted_offices(rows: list[progress.OfficeRow], sort: str) -> list[progress.OfficeRow]:
    """Officials by office (the directory's order), by response (supports first, no response recorded last; the
    latest response first within each), or by letters received (most first; concealed counts last)."""
    if sort == "response":
        return sorted(rows, key=lambda r: (RESPONSE_ORDER[r.response.position.value if r.response else None],
                                           -(r.response.responded_on.toordinal() if r.response else 0)))
    if sort == "letters":
        return sorted(rows, key=lambda r: -(r.letters.shown or 0))
    return rows


def _published_or_404(slug: str) -> Campaign:
    """Live or closed campaigns keep their public record; drafts and unknown slugs are a 404."""
    campaign = campaigns.by_slug(slug)
    if campaign is None or campaign.status is CampaignStatus.DRAFT:
        abort(404)
    return campaign


def _render(slug: str, template: str) -> tuple[str, int]:
    campaign = _published_or_404(slug)
    data = progress.load(campaign)
    sort = request.args.get("sort", "county")
    sort = sort if sort in SORTS else "county"
    osort = request.args.get("officials", "office")
    osort = osort if osort in OFFICIAL_SORTS else "office"
    return render_template(template, lang=str(get_locale() or "en"), campaign=campaign, data=data, sort=sort,
                           counties=_sorted(data.counties, sort), county_map=_map(data), osort=osort,
                           offices=_sorted_offices(data.offices, osort),
                           has_calls=any(o.calls is not None for o in data.offices),
                           status_label=_status_label, position_label=_position_label), 200


@bp.get("/act/<slug>/progress")
def page(slug: str) -> tuple[str, int]:
    return _render(slug, "stats/progress.html")


@bp.get("/act/<slug>/progress/print")
def printable(slug: str) -> tuple[str, int]:
    """The same record laid out for paper (a press conference): every table in full, no navigation."""
    return _render(slug, "stats/progress_print.html")
