"""Every figure on the stats pages against a direct count on the facts, under each kind of filter; small
cells shown as "<5"; and no line of a table lets a hidden figure be worked out from its total."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pytest
import sqlalchemy as sa

from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter
from actionkit.officials.models import Office, OfficeType, Official
from actionkit.staff.models import Role
from actionkit.stats import queries, services
from actionkit.stats.models import RollupState
from tests.factories import make_action, make_campaign
from tests.stats.conftest import World, add_action, load_county_boundaries, read_page, table_dict

Counts = dict[Any, tuple[int, int]]  # key -> (figure, distinct supporters)


def expected_text(value: int, people: int) -> str:
    return "<5" if people < 5 else f"{value:,}"


def check(page: str, value: int, people: int, where: str) -> None:
    """The page shows the direct count, "<5" when it counts 0-4 supporters, or "hidden" (secondary
    suppression) only for a figure that is not itself small."""
    want = expected_text(value, people)
    if page == "hidden":
        assert want != "<5", f"{where}: a small cell must show <5, not hidden"
    else:
        assert page == want, f"{where}: page shows {page!r}, the direct count gives {want!r}"


class Direct:
    """Straight GROUP BY counts on actions/letters/deliveries, written independently of actionkit.stats."""

    def __init__(self, campaign_ids: list[int], filters: dict[str, Any]) -> None:
        self.where = [Action.campaign_id.in_(campaign_ids)]
        if filters.get("from"):
            self.where.append(Action.created_at >= _midnight(filters["from"]))
        if filters.get("to"):
            self.where.append(Action.created_at < _midnight(filters["to"]) + dt.timedelta(days=1))
        if filters.get("county"):
            self.where.append(Action.county_id == filters["county"])
        self.office_type = filters.get("office_type")

    def actions(self, *keys: Any) -> Counts:
        stmt = sa.select(*keys, sa.func.count(Action.id), sa.func.count(sa.distinct(Action.supporter_id))) \
            .where(*self.where).group_by(*keys)
        return _collect(stmt, len(keys))

    def letters(self, *keys: Any, deliveries: bool = False, where: tuple[Any, ...] = ()) -> Counts:
        stmt = sa.select(*keys, sa.func.count(Letter.id), sa.func.count(sa.distinct(Action.supporter_id))) \
            .select_from(Action).join(Letter, Letter.action_id == Action.id)
        if deliveries:
            stmt = stmt.join(Delivery, Delivery.letter_id == Letter.id)
        if self.office_type:
            stmt = stmt.where(Letter.office_type == self.office_type)
        return _collect(stmt.where(*self.where, *where).group_by(*keys), len(keys))


def _midnight(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)


def _collect(stmt: sa.Select[Any], nkeys: int) -> Counts:
    out: Counts = {}
    for row in db.session.execute(stmt):
        key = tuple(row[:nkeys]) if nkeys > 1 else (row[0] if nkeys else None)
        out[key] = (row[-2], row[-1])
    return out


def _day(value: Any) -> str:
    return str(value)[:10]


def assert_page_matches(html: str, world: World, campaign_ids: list[int], filters: dict[str, Any],
                        *, single: bool) -> None:
    page = read_page(html)
    d = Direct(campaign_ids, filters)
    total = d.actions().get(None, (0, 0))
    check(page.totals["Actions"], *total, "actions")
    people = total[1]
    check(page.totals["Supporters"], people, people, "supporters")
    letters = d.letters().get(None, (0, 0))
    check(page.totals["Letters" + (f" ({queries.OFFICE_LABELS[filters['office_type']]})"
                                   if filters.get("office_type") else "")], *letters, "letters")
    check(page.totals["Deliveries"], *d.letters(deliveries=True).get(None, (0, 0)), "deliveries")
    check(page.totals["Delivered"], *d.letters(deliveries=True, where=(Delivery.status == "sent",))
          .get(None, (0, 0)), "delivered")

    if not single:
        per_campaign = d.actions(Action.campaign_id)
        rows = table_dict(page.tables["table-0"], 2)
        for campaign in (world.alpha, world.beta):
            title = campaign.text("en").title
            check(rows[title], *per_campaign.get(campaign.id, (0, 0)), f"campaign {title}")

    per_day = {_day(k): v for k, v in d.actions(sa.func.date(Action.created_at)).items()} \
        if db.engine.dialect.name == "sqlite" else \
        {_day(k): v for k, v in d.actions(sa.cast(sa.func.timezone("UTC", Action.created_at), sa.Date)).items()}
    days = table_dict(page.tables["table-per-day"]) if "table-per-day" in page.tables else {}
    # The series runs over the filter's dates, else from the campaigns' first day (or first action) to today:
    # never from the first to the last action, which would date a "<5" day.
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert days
    assert max(days) == filters.get("to", max([today, *per_day]))
    assert min(days) == filters.get("from", min([today, *per_day]))
    for day, text in days.items():
        check(text, *per_day.get(day, (0, 0)), f"day {day}")
    assert sum(v for v, _ in per_day.values()) == total[0]

    counties = table_dict(page.tables["table-counties"])
    per_county = d.actions(Action.county_id)
    for name, division_id in world.counties.items():
        if filters.get("county") in (None, division_id):
            check(counties[f"{name} County"], *per_county.get(division_id, (0, 0)), f"county {name}")
    check(counties["County not known"], *per_county.get(None, (0, 0)), "county not known")  # always a row

    types = table_dict(page.tables["table-office-types"])
    per_type = d.letters(Letter.office_type)
    for kind, (value, n) in per_type.items():
        check(types[queries.OFFICE_LABELS[kind]], value, n, f"office type {kind}")

    table = page.tables["table-deliveries"]
    header = table[0]
    per_sc = d.letters(Delivery.status, Delivery.channel, deliveries=True)
    per_s = d.letters(Delivery.status, deliveries=True)
    per_c = d.letters(Delivery.channel, deliveries=True)
    status_of = {v: k for k, v in queries.STATUS_LABELS.items()}
    channel_of = {v: k for k, v in queries.CHANNEL_LABELS.items()}
    # Every status (whatever statuses exist) and channel is a row or column, with or without deliveries.
    assert [status_of.get(r[0], r[0]) for r in table[1:-1]] == [s.value for s in DeliveryStatus] + ["none"]
    assert [channel_of.get(c, c) for c in header[1:-1]] == [c.value for c in Channel]
    for row in table[1:-1]:
        status = status_of.get(row[0], row[0])
        if status == "none":
            continue
        for col, text in zip(header[1:-1], row[1:-1]):
            check(text, *per_sc.get((status, channel_of.get(col, col)), (0, 0)), f"delivery {status}/{col}")
        check(row[-1], *per_s.get(status, (0, 0)), f"deliveries {status}")
    for col, text in zip(header[1:-1], table[-1][1:-1]):
        check(text, *per_c.get(channel_of.get(col, col), (0, 0)), f"deliveries by {col}")

    per_official = d.letters(Letter.office_id, Letter.official_id)
    names = dict(db.session.execute(sa.select(Official.id, Official.name)).all())
    top = sorted(per_official.items(), key=lambda kv: -kv[1][0])[:queries.TOP_OFFICIALS]
    top = [(k, v) for k, v in top if v[1] >= queries.SUPPRESS_BELOW]  # officials of "<5" are not named
    shown = page.tables.get("table-top-officials", [])[1:]
    assert len(shown) == len(top)
    assert [r[0] for r in shown] == [names[k[1]] for k, _ in sorted(
        top, key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1]))]
    for (office_id, official_id), (value, n) in top:
        row = next(r for r in shown if r[0] == names[official_id])
        check(row[2], value, n, f"official {names[official_id]}")

    if filters.get("office_type") in (None, OfficeType.SHERIFF.value):
        per_office = d.letters(Letter.office_id)
        sheriffs = {r[0]: r[2] for r in page.tables["table-sheriffs"][1:]}
        for name, office in world.sheriffs.items():
            if filters.get("county") in (None, office.division_id):
                check(sheriffs[f"{name} County"], *per_office.get(office.id, (0, 0)), f"sheriff {name}")
    else:
        assert "table-sheriffs" not in page.tables

    returning = table_dict(page.tables["table-returning"])
    per_returning = d.actions(Action.is_returning)
    check(returning["New supporters"], *per_returning.get(False, (0, 0)), "new")
    check(returning["Returning supporters"], *per_returning.get(True, (0, 0)), "returning")
    languages = table_dict(page.tables["table-languages"])
    per_language = d.actions(Action.language)
    check(languages.get("English", "0"), *per_language.get("en", (0, 0)), "english")
    check(languages.get("Spanish", "0"), *per_language.get("es", (0, 0)), "spanish")
    check(languages["Not in English"], *per_language.get("es", (0, 0)), "non-english")
    share = languages_share(page)
    es = per_language.get("es", (0, 0))
    if languages["Not in English"] not in ("<5", "hidden") and page.totals["Actions"] not in ("<5", "hidden", "0"):
        assert share == f"{100 * es[0] / total[0]:.1f}%"
    else:
        assert share == "—"
    assert_no_single_hidden_cell(page)


def languages_share(page: Any) -> str:
    return page.tables["table-languages"][-1][2]


def assert_no_single_hidden_cell(page: Any) -> None:
    """In every table line with a shown total, zero or at least two figures are withheld."""
    def concealed(text: str) -> bool:
        return text in ("<5", "hidden")

    lines: list[tuple[list[str], str]] = []
    totals_actions = page.totals["Actions"]
    for tid in ("table-counties", "table-per-day", "table-returning"):
        if tid in page.tables:
            lines.append(([r[1] for r in page.tables[tid][1:]], totals_actions))
    lines.append(([r[1] for r in page.tables["table-languages"][1:-1]], totals_actions))
    deliveries = page.tables["table-deliveries"]
    for row in deliveries[1:]:
        lines.append((row[1:-1], row[-1]))
    for i in range(1, len(deliveries[0])):
        lines.append(([r[i] for r in deliveries[1:-1]], deliveries[-1][i]))
    for cells, total in lines:  # by subtraction from a shown total, or by addition to a concealed one
        assert sum(concealed(c) for c in cells) + concealed(total) != 1, (cells, total)


FILTERS = [
    {},
    {"from": "2026-01-20", "to": "2026-03-05"},  # partial months at both ends, February whole
    {"from": "2026-02-01", "to": "2026-02-28"},  # exactly one month
    {"from": "2026-02-10"},  # open end
    {"to": "2026-02-01"},  # open start
    {"county": "Adams"},
    {"county": "Bolivar", "from": "2026-01-16", "to": "2026-03-04"},  # county + edge days from the facts
    {"office_type": "us_senator"},
    {"office_type": "sheriff", "from": "2026-01-11", "to": "2026-02-11"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "none")
def test_every_figure_matches_a_direct_count(client, login, world, filters):
    login(Role.VIEWER)
    params = dict(filters)
    if "county" in params:
        params["county"] = world.counties[params["county"]]
    for slug, ids, single in (("alpha", [world.alpha.id], True), ("beta", [world.beta.id], True),
                              (None, [world.alpha.id, world.beta.id], False)):
        url = f"/staff/stats/{slug}" if slug else "/staff/stats"
        response = client.get(url, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert_page_matches(response.get_data(as_text=True), world, ids, params, single=single)


def test_small_cells_show_fewer_than_five(client, login, world):
    login(Role.VIEWER)
    alpha = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    counties = table_dict(alpha.tables["table-counties"])
    assert counties["Adams County"] == "12"
    assert counties["Bolivar County"] == "5"  # exactly 5 supporters: shown
    assert counties["Carroll County"] == counties["Desoto County"] == "<5"
    deliveries = {r[0]: r for r in alpha.tables["table-deliveries"]}
    assert deliveries["Pending"][1] == "<5"  # 5 letters but only 3 supporters
    assert deliveries["Held for review"][1] == "8"  # 8 letters from 5 supporters
    overview = read_page(client.get("/staff/stats").get_data(as_text=True))
    counties = table_dict(overview.tables["table-counties"])
    assert counties["Carroll County"] == "<5"  # 6 actions over two campaigns, but the same 3 people
    assert counties["Desoto County"] == "5"  # 2 + 3 people, each campaign under 5
    assert counties["Bolivar County"] == "8"


def test_charts_and_map_titles_never_give_a_small_number(client, login, own_world, shared_data):
    load_county_boundaries(shared_data)  # the world's counties get their real outlines (matched by OCD id)
    login(Role.VIEWER)
    html = client.get("/staff/stats/alpha").get_data(as_text=True)
    assert "Carroll County: &lt;5 actions" in html  # the map's <title>
    assert "Adams County: 12 actions" in html
    assert not re.search(r": [1-4] (actions|letters|deliveries)<", html)
    assert re.search(r"2026-01-10: &lt;5 actions", html)  # a day with 2 actions, in the chart's <title>
    assert 'style="' not in html  # the CSP forbids inline styles


def test_hidden_figures_protect_a_lone_small_cell(client, login, world):
    login(Role.VIEWER)
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    languages = table_dict(page.tables["table-languages"])
    assert languages["Spanish"] == "<5"
    assert languages["English"] == "hidden"  # else 26 - English would give Spanish away
    assert page.tables["table-languages"][-1][2] == "—"


def test_overview_supporters_count_people_once(client, login, world):
    login(Role.VIEWER)
    for params in ({}, {"from": "2026-01-01"}, {"county": world.counties["Carroll"]}):
        page = read_page(client.get("/staff/stats", query_string=params).get_data(as_text=True))
        direct = Direct([world.alpha.id, world.beta.id], params).actions().get(None, (0, 0))
        check(page.totals["Supporters"], direct[1], direct[1], f"supporters {params}")
    page = read_page(client.get("/staff/stats").get_data(as_text=True))
    assert page.totals["Supporters"] == "29" and page.totals["Actions"] == "35"


@pytest.mark.parametrize("params, message", [
    ({"from": "yesterday"}, "Enter the date as YYYY-MM-DD"),
    ({"from": "2026-03-01", "to": "2026-02-01"}, "The end date is before the start date."),
    ({"to": "1999-12-31"}, "Choose a date between"),
    ({"office_type": "mayor"}, "Choose one of the office types"),
    ({"county": "12abc"}, "Choose one of the counties"),
    ({"county": "999999"}, "Choose one of the counties"),
])
def test_bad_filters_get_a_message_not_an_error(client, login, world, params, message):
    login(Role.VIEWER)
    for url in ("/staff/stats", "/staff/stats/alpha"):
        response = client.get(url, query_string=params)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert message in html and "There is a problem" in html
        assert "table-counties" not in html


def test_unknown_campaign_is_404_and_the_campaign_filter_redirects(client, login, world):
    login(Role.VIEWER)
    assert client.get("/staff/stats/no-such-campaign").status_code == 404
    assert client.get("/staff/stats", query_string={"campaign": "no-such"}).status_code == 404
    response = client.get("/staff/stats", query_string={"campaign": "beta", "from": "2026-02-01", "county": ""})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/stats/beta?from=2026-02-01"


def test_a_page_runs_a_fixed_handful_of_queries(app, client, login, own_world):
    """No query per county, official or day: the statements a page runs do not grow with the data."""
    world = own_world
    login(Role.VIEWER)

    def statements(url: str, params: dict[str, Any] | None = None) -> list[str]:
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert client.get(url, query_string=params or {}).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return seen

    cases = [("/staff/stats", None), ("/staff/stats/alpha", None),
             ("/staff/stats", {"county": world.counties["Adams"], "from": "2026-01-15", "to": "2026-03-10"})]
    before = [statements(url, params) for url, params in cases]
    for i in range(12):
        add_action(world, world.alpha, ["Adams", "Bolivar", "Carroll", "Desoto", "Forrest"][i % 5],
                   f"2026-04-{1 + 2 * i:02d}")
        add_action(world, world.beta, ["Adams", "Desoto"][i % 2], f"2026-05-{1 + 2 * i:02d}")
    db.session.commit()
    services.refresh()
    db.session.commit()
    after = [statements(url, params) for url, params in cases]
    for seen in before + after:
        assert len(seen) <= 22, "\n".join(seen)
        repeats = max(seen.count(s) for s in seen)
        assert repeats <= 2, "the same statement runs again and again: an N+1 query"
    for b, a in zip(before, after):
        assert len(a) <= len(b) + 2  # more data settles fewer small cells, never needs more queries


def test_figures_follow_the_facts_after_a_refresh(client, login, own_world):
    """The incremental refresh picks up new actions and delivery status changes (even by bulk UPDATE)."""
    world = own_world
    login(Role.VIEWER)
    long_ago = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)  # the world was written "just now": age it
    db.session.execute(sa.update(Action).values(updated_at=long_ago))
    for model in (Letter, Delivery):
        db.session.execute(sa.update(model).values(updated_at=long_ago, created_at=long_ago))
    db.session.execute(sa.update(RollupState).values(refreshed_at=long_ago + dt.timedelta(days=1)))
    db.session.commit()
    add_action(world, world.alpha, "Forrest", "2026-03-26")
    add_action(world, world.alpha, "Forrest", "2026-03-27")
    add_action(world, world.alpha, "Forrest", "2026-01-02")
    db.session.commit()
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    assert table_dict(page.tables["table-counties"])["Forrest County"] == "<5"  # not refreshed yet
    report = services.refresh()
    db.session.commit()
    assert not report.full and report.days == 3
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    assert table_dict(page.tables["table-counties"])["Forrest County"] == "5"
    db.session.execute(sa.update(Delivery).where(Delivery.status == "held").values(status="sent"))
    db.session.commit()
    services.refresh()
    db.session.commit()
    html = client.get("/staff/stats/alpha").get_data(as_text=True)
    held = next(r for r in read_page(html).tables["table-deliveries"] if r[0] == "Held for review")
    assert held[-1] == "<5"  # none held any more; the row stays, like every status's
    assert_page_matches(html, world, [world.alpha.id], {}, single=True)
    services.refresh(full=True)
    db.session.commit()
    assert client.get("/staff/stats/alpha").get_data(as_text=True) == html.replace(
        _asof(html), _asof(client.get("/staff/stats/alpha").get_data(as_text=True)))


def _asof(html: str) -> str:
    return re.search(r"Figures as of [^U]*UTC", html).group(0)  # type: ignore[union-attr]


def test_editors_can_refresh_the_figures_now(client, login, own_world):
    world = own_world
    add_action(world, world.beta, "Forrest", "2026-03-30")
    db.session.commit()
    login(Role.VIEWER)
    assert client.post("/staff/stats/refresh").status_code == 403
    login(Role.EDITOR)
    response = client.post("/staff/stats/refresh", data={"campaign": "beta"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/stats/beta"
    page = read_page(client.get("/staff/stats/beta").get_data(as_text=True))
    assert page.totals["Actions"] == "10"


def test_a_page_before_the_first_refresh_says_so(app, client, login):
    make_action(make_campaign(slug="fresh"))
    db.session.commit()
    login(Role.VIEWER)
    html = client.get("/staff/stats").get_data(as_text=True)
    assert "have not been computed yet" in html


def test_no_campaigns_yet(client, login):
    login(Role.VIEWER)
    response = client.get("/staff/stats")
    assert response.status_code == 200
    assert "Totals" not in response.get_data(as_text=True)


def test_per_official_rows_name_former_holders_and_vacancies(client, login, own_world):
    """Letters stay with the official they were addressed to after the seat changes hands."""
    world = own_world
    office = world.sheriffs["Adams"]
    old = db.session.scalar(sa.select(Official).where(Official.office_id == office.id))
    old.left_on = dt.date(2026, 3, 1)
    db.session.add(Official(office_id=office.id, person_key="test:new", name="New Sheriff", source="test"))
    db.session.commit()
    login(Role.VIEWER)
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    top = {r[0]: r[2] for r in page.tables["table-top-officials"][1:]}
    assert top["Sheriff Adams"] == "12"
    sheriffs = {r[0]: r[1] for r in page.tables["table-sheriffs"][1:]}
    assert sheriffs["Adams County"] == "New Sheriff"
    assert db.session.get(Office, office.id) is not None


def test_day_ticks_stay_readable():
    from actionkit.stats.views import day_ticks

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(400)]
    ticks = day_ticks(days)
    assert ticks[0] == "Jan 2026" and "Jan 2027" in ticks.values() and 5 <= len(ticks) <= 11
    assert min(b - a for a, b in zip(sorted(ticks), sorted(ticks)[1:])) >= 40
    long = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(2000)]
    assert set(day_ticks(long).values()) <= {"2020", "2021", "2022", "2023", "2024", "2025"}
    short = day_ticks(days[:20])
    assert sorted(short) == [0, 7, 14]


def test_direct_counts_of_the_world_are_what_its_docstring_says(world):
    """Guards the fixture the other tests rely on."""
    d = Direct([world.alpha.id, world.beta.id], {})
    by_county = d.actions(Action.county_id)
    assert by_county[world.counties["Carroll"]] == (6, 3)
    assert by_county[world.counties["Desoto"]] == (5, 5)
    counts = defaultdict(int)
    for (status, channel), (value, _people) in Direct([world.alpha.id], {}).letters(
            Delivery.status, Delivery.channel, deliveries=True).items():
        counts[(status, channel)] = value
    assert counts[("pending", "email")] == 5 and counts[("held", "email")] == 8


def test_email_confirmation_counts_confirmed_and_unconfirmed(client, login, app):
    """Issue #11 item 7: a campaign that confirms e-mail addresses shows confirmed, waiting and expired
    signatures (small cells as "<5"); a campaign that does not shows no such table."""
    from actionkit.db import utcnow
    from actionkit.letters.models import Submission, SubmissionStatus

    login(Role.VIEWER)
    checking, plain = make_campaign(slug="checking"), make_campaign(slug="plain")
    checking.confirm_email = True
    db.session.flush()
    now = utcnow()
    rows = ([(SubmissionStatus.RECORDED, now)] * 7 + [(SubmissionStatus.AWAITING, None)] * 2
            + [(SubmissionStatus.EXPIRED, None)] * 6)
    for n, (status, confirmed) in enumerate(rows):
        db.session.add(Submission(campaign_id=checking.id, token_hash=f"t{n}", status=status, email_check=True,
                                  confirmed_at=confirmed))
    db.session.add(Submission(campaign_id=plain.id, token_hash="plain", status=SubmissionStatus.RECORDED))
    db.session.commit()
    page = client.get("/staff/stats/checking").get_data(as_text=True)
    assert "<h2 id=\"checks-h\">Email confirmation</h2>" in page
    cells = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num"><span class="[^"]+">([^<]+)</span>',
                            page))
    assert cells["Confirmed (letters released)"] == "7"
    assert cells["Unconfirmed, waiting for the link"] == "&lt;5"
    assert cells["Unconfirmed, expired and erased"] == "6"
    assert "checks-h" not in client.get("/staff/stats/plain").get_data(as_text=True)


def test_the_office_type_filter_knows_the_new_target_types(client, login, world):
    """The stats filter lists every office type (the page broke on a type it had no label for)."""
    login(Role.VIEWER)
    response = client.get("/staff/stats", query_string={"office_type": "fixed_target"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for value, label in (("governor", "Governor"), ("attorney_general", "Attorney general"),
                         ("police_chief", "City police chiefs"), ("fixed_target", "Fixed targets")):
        assert f'value="{value}"' in html and label in html


def test_calls_by_type_office_and_outcome_with_suppression(client, login, own_world):  # type: ignore[no-untyped-def]
    from actionkit.campaigns.models import CampaignMode
    from actionkit.letters.models import CallOutcome, CallReport

    own_world.alpha.mode = CampaignMode.BOTH
    adams, carroll = own_world.sheriffs["Adams"], own_world.sheriffs["Carroll"]
    for office, outcome, n, day in ((adams, CallOutcome.TALKED, 6, "2026-11-02"), (adams, CallOutcome.VOICEMAIL, 5, "2026-11-03"),
                                    (adams, CallOutcome.NO_ANSWER, 2, "2026-11-03"),
                                    (carroll, CallOutcome.TALKED, 3, "2026-11-03"),
                                    (own_world.us_senator, CallOutcome.TALKED, 7, "2026-11-03")):
        db.session.add_all([CallReport(campaign_id=own_world.alpha.id, office_id=office.id, outcome=outcome,
                                       day=dt.date.fromisoformat(day), lang="es") for _ in range(n)])
    db.session.commit()
    login(Role.VIEWER)
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    by_type = {r[0]: r[1:] for r in page.tables["table-calls-by-type"][1:]}
    # Sheriffs (Adams and Carroll): 9 talked, 5 voicemails, 2 no answer, 16 calls. The 2 is suppressed, so one
    # more figure of the row is hidden: 16 - 9 - 5 would give it away.
    assert by_type["Sheriffs"] == ["9", "hidden", "<5", "16"]
    assert by_type["U.S. senators"] == ["7", "<5", "<5", "7"]
    by_office = {r[0]: r[1:] for r in page.tables["table-calls-by-office"][1:]}
    # Adams: 6 talked, 5 voicemails, 2 no answer, 13 calls: the 2 is suppressed and the 6 and 13 hidden, else
    # 13 - 6 - 5, or the sheriffs' 16 less Carroll's, would give it away.
    assert by_office["Sheriff of Adams County"] == ["hidden", "5", "<5", "hidden"]
    assert not any(k.startswith("Sheriff of Carroll") for k in by_office)  # 3 calls: not listed as a row
    # The date filter applies to calls too.
    later = read_page(client.get("/staff/stats/alpha?from=2026-11-03").get_data(as_text=True))
    assert {r[0]: r[1:] for r in later.tables["table-calls-by-type"][1:]}["Sheriffs"][0] == "<5"
