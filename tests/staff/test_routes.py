"""Every /staff route declares its role, and enforces it: anonymous -> log-in page, too low a role -> 403, enough
-> served. The routes are read from the app's URL map, so a new route without @role_required fails here."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from actionkit.staff.models import Role
from tests.staff.helpers import login, make_staff

PUBLIC = {"staff.login"}  # the only /staff route anyone may open
METHODS = ("GET", "POST")


def staff_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/staff") and r.endpoint not in PUBLIC),
                  key=lambda r: r.rule)


def url_for_rule(app: Flask, rule: Rule) -> str:
    """A URL for the rule with arguments that name nothing (so allowed requests change nothing)."""
    values = {arg: 999999 if isinstance(rule._converters[arg], IntegerConverter) else "no-such-thing"
              for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_staff_route_declares_a_role(app: Flask) -> None:
    rules = staff_rules(app)
    assert len(rules) >= 20, "the staff routes are not registered"
    missing = [r.endpoint for r in rules if not isinstance(getattr(app.view_functions[r.endpoint],
                                                                   "required_role", None), Role)]
    assert not missing, f"routes without @role_required: {missing}"
    # The stats helper's routes are covered like everyone else's.
    assert any(r.endpoint.startswith("stats.") for r in rules)


def _is_login_redirect(resp) -> bool:  # type: ignore[no-untyped-def]
    return resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/staff/login"


def test_each_role_on_each_route(app: Flask) -> None:
    users = {role: make_staff(role) for role in Role}
    clients = {role: app.test_client() for role in Role}
    for role, client in clients.items():
        assert login(client, users[role].email).status_code == 302
    anonymous = app.test_client()
    checked = 0
    failures = []
    for rule in staff_rules(app):
        needed: Role = app.view_functions[rule.endpoint].required_role
        url = url_for_rule(app, rule)
        for method in METHODS:
            if method not in (rule.methods or ()):
                continue
            resp = anonymous.open(url, method=method)
            if not _is_login_redirect(resp):
                failures.append(f"anonymous {method} {url}: {resp.status_code}")
            for role, client in clients.items():
                resp = client.open(url, method=method)
                checked += 1
                if role.allows(needed):
                    logged_out = rule.endpoint == "staff.logout" and _is_login_redirect(resp)
                    if resp.status_code in (401, 403) or (_is_login_redirect(resp) and not logged_out):
                        failures.append(f"{role.value} {method} {url}: {resp.status_code}, should be allowed")
                elif resp.status_code != 403:
                    failures.append(f"{role.value} {method} {url}: {resp.status_code}, should be 403")
                if rule.endpoint == "staff.logout":  # it worked: log in again for the next routes
                    assert login(client, users[role].email).status_code == 302
    assert not failures, "\n".join(failures)
    assert checked >= 60


@pytest.mark.parametrize("role,sections", [
    (Role.VIEWER, ["Stats"]),
    (Role.EDITOR, ["Campaigns", "Officials", "Deliveries", "Stats"]),
    (Role.ADMIN, ["Campaigns", "Officials", "Deliveries", "Stats", "Staff accounts", "Audit log", "Settings"]),
])
def test_dashboard_links_by_role(app: Flask, role: Role, sections: list[str]) -> None:
    client = app.test_client()
    make_staff(role)
    login(client, f"{role.value}@example.org")
    html = client.get("/staff/").get_data(as_text=True)
    for label in ("Campaigns", "Officials", "Deliveries", "Stats", "Staff accounts", "Audit log", "Settings"):
        assert (f">{label}<" in html) == (label in sections), label


def test_viewers_never_reach_personal_data(app: Flask) -> None:
    """Viewers: stats only. Every route that is not a stats page needs at least an editor."""
    for rule in staff_rules(app):
        needed = app.view_functions[rule.endpoint].required_role
        if needed is Role.VIEWER:
            assert rule.endpoint.startswith("stats.") or rule.endpoint in {
                "staff.dashboard", "staff.logout", "staff.account",
                # a viewer's own API tokens, which read only what a viewer sees
                "api_tokens.tokens", "api_tokens.create", "api_tokens.revoke"}, rule.endpoint
    export = [r for r in staff_rules(app) if "export" in r.endpoint and "actions" in r.endpoint]
    for rule in export:
        assert app.view_functions[rule.endpoint].required_role is Role.ADMIN, rule.endpoint
