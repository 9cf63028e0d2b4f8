"""/staff/webhooks (admins): endpoints and the events they receive, every message with its answer, replay."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from actionkit.extensions import db
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit
from actionkit.webhooks import services
from actionkit.webhooks.forms import ACTION_NETWORK_URL, EndpointForm
from actionkit.webhooks.models import EndpointKind, WebhookEndpoint, WebhookMessage

bp = Blueprint("webhooks", __name__, url_prefix="/staff/webhooks")


def _page(form: EndpointForm, status: int = 200, secret: str | None = None) -> tuple[str, int]:
    endpoints = list(db.session.scalars(db.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    return render_template("webhooks/index.html", page_title="Webhooks and CRM sync", form=form,
                           endpoints=endpoints, messages=services.recent(), events=services.EVENTS,
                           secret=secret, action_network_url=ACTION_NETWORK_URL), status


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> tuple[str, int]:
    return _page(EndpointForm(formdata=None))


@bp.post("/")
@role_required(Role.ADMIN)
def create() -> Any:
    form = EndpointForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    kind = EndpointKind(form.kind.data)
    endpoint = services.create_endpoint(
        current_user, name=form.name.data, url=form.url.data.strip(), kind=kind,
        events=services.ACTION_NETWORK_EVENTS if kind is EndpointKind.ACTION_NETWORK else form.events.data,
        fields=form.fields.data, secret=form.api_key.data.strip() if kind is EndpointKind.ACTION_NETWORK else None)
    db.session.commit()
    flash(f"Endpoint “{endpoint.name}” added.", "success")
    # The signing secret is shown once, now; afterwards it stays encrypted in the database.
    return _page(EndpointForm(formdata=None), secret=endpoint.secret if kind is EndpointKind.WEBHOOK else None)


@bp.post("/<int:endpoint_id>/toggle")
@role_required(Role.ADMIN)
def toggle(endpoint_id: int) -> Any:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) or abort(404)
    endpoint.active = not endpoint.active
    audit(current_user, "webhook.endpoint_" + ("enabled" if endpoint.active else "disabled"), "webhook_endpoint",
          endpoint.id)
    db.session.commit()
    return redirect(url_for("webhooks.index"), 303)


@bp.post("/messages/<int:message_id>/replay")
@role_required(Role.ADMIN)
def replay(message_id: int) -> Any:
    message = db.session.get(WebhookMessage, message_id) or abort(404)
    services.replay(message, current_user)
    db.session.commit()
    flash("The message will be sent again.", "success")
    return redirect(url_for("webhooks.index"), 303)
