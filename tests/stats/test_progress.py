"""The public progress page: 287(g) status map and list, supporters per county and letters per official with
small cells suppressed, recorded responses; public, cacheable, read from the rollups only."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from actionkit.campaigns.models import CampaignStatus
from actionkit.extensions import db
from actionkit.letters.models import CallOutcome, CallReport
from actionkit.officials import responses
from actionkit.stats import progress
from actionkit.officials.models import Agreement287g, AgreementStatus, Position
from tests.stats.conftest import load_county_boundaries, read_page, table_dict


def _agreements(world) -> None:  # type: ignore[no-untyped-def]
    for county, status in (("Adams", AgreementStatus.PARTICIPATING), ("Bolivar", AgreementStatus.PENDING)):
        db.session.add(Agreement287g(office_id=world.sheriffs[county].id, state="ms",
                                     agency=f"{county} County Sheriff's Office", support_type="Task Force Model",
                                     status=status, signed_on=dt.date(2025, 6, 30), source="test"))
    db.session.add(Agreement287g(office_id=world.sheriffs["Carroll"].id, state="ms", agency="Carroll County SO",
                                 support_type="Jail Enforcement Model", status=AgreementStatus.PARTICIPATING,
                                 signed_on=dt.date(2020, 1, 1), ended_on=dt.date(2025, 1, 1), source="test"))
    db.session.commit()


def test_progress_page_shows_status_counts_and_responses(client, own_world, shared_data):  # type: ignore[no-untyped-def]
    world = own_world
    load_county_boundaries(shared_data)
    _agreements(world)
    responses.record(world.sheriffs["Adams"], Position.OPPOSES, dt.date(2026, 3, 2), note="Said no at a meeting.",
                     source_url="https://news.example.org/adams")
    db.session.commit()

    resp = client.get("/act/alpha/progress")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    page = read_page(html)
    counties = {r[0]: (r[1], r[2]) for r in page.tables["county-table"][1:]}
    assert counties["Adams County"] == ("287(g) agreement in force", "12")
    assert counties["Bolivar County"] == ("287(g) agreement pending", "5")
    assert counties["Carroll County"] == ("No 287(g) agreement", "<5")  # its agreement ended
    assert counties["Desoto County"][1] == "<5"
    assert page.totals["Supporters who wrote"] == "26"
    assert page.totals["Goal"] == "40 (65%)"
    officials = table_dict(page.tables["officials-table"])
    adams = next(k for k in officials if k.startswith("Sheriff Adams"))
    assert officials[adams] == "12"
    assert officials[next(k for k in officials if k.startswith("Sheriff Carroll"))] == "<5"
    row = next(r for r in page.tables["officials-table"] if r[0].startswith("Sheriff Adams"))
    assert "Opposes ending the agreements" in row[2] and "Said no at a meeting." in row[2] and row[3] == "2026-03-02"
    assert 'href="https://news.example.org/adams"' in html
    assert not re.search(r"supporters: [1-4]<", html)
    # The map: one shaded county per status, with its title.
    assert 'class="county g-participating"' in html and 'class="county g-pending"' in html
    assert "Carroll County: No 287(g) agreement; supporters: &lt;5" in html
    # Public and cheap: cacheable, no cookie, nothing from another site, no personal data.
    assert resp.headers["Cache-Control"] == "public, max-age=300" and "Set-Cookie" not in resp.headers
    assert not re.search(r'(src|href)="(https?:)?//(?!news\.example\.org)', html)
    assert "Zebulon" not in html and "ville" not in html


def test_rendering_never_reads_the_actions_table(app, client, own_world):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get("/act/alpha/progress").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert any("stats_action_rollups" in s for s in statements)
    assert not [s for s in statements if re.search(r'\b(FROM|JOIN)\s+"?(actions|letters|deliveries)"?\b', s)]


def test_spanish_sorting_printable_and_drafts(client, own_world):  # type: ignore[no-untyped-def]
    _agreements(own_world)
    html = client.get("/act/alpha/progress?lang=es&sort=status").get_data(as_text=True)
    rows = read_page(html).tables["county-table"][1:]
    assert [r[0] for r in rows][:2] == ["Adams County", "Bolivar County"]
    assert rows[0][1] == "Acuerdo 287(g) vigente" and "Lo que hizo cada funcionario" in html
    by_supporters = read_page(client.get("/act/alpha/progress?sort=supporters").get_data(as_text=True))
    assert by_supporters.tables["county-table"][1][0] == "Adams County"
    campaign_page = client.get("/act/alpha?lang=es").get_data(as_text=True)
    assert 'href="/act/alpha/progress?lang=es"' in campaign_page and "Vea el estado 287(g)" in campaign_page
    printable = client.get("/act/alpha/progress/print")
    assert printable.status_code == 200 and 'id="officials-table"' in printable.get_data(as_text=True)
    own_world.beta.status = CampaignStatus.DRAFT
    db.session.commit()
    assert client.get("/act/beta/progress").status_code == 404
    own_world.alpha.status = CampaignStatus.CLOSED
    db.session.commit()
    assert client.get("/act/alpha/progress").status_code == 200  # the public record outlives the campaign


def test_officials_sort_by_response_and_letters_and_print_keeps_the_order(client, own_world):  # type: ignore[no-untyped-def]
    world = own_world
    responses.record(world.sheriffs["Carroll"], Position.SUPPORTS, dt.date(2026, 4, 1), note="Will end it.")
    responses.record(world.sheriffs["Adams"], Position.OPPOSES, dt.date(2026, 3, 2))
    db.session.commit()

    def officials(url: str) -> list[str]:
        return [r[0] for r in read_page(client.get(url).get_data(as_text=True)).tables["officials-table"][1:]]

    by_office = officials("/act/alpha/progress")
    by_response = officials("/act/alpha/progress?officials=response")
    assert by_response[0].startswith("Sheriff Carroll") and by_response[1].startswith("Sheriff Adams")
    assert sorted(by_response) == sorted(by_office) and by_response != by_office
    letters = [r[1] for r in read_page(client.get("/act/alpha/progress?officials=letters").get_data(
        as_text=True)).tables["officials-table"][1:]]
    shown = [int(n) for n in letters if n.isdigit()]
    assert shown == sorted(shown, reverse=True) and letters[-1] == "<5"  # most first; concealed counts last
    assert officials("/act/alpha/progress?officials=nonsense") == by_office
    html = client.get("/act/alpha/progress?officials=response&sort=status&lang=es").get_data(as_text=True)
    assert 'aria-sort="ascending"><a href="/act/alpha/progress?lang=es&amp;sort=status&amp;officials=response' in html
    link = re.search(r'href="([^"]+)" id="print-link"', html).group(1).replace("&amp;", "&")
    assert "sort=status" in link and "officials=response" in link
    assert officials(link)[0].startswith("Sheriff Carroll")  # the printed page in the order chosen on screen


def test_calls_column_appears_only_with_call_records_and_is_suppressed(client, own_world, monkeypatch):  # type: ignore[no-untyped-def]
    from actionkit.stats import progress

    assert progress.calls_by_office(own_world.alpha) == {}  # the hook: no call records yet
    assert "<th scope=\"col\" class=\"num\">Calls</th>" not in client.get("/act/alpha/progress").get_data(as_text=True)
    monkeypatch.setattr(progress, "calls_by_office", lambda campaign: {own_world.sheriffs["Adams"].id: 9,
                                                                        own_world.sheriffs["Carroll"].id: 2})
    page = read_page(client.get("/act/alpha/progress").get_data(as_text=True))
    rows = {r[0].split("\n")[0]: r for r in page.tables["officials-table"]}
    header = page.tables["officials-table"][0]
    assert header[2] == "Calls"
    adams = next(r for k, r in rows.items() if k.startswith("Sheriff Adams"))
    carroll = next(r for k, r in rows.items() if k.startswith("Sheriff Carroll"))
    assert adams[2] == "9" and carroll[2] == "<5"
def test_calls_column_counts_reported_calls_with_small_cells_suppressed(client, own_world):  # type: ignore[no-untyped-def]
    adams, carroll = own_world.sheriffs["Adams"], own_world.sheriffs["Carroll"]
    for office, outcome, n in ((adams, CallOutcome.TALKED, 4), (adams, CallOutcome.VOICEMAIL, 3),
                               (carroll, CallOutcome.NO_ANSWER, 2)):
        db.session.add_all([CallReport(campaign_id=own_world.alpha.id, office_id=office.id, outcome=outcome,
                                       day=dt.date(2026, 11, 2), lang="en") for _ in range(n)])
    db.session.commit()
    assert progress.calls_by_office(own_world.alpha) == {adams.id: 7, carroll.id: 2}
    page = read_page(client.get("/act/alpha/progress").get_data(as_text=True))
    rows = {r[0].split("\n")[0]: r for r in page.tables["officials-table"]}
    assert page.tables["officials-table"][0][2] == "Calls"
    assert next(r for k, r in rows.items() if k.startswith("Sheriff Adams"))[2] == "7"
    assert next(r for k, r in rows.items() if k.startswith("Sheriff Carroll"))[2] == "<5"


def test_fixed_targets_appear_with_their_response(client, own_world):  # type: ignore[no-untyped-def]
    """A fixed target sits on the country division, not the campaign's state: it is still on the public page."""
    from actionkit.officials import admin

    dhs = admin.create_fixed_target({"title": "Secretary of Homeland Security", "name": "Pat Example",
                                     "email": "secretary@dhs.example.org"})
    own_world.alpha.target_types = [*own_world.alpha.target_types, "fixed_target"]
    responses.record(dhs, Position.OPPOSES, dt.date(2026, 3, 5), note="Refused in a letter.",
                     source_url="https://news.example.org/dhs")
    db.session.commit()
    html = client.get("/act/alpha/progress").get_data(as_text=True)
    row = next(r for r in read_page(html).tables["officials-table"] if r[0].startswith("Pat Example"))
    assert "Secretary of Homeland Security" in row[0] and "Refused in a letter." in row[2]
