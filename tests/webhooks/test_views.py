"""/staff/webhooks: admins only; endpoints on private addresses refused with a message; the secret shown once."""
from __future__ import annotations

from flask import Flask

from actionkit.extensions import db
from actionkit.staff.models import AuditEntry, Role
from actionkit.webhooks.models import EndpointKind, WebhookEndpoint
from tests.staff.helpers import login_as


def test_only_admins_see_webhooks(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    login_as(client, Role.EDITOR)
    assert client.get("/staff/webhooks/").status_code == 403
    assert client.post("/staff/webhooks/", data={"name": "x"}).status_code == 403


def test_admin_adds_an_endpoint_and_private_addresses_are_refused(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    login_as(client, Role.ADMIN)
    resp = client.post("/staff/webhooks/", data={"name": "CRM", "kind": "webhook", "url": "https://127.0.0.1/hook",
                                                  "events": ["signature.recorded"]})
    assert resp.status_code == 422 and "private or reserved address" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 0
    app.config["WEBHOOKS"] = {"allow_private_hosts": ["crm.internal.test"]}
    resp = client.post("/staff/webhooks/", data={"name": "CRM", "kind": "webhook", "url": "http://crm.internal.test/h",
                                                  "events": ["signature.recorded", "supporter.deleted"],
                                                  "fields": ["email"]})
    html = resp.get_data(as_text=True)
    endpoint = db.session.scalar(db.select(WebhookEndpoint))
    assert resp.status_code == 200 and endpoint.secret.startswith("whsec_") and endpoint.secret in html
    assert endpoint.events == ["signature.recorded", "supporter.deleted"] and endpoint.fields == ["email"]
    assert endpoint.secret not in client.get("/staff/webhooks/").get_data(as_text=True)  # shown once
    assert db.session.scalar(db.select(AuditEntry.action).where(AuditEntry.target_type == "webhook_endpoint")) \
        == "webhook.endpoint_created"
    resp = client.post("/staff/webhooks/", data={"name": "AN", "kind": "action_network",
                                                  "url": "http://crm.internal.test", "api_key": ""})
    assert resp.status_code == 422 and "Enter the API key" in resp.get_data(as_text=True)
    resp = client.post("/staff/webhooks/", data={"name": "AN", "kind": "action_network",
                                                  "url": "http://crm.internal.test", "api_key": "secret-key-1"})
    an = db.session.scalar(db.select(WebhookEndpoint).where(WebhookEndpoint.kind == EndpointKind.ACTION_NETWORK))
    assert resp.status_code == 200 and an.secret == "secret-key-1" and "secret-key-1" not in resp.get_data(as_text=True)
