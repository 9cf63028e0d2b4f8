"""Personal API tokens: created and revoked by their owner, hashed at rest, scoped by role, audited; the JSON
endpoints for campaigns, suppressed stats and (admin tokens only) the consented list."""
from __future__ import annotations

import re

from flask import Flask

from actionkit.api.models import ApiToken
from actionkit.extensions import db
from actionkit.letters.models import Consent, ConsentWording
from actionkit.staff.models import AuditEntry, Role
from tests.factories import make_action, make_campaign, make_supporter
from tests.staff.helpers import login_as


def mint(client, role: str = "viewer") -> str:  # type: ignore[no-untyped-def]
    resp = client.post("/staff/tokens/", data={"name": "dashboard", "role": role})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return re.search(r'id="token-value">([^<]+)<', resp.get_data(as_text=True)).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_hashed_scoped_and_revocable(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    user = login_as(client, Role.EDITOR)
    assert client.post("/staff/tokens/", data={"name": "x", "role": "admin"}).status_code == 422  # above my role
    token = mint(client, "viewer")
    stored = db.session.scalar(db.select(ApiToken))
    assert stored.token_hash != token and token not in stored.token_hash and stored.prefix == token[:10]
    assert db.session.scalar(db.select(AuditEntry.action).where(AuditEntry.target_type == "api_token")) \
        == "api_token.created"
    api = app.test_client()  # no session: the token alone
    make_campaign(slug="alpha")
    db.session.commit()
    resp = api.get("/api/v1/campaigns", headers=bearer(token))
    assert resp.status_code == 200 and [c["slug"] for c in resp.json["campaigns"]] == ["alpha"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert api.get("/api/v1/consented", headers=bearer(token)).status_code == 403
    assert api.get("/api/v1/campaigns").status_code == 401
    assert api.get("/api/v1/campaigns", headers=bearer(token + "x")).status_code == 401
    assert client.post(f"/staff/tokens/{stored.id}/revoke").status_code == 303
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 401
    assert user.id == stored.user_id


def test_a_token_loses_rights_its_owner_loses(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    admin = login_as(client, Role.ADMIN)
    token = mint(client, "admin")
    api = app.test_client()
    assert api.get("/api/v1/consented", headers=bearer(token)).status_code == 200
    admin.role = Role.VIEWER
    db.session.commit()
    assert api.get("/api/v1/consented", headers=bearer(token)).status_code == 403
    admin.active = False
    db.session.commit()
    assert api.get("/api/v1/campaigns", headers=bearer(token)).status_code == 401


def test_admin_token_reads_only_consenting_supporters_and_is_audited(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    login_as(client, Role.ADMIN)
    token = mint(client, "admin")
    campaign = make_campaign()
    wording = ConsentWording(text_hash="h1", lang="en", text="Yes, contact me.")
    yes, no = make_supporter(email="yes@example.org"), make_supporter(email="no@example.org")
    yes.opt_in, yes.phone = True, "601-555-0100"
    db.session.add(Consent(supporter=yes, wording=wording, campaign_id=campaign.id))
    make_action(campaign, yes), make_action(campaign, no)
    db.session.commit()
    resp = app.test_client().get("/api/v1/consented", headers=bearer(token))
    assert [p["email"] for p in resp.json["supporters"]] == ["yes@example.org"]
    assert resp.json["supporters"][0]["wording"] == "Yes, contact me."
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "export.consented"))
    assert entry.details["via"] == "api" and entry.details["rows"] == 1


def test_stats_are_suppressed_as_on_the_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    from actionkit.stats import services as stats_services

    login_as(client, Role.VIEWER)
    token = mint(client)
    campaign = make_campaign(slug="small")
    for _n in range(3):
        make_action(campaign).source = "flyer"
    db.session.commit()
    stats_services.refresh()
    db.session.commit()
    resp = app.test_client().get("/api/v1/campaigns/small/stats", headers=bearer(token))
    figures = {(f["section"], f["key"]): f["value"] for f in resp.json["figures"]}
    assert figures[("total", "actions")] == "<5" and figures[("source", "flyer")] == "<5"
    assert "3" not in {str(v) for k, v in figures.items() if k[0] in ("total", "source")}
    assert app.test_client().get("/api/v1/campaigns/nope/stats", headers=bearer(token)).status_code == 404
