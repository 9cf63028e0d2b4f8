"""The read API (/api/v1, Bearer token) and the page where staff create and revoke their tokens (/staff/tokens).

JSON only, GET only (CSRF applies to unsafe methods only; no cookie is ever read). Stats are the pages' aggregates with the
same small-cell suppression; the consented list is for admin tokens only, and every export is audited."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from actionkit.api import services
from actionkit.api.models import ApiToken
from actionkit.campaigns.models import Campaign
from actionkit.extensions import db
from actionkit.letters import consent
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit
from actionkit.stats import exports, queries
from actionkit.stats.queries import Filters

api = Blueprint("api", __name__, url_prefix="/api/v1")
bp = Blueprint("api_tokens", __name__, url_prefix="/staff/tokens")


def _problem(status: int, message: str) -> Response:
    resp = jsonify({"error": message})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="actionkit"'
    return resp


def token_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Bearer-token authentication; the token acts with min(its role, its owner's current role)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, plain = header.partition(" ")
            found = services.authenticate(plain.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                return _problem(401, "A valid API token is required (Authorization: Bearer ak_...).")
            g.api_token, g.api_role = found
            if not g.api_role.allows(role):
                db.session.commit()  # last_used_at
                return _problem(403, f"This token's role ({g.api_role.value}) cannot read this; it needs "
                                     f"{role.value}.")
            resp = view(*args, **kwargs)
            db.session.commit()
            return resp

        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator


@api.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@api.get("/campaigns")
@token_required(Role.VIEWER)
def campaigns() -> Response:
    rows = db.session.scalars(db.select(Campaign).order_by(Campaign.created_at.desc()))
    return jsonify({"campaigns": [{"slug": c.slug, "title": c.text("en").title if c.texts else c.slug,
                                   "status": c.status.value, "state": c.state, "goal": c.goal,
                                   "target_types": list(c.target_types),
                                   "starts_at": c.starts_at.isoformat() if c.starts_at else None,
                                   "ends_at": c.ends_at.isoformat() if c.ends_at else None} for c in rows]})


@api.get("/campaigns/<slug>/stats")
@token_required(Role.VIEWER)
def stats(slug: str) -> Response:
    """The campaign's aggregates, small cells shown as "<5" exactly as on the stats page, plus actions by source."""
    campaign = db.session.scalar(db.select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        return _problem(404, "No campaign with this slug.")
    loaded = queries.load([campaign], Filters(), single=True)
    rows = list(exports.aggregate_rows(loaded))
    figures = [dict(zip(rows[0], row)) for row in rows[1:]]
    return jsonify({"campaign": slug, "figures": figures})


@api.get("/consented")
@token_required(Role.ADMIN)
def consented() -> Response:
    """The consented list (admin tokens only; audited like the CSV download)."""
    campaign_id = request.args.get("campaign", type=int)
    people = [dict(zip(consent.ListedSupporter.HEADER, r.row())) for r in consent.consented(campaign_id)]
    audit(g.api_token.user, "export.consented", "campaign" if campaign_id else None, campaign_id, rows=len(people),
          via="api", token=g.api_token.id)
    return jsonify({"supporters": people})


# --- staff: my tokens ---------------------------------------------------------------------------------------------

class TokenForm(FlaskForm):
    name = StringField("Name (what it is for)", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=[(r.value, r.value) for r in Role])


def _page(form: TokenForm, plain: str | None = None, status: int = 200) -> tuple[str, int]:
    form.role.choices = [(r.value, r.value) for r in Role if current_user.role.allows(r)]
    return render_template("api/tokens.html", page_title="API tokens", form=form, plain=plain,
                           tokens=services.tokens_of(current_user)), status


@bp.get("/")
@role_required(Role.VIEWER)
def tokens() -> tuple[str, int]:
    return _page(TokenForm(formdata=None, role=current_user.role.value))


@bp.post("/")
@role_required(Role.VIEWER)
def create() -> Any:
    form = TokenForm()
    form.role.choices = [(r.value, r.value) for r in Role if current_user.role.allows(r)]
    if not form.validate_on_submit():
        return _page(form, status=422)
    _token, plain = services.create(current_user, form.name.data, Role(form.role.data))
    db.session.commit()
    return _page(TokenForm(formdata=None, role=current_user.role.value), plain=plain)


@bp.post("/<int:token_id>/revoke")
@role_required(Role.VIEWER)
def revoke(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    services.revoke(current_user, token)
    db.session.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("api_tokens.tokens"), 303)
