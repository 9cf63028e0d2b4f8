"""Toolkit pages: the supporter's one-click consent withdrawal (also the RFC 8058 List-Unsubscribe-Post target),
and the staff toolkit: the consented-list export (admins, audited) and each campaign's toolkit settings."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_login import current_user

from actionkit.campaigns import services as campaigns
from actionkit.campaigns import sources
from actionkit.campaigns.models import Campaign
from actionkit.extensions import csrf, db
from actionkit.i18n import choose_request_language
from actionkit.letters import consent, custom_email, guards
from actionkit.letters import views as letters_views
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit
from actionkit.letters.confirmation import public_url
from actionkit.stats.exports import csv_lines
from actionkit.toolkit import images, services
from actionkit.toolkit.forms import CampaignToolkitForm

bp = Blueprint("toolkit", __name__)
public = Blueprint("toolkit_public", __name__)
public.before_request(choose_request_language)
public.after_request(guards.private_page)
public.context_processor(letters_views._helpers)  # the embed renders the letters pages


# --- the supporter's withdrawal ----------------------------------------------------------------------------------

def _withdraw_page(token: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template("toolkit/withdraw.html", token=token, campaign=None, lang=str(get_locale() or "en"),
                           **context), status


@public.get("/consent/withdraw/<token>")
def withdraw_form(token: str) -> tuple[str, int]:
    """The link in every e-mail: a page with one button (a GET never changes anything: mail scanners follow
    links)."""
    supporter = consent.supporter_for(token)
    if supporter is None:
        return _withdraw_page(token, 404, invalid=True)
    return _withdraw_page(token, done=not supporter.opt_in)


@public.post("/consent/withdraw/<token>")
@csrf.exempt  # the token is the authority; mail clients' one-click POST (RFC 8058) carries no session or form
def withdraw(token: str) -> tuple[str, int]:
    supporter = consent.supporter_for(token)
    if supporter is None:
        return _withdraw_page(token, 404, invalid=True)
    consent.withdraw(supporter, via="one-click" if request.form.get("List-Unsubscribe") == "One-Click" else "link")
    db.session.commit()
    return _withdraw_page(token, done=True, just_now=True)


# --- staff: the consented list -----------------------------------------------------------------------------------

@bp.get("/staff/toolkit/")
@role_required(Role.EDITOR)
def index() -> str:
    """The toolkit: the consented list (export for admins) and each campaign's sharing, embedding and links."""
    campaigns = list(db.session.scalars(db.select(Campaign).order_by(Campaign.created_at.desc())))
    return render_template("toolkit/index.html", page_title="Organizer's toolkit", campaigns=campaigns,
                           consented=consent.count_consented(), can_export=current_user.role is Role.ADMIN)


@bp.get("/staff/toolkit/consented.csv")
@role_required(Role.ADMIN)
def export_consented() -> Response:
    """Supporters who agreed to be contacted, with the words they agreed to: admins only, audited."""
    campaign_id = request.args.get("campaign", type=int)
    if campaign_id is not None and (not 0 < campaign_id < 2**31 or db.session.get(Campaign, campaign_id) is None):
        abort(404)
    audit(current_user, "export.consented", "campaign" if campaign_id else None, campaign_id,
          rows=consent.count_consented(campaign_id))
    db.session.commit()
    rows = ([list(consent.ListedSupporter.HEADER)], (r.row() for r in consent.consented(campaign_id)))
    response = Response(stream_with_context(csv_lines(row for part in rows for row in part)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="consented-supporters.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- staff: one campaign's toolkit ---------------------------------------------------------------------------------

def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _links(campaign: Campaign) -> dict[str, Any]:
    base = public_url() + url_for("letters.campaign", slug=campaign.slug)
    embed = public_url() + url_for("toolkit_public.embed", slug=campaign.slug)
    return {"tagged": [(channel, f"{base}?source={channel}") for channel in sources.CHANNELS],
            "campaign_url": base, "embed_url": embed, "origin": public_url()}


@bp.route("/staff/toolkit/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def campaign(campaign_id: int) -> Any:
    """Consent box, embedding sites and share image of one campaign; its tagged links and embed snippet."""
    found = _campaign_or_404(campaign_id)
    texts = {t.lang: t for t in found.texts}
    form = CampaignToolkitForm() if request.method == "POST" else CampaignToolkitForm(
        formdata=None, data={"ask_consent": found.ask_consent, "embed_origins": "\n".join(found.embed_origins or []),
                             **{f"email_{part}_{lang}": getattr(t, f"email_{part}") or ""
                                for lang, t in texts.items() for part in ("subject", "body")}})
    status = 200
    previews: dict[str, tuple[str, str]] = {}
    valid = form.validate_on_submit()
    problems = services.email_problems(form.emails()) if request.method == "POST" else {}
    for name, messages in problems.items():
        form[name].errors = [*form[name].errors, *messages]
    if valid and form.preview.data:
        if not problems:
            previews = {lang: custom_email.render(subject, body, custom_email.sample_contexts()[0])
                        for lang, (subject, body) in form.emails().items() if subject and body.strip()}
        status = 200 if not problems else 422
    elif valid and not problems:
        upload = request.files.get("share_image")
        data = upload.stream.read(images.MAX_UPLOAD_BYTES + 1) if upload and upload.filename else None
        try:
            changed = services.update_settings(
                found, current_user, ask_consent=bool(form.ask_consent.data),
                embed_origins=services.parse_origins(form.embed_origins.data or ""), image=data,
                remove_image=bool(form.remove_image.data), emails=form.emails())
        except images.ImageRejected as exc:
            db.session.rollback()
            form.share_image.errors = [str(exc)]
            status = 422
        else:
            db.session.commit()
            flash("Saved." if changed else "Nothing changed.", "success")
            return redirect(url_for("toolkit.campaign", campaign_id=found.id), 303)
    elif request.method == "POST":
        status = 422
    return render_template("toolkit/campaign.html", page_title="Toolkit: " + (
        found.text("en").title if found.texts else found.slug), campaign=found, form=form, previews=previews,
        merge_fields=custom_email.MERGE_FIELDS, **_links(found)), status


# --- public: the share card and the embedded action --------------------------------------------------------------

@public.get("/act/<slug>/card")
def card(slug: str) -> Response:
    """The campaign's share card (Open Graph / Twitter image): the uploaded image, or one drawn from its title."""
    found = campaigns.by_slug(slug)
    if found is None or not (campaigns.is_open(found) or _staff_preview()):
        abort(404)
    if found.share_image_type and found.share_image:
        body, mimetype = found.share_image, found.share_image_type
    else:
        text = found.text(str(get_locale() or "en"))
        body, mimetype = images.default_card(text.title, text.summary), "image/png"
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


def _staff_preview() -> bool:
    """Staff see the card of a draft campaign on its toolkit page."""
    return bool(getattr(current_user, "is_authenticated", False))


@public.get("/act/<slug>/embed")
def embed(slug: str) -> Any:
    """The campaign page in the compact layout, for an iframe on the sites the campaign allows."""
    return letters_views.campaign(slug)
