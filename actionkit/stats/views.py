"""Participation stats for staff: aggregates for viewers, aggregate CSV for editors, personal CSV for admins."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from actionkit.campaigns.models import Campaign
from actionkit.extensions import db
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.stats import exports, queries, services, svg
from actionkit.stats.forms import StatsFilterForm

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
FILTER_ARGS = ("from", "to", "office_type", "county")  # the filter form's fields, besides the campaign


def _form(counties: list[queries.CountyShape], campaigns: list[Campaign] | None = None) -> StatsFilterForm:
    return StatsFilterForm(formdata=request.args, campaigns=queries.campaign_choices(campaigns),
                           counties=[(c.division_id, c.name) for c in counties])


def _campaign_or_404(slug: str) -> Campaign:
    campaign = db.session.scalar(db.select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    return campaign


def _render(campaigns: list[Campaign], *, single: bool) -> tuple[str, int]:
    shapes = queries.county_shapes(queries.main_state(campaigns))
    form = _form(shapes, None if single else campaigns)
    campaign = campaigns[0] if single else None
    title = f"Participation stats: {campaign.text('en').title}" if campaign else "Participation stats"
    context = {"form": form, "single": single, "campaign": campaign, "page_title": title, "Role": Role,
               "office_labels": queries.OFFICE_LABELS, "status_labels": queries.STATUS_LABELS,
               "channel_labels": queries.CHANNEL_LABELS, "empty": queries.Cell()}
    valid = form.validate()
    if campaign is not None:
        form.campaign.data = campaign.slug
    if not valid:
        return render_template("stats/page.html", stats=None, charts={}, **context), 400
    stats = queries.load(campaigns, form.filters(), single=single, shapes=shapes) if campaigns else None
    if campaign is not None:  # confirmed vs unconfirmed signatures, where the campaign checks e-mail addresses
        checks = queries.email_checks([campaign.id])
        if campaign.confirm_email or any(row.cell.value for row in checks):
            context["email_checks"] = checks
    if stats is not None and any(c.takes_calls for c in campaigns):  # calls reported from the call page
        context["calls"] = queries.calls([c.id for c in campaigns], form.filters())
    return render_template("stats/page.html", stats=stats, charts=_charts(stats) if stats else {}, **context), 200


@bp.get("")
@role_required(Role.VIEWER)
def overview() -> Any:
    """Every campaign together; choosing a campaign in the filter form goes to that campaign's page."""
    slug = request.args.get("campaign")
    if slug:
        _campaign_or_404(slug)
        # Only the filters travel on: other keys (_method, _external, _anchor...) are url_for's own arguments.
        args = {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}
        return redirect(url_for("stats.campaign", slug=slug, **args))
    return _render(queries.all_campaigns(), single=False)


@bp.get("/<slug>")
@role_required(Role.VIEWER)
def campaign(slug: str) -> Any:
    """One campaign's figures."""
    found = _campaign_or_404(slug)
    return _render([found], single=True)


@bp.get("/<slug>/export.csv")
@role_required(Role.EDITOR)
def export_aggregates(slug: str) -> Any:
    """The page's figures as CSV (small cells suppressed, like the page)."""
    found = _campaign_or_404(slug)
    shapes = queries.county_shapes(found.state)
    form = _form(shapes)
    if not form.validate():
        return _bad_filters(form)
    stats = queries.load([found], form.filters(), single=True, shapes=shapes)
    exports.audit(current_user, "export.stats", found, form.filters(), rows=None)
    db.session.commit()
    return _csv(exports.aggregate_rows(stats), f"stats-{found.slug}.csv")


@bp.get("/<slug>/export-actions.csv")
@role_required(Role.ADMIN)
def export_actions(slug: str) -> Any:
    """Every action of the campaign with the supporter's name and e-mail: admins only, audited."""
    found = _campaign_or_404(slug)
    form = _form(queries.county_shapes(found.state))
    if not form.validate():
        return _bad_filters(form)
    filters = form.filters()
    exports.audit(current_user, "export.actions", found, filters, rows=exports.count_actions(found, filters))
    db.session.commit()
    return _csv(exports.action_rows(found, filters), f"actions-{found.slug}.csv")


@bp.post("/refresh")
@role_required(Role.EDITOR)
def refresh() -> Any:
    """Bring the figures up to date now instead of at the next scheduled refresh."""
    report = services.refresh()
    db.session.commit()
    flash(f"Figures refreshed ({report.days} campaign-days recomputed).", "success")
    slug = request.form.get("campaign")
    if slug and db.session.scalar(db.select(Campaign.id).where(Campaign.slug == slug)) is not None:
        return redirect(url_for("stats.campaign", slug=slug))
    return redirect(url_for("stats.overview"))


def _bad_filters(form: StatsFilterForm) -> Response:
    messages = [f"{form[name].label.text}: {error}" for name, errors in form.errors.items() for error in errors]
    return Response("\n".join(messages) + "\n", status=400, mimetype="text/plain")


def _csv(rows: Any, filename: str) -> Response:
    response = Response(stream_with_context(exports.csv_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _charts(stats: queries.Stats) -> dict[str, Any]:
    """The SVG charts of a page, built from the same (suppressed) cells as its tables."""
    out: dict[str, Any] = {}
    if stats.per_day:
        ticks = day_ticks([r.key for r in stats.per_day])
        points = [svg.Point(r.label, r.cell.shown, r.cell.text, ticks.get(i, "")) for i, r in enumerate(stats.per_day)]
        first, last = stats.per_day[0].label, stats.per_day[-1].label
        out["per_day"] = svg.column_chart(
            "chart-per-day", "Actions per day",
            f"Column chart of actions per day (UTC) from {first} to {last}; the same figures are in the table "
            "below it. Days with fewer than 5 supporters are marked but not drawn to scale.",
            points, x_label="Day (UTC)", y_label="Actions", unit="actions")
    if stats.office_types:
        out["office_types"] = svg.bar_chart(
            "chart-office-types", "Letters by office type",
            "Bar chart of letters per office type; the same figures are in the table beside it.",
            [svg.Point(r.label, r.cell.shown, r.cell.text) for r in stats.office_types],
            x_label="Letters", unit="letters")
    status_rows = [(s, stats.deliveries_by.get((s, ""))) for s in stats.statuses]
    status_points = [svg.Point(queries.STATUS_LABELS.get(s, s), c.shown, c.text) for s, c in status_rows if c]
    if status_points:
        out["statuses"] = svg.bar_chart(
            "chart-statuses", "Deliveries by status",
            "Bar chart of deliveries per status, all channels together; the table beside it splits them by channel.",
            status_points, x_label="Deliveries", unit="deliveries")
    areas = [r for r in stats.counties if not r.extra.get("unknown") and not r.extra.get("other_state")]
    shapes = {s.division_id: s for s in stats.county_shapes}
    drawn = [r for r in areas if shapes.get(r.key) and shapes[r.key].geometry]
    if drawn:
        classes, legend = svg.quantile_classes({str(r.key): r.cell.shown for r in drawn},
                                               hidden={str(r.key) for r in drawn if r.cell.hidden})
        out["map_classes"] = {int(k): v for k, v in classes.items()}
        out["map"] = svg.county_map(
            "chart-map", "Actions by county",
            "Map of the state's counties shaded by number of actions (darker is more); the table beside it lists "
            "every county's figure.",
            [svg.Area(str(r.key), shapes[r.key].geometry or "", classes[str(r.key)],
                      f"{r.label}: {r.cell.text} actions") for r in drawn],
            legend)
    return out


def day_ticks(days: list[Any]) -> dict[int, str]:
    """Which days get an x-axis label: weekly for short ranges, month starts (or years) for long ones, never
    two labels closer than a tenth of the axis."""
    n = len(days)
    if n <= 45:
        return {i: d.strftime("%b %-d") for i, d in enumerate(days) if i % 7 == 0}
    yearly = n > 800
    ticks: dict[int, str] = {}
    last = -n
    for i, d in enumerate(days):
        start = d.day == 1 and (d.month == 1 or not yearly)
        if (i == 0 or start) and i - last >= n / 10:
            ticks[i] = d.strftime("%Y") if yearly else d.strftime("%b %Y") if d.month == 1 or i == 0 else \
                d.strftime("%b")
            last = i
    return ticks
