"""Every GET route, opened by an admin and by an anonymous visitor with hostile query arguments (huge page
numbers, url_for's own keywords, CR/LF, NUL, overlong and odd values), answers with a page or a 4xx: never a 5xx.
The routes are read from the URL map, so a new route is walked too."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask import Flask, url_for
from werkzeug.routing import IntegerConverter, Rule

from actionkit.extensions import db
from tests.factories import make_action, make_campaign
from tests.staff.helpers import login_as
from actionkit.staff.models import Role

# Argument names the app reads anywhere, plus Flask's url_for keywords.
NAMES = ("page", "next", "lang", "campaign", "from", "to", "county", "office_type", "q", "type", "state", "status",
         "action", "undeliverable", "key", "token", "format", "_method", "_external", "_anchor", "_scheme")
VALUES = ("9" * 40, "99999999999999999999", "-1", "0", "1e309", "NaN", "\r\nSet-Cookie: x=1", "\x00", "%00",
          "x" * 5000, "../../etc/passwd", "ñ\u202e🙂", "javascript:alert(1)", "", "POST")


def hostile_queries(slug: str) -> list[str]:
    """One query per value with every name set to it, and one per name with every value (repeated keys)."""
    out = [urlencode({name: value for name in NAMES}) for value in VALUES]
    out += [urlencode([(name, value) for value in VALUES]) for name in NAMES]
    out.append(urlencode({"campaign": slug, "_method": "DELETE", "_external": "1", "_anchor": "x\r\ny",
                          "_scheme": "javascript", "from": "2026-01-01", "page": "9" * 40}))
    return out


def get_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and r.endpoint != "static"),
                  key=lambda r: r.rule)


def url_for_rule(app: Flask, rule: Rule, slug: str, ids: dict[str, int]) -> str:
    values = {}
    for arg in rule.arguments:
        if isinstance(rule._converters[arg], IntegerConverter):
            values[arg] = ids.get(arg, 1)
        else:
            values[arg] = slug
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.fixture
def data(app: Flask) -> dict[str, object]:
    campaign = make_campaign(slug="hostile")
    action = make_action(campaign)
    db.session.commit()
    letter = action.letters[0]
    return {"slug": campaign.slug, "ids": {"office_id": letter.office_id, "campaign_id": campaign.id,
                                           "delivery_id": letter.deliveries[0].id if hasattr(letter, "deliveries")
                                           else 1}}


def test_no_get_route_answers_a_hostile_query_with_a_5xx(app: Flask, data: dict[str, object]) -> None:
    app.config["PUBLIC_RATE_LIMIT"] = "100000/minute"
    admin = app.test_client()
    login_as(admin, Role.ADMIN)
    anonymous = app.test_client()
    rules = get_rules(app)
    assert len(rules) >= 20
    failures = []
    queries = hostile_queries(str(data["slug"]))
    for rule in rules:
        base = url_for_rule(app, rule, str(data["slug"]), data["ids"])  # type: ignore[arg-type]
        for query in queries:
            for who, client in (("admin", admin), ("anonymous", anonymous)):
                resp = client.get(f"{base}?{query}")
                if resp.status_code >= 500:
                    failures.append(f"{who} GET {base}?{query[:120]}: {resp.status_code}")
                resp.close()
    assert not failures, f"{len(failures)} 5xx answers:\n" + "\n".join(failures[:40])
