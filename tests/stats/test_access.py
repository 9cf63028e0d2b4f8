"""Who may see what: anonymous -> log-in page, viewers aggregates only, editors the aggregate CSV, admins the
personal CSV (audited, with no personal data in the audit log); and the CSV contents."""
from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.letters.models import Action, Supporter
from actionkit.staff.models import AuditEntry, Role
from actionkit.stats import views
from tests.stats.conftest import read_page, table_dict

PAGES = ["/staff/stats", "/staff/stats/alpha"]
EXPORTS = {"/staff/stats/alpha/export.csv": Role.EDITOR, "/staff/stats/alpha/export-actions.csv": Role.ADMIN}


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _personal_strings() -> list[str]:
    """Names, e-mail addresses and cities of every supporter of the world."""
    out: list[str] = []
    for s in db.session.scalars(sa.select(Supporter)):
        out += [s.email, s.first_name]
    out += [a.city for a in db.session.scalars(sa.select(Action)) if a.city]
    return out


def test_every_stats_route_declares_its_role(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("stats.")]
    assert len(rules) == 5
    for rule in rules:
        assert isinstance(getattr(app.view_functions[rule.endpoint], "required_role", None), Role), rule
    assert views.export_aggregates.required_role is Role.EDITOR
    assert views.export_actions.required_role is Role.ADMIN
    assert views.refresh.required_role is Role.EDITOR
    assert views.overview.required_role is views.campaign.required_role is Role.VIEWER


@pytest.mark.parametrize("url", PAGES + list(EXPORTS))
def test_anonymous_users_are_sent_to_log_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert client.post("/staff/stats/refresh").status_code == 302


def test_viewers_see_aggregates_only(client, login, world):
    login(Role.VIEWER)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "export.csv" not in html and "export-actions.csv" not in html
        assert "Refresh the figures now" not in html
        for value in _personal_strings():
            assert value not in html
    for url in EXPORTS:
        assert client.get(url).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_editors_download_the_figures_but_not_personal_data(client, login, world):
    editor = login(Role.EDITOR)
    html = client.get("/staff/stats/alpha").get_data(as_text=True)
    assert "export.csv" in html and "export-actions.csv" not in html
    assert client.get("/staff/stats/alpha/export-actions.csv").status_code == 403
    response = client.get("/staff/stats/alpha/export.csv", query_string={"from": "2026-01-20"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="stats-alpha.csv"' in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["section", "key", "label", "value"]
    by = {(r[0], r[1]): r[3] for r in rows[1:]}
    page = read_page(client.get("/staff/stats/alpha", query_string={"from": "2026-01-20"}).get_data(as_text=True))
    assert by[("filter", "from")] == "2026-01-20"
    assert by[("total", "actions")] == page.totals["Actions"]
    assert by[("total", "supporters")] == page.totals["Supporters"]
    counties = table_dict(page.tables["table-counties"])
    for label, value in counties.items():
        assert next(r[3] for r in rows if r[0] == "county" and r[2] == label) == value
    days = table_dict(page.tables["table-per-day"])
    assert {r[1]: r[3] for r in rows if r[0] == "day"} == days
    assert by[("county", str(world.counties["Carroll"]))] == "<5"
    assert by[("delivery", "pending/email")] == "<5"
    for value in _personal_strings():
        assert value not in response.get_data(as_text=True)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.actor_id == editor.id)).one()
    assert (entry.action, entry.target_type, entry.target_id) == ("export.stats", "campaign", str(world.alpha.id))
    assert entry.details["filters"] == {"from": "2026-01-20"}


def test_admins_download_actions_with_personal_data_and_it_is_audited(client, login, world):
    admin = login(Role.ADMIN)
    html = client.get("/staff/stats/alpha").get_data(as_text=True)
    assert "export-actions.csv" in html
    response = client.get("/staff/stats/alpha/export-actions.csv")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv(response)
    assert rows[0] == ["name", "email", "city", "county", "date", "language", "letters", "letters_sent"]
    actions = db.session.scalars(sa.select(Action).where(Action.campaign_id == world.alpha.id)
                                 .order_by(Action.created_at, Action.id)).all()
    assert len(rows) == 1 + len(actions)
    for row, action in zip(rows[1:], actions):
        s = action.supporter
        assert row[0] == f"{s.first_name} {s.last_name}" and row[1] == s.email and row[2] == action.city
        assert row[3] == (action.county.name if action.county else "")
        assert row[4] == action.created_at.date().isoformat() and row[5] == action.language
        assert int(row[6]) == len(action.letters)
        assert int(row[7]) == sum(1 for letter in action.letters if letter.delivery.status.value == "sent")
    adams_failed = next(r for r, a in zip(rows[1:], actions) if a.created_at.day == 31)
    assert adams_failed[6:] == ["3", "2"]  # the Adams action of 31 January: one letter failed
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.actor_id == admin.id)).one()
    assert (entry.action, entry.target_id, entry.details["rows"]) == ("export.actions", str(world.alpha.id),
                                                                    len(actions))
    details = json.dumps(entry.details)
    for value in _personal_strings():
        assert value not in details


def test_personal_export_honours_date_and_county_filters(client, login, world):
    login(Role.ADMIN)
    response = client.get("/staff/stats/alpha/export-actions.csv",
                          query_string={"county": world.counties["Adams"], "from": "2026-02-01", "to": "2026-02-28"})
    rows = _csv(response)[1:]
    assert [r[4] for r in rows] == ["2026-02-01", "2026-02-01", "2026-02-14", "2026-02-28"]
    assert {r[3] for r in rows} == {"Adams County"}
    bad = client.get("/staff/stats/alpha/export-actions.csv", query_string={"to": "soon"})
    assert bad.status_code == 400 and "Enter the date as YYYY-MM-DD" in bad.get_data(as_text=True)


def test_csv_cells_cannot_start_a_spreadsheet_formula(own_world, client, login):
    supporter = db.session.scalars(sa.select(Supporter).order_by(Supporter.id)).first()
    supporter.first_name = "=HYPERLINK(\"http://evil.example\")"
    db.session.commit()
    login(Role.ADMIN)
    text = client.get("/staff/stats/alpha/export-actions.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and "\n=HYPERLINK" not in text
