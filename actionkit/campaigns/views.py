"""The staff campaign editor under /staff/campaigns: list, create, edit (with letter previews that work without
JavaScript), clone, publish and close; a JSON preview endpoint feeds the optional live preview script."""
from __future__ import annotations

from typing import Any, Iterable

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound

from actionkit.campaigns import editor
from actionkit.campaigns.editor import SCRIPT_KEYS, TEMPLATE_KEYS, EditorError, Problem
from actionkit.campaigns.forms import CampaignForm
from actionkit.campaigns.models import Campaign
from actionkit.delivery import services as delivery_services
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role

bp = Blueprint("campaigns", __name__, url_prefix="/staff/campaigns")


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = editor.get(campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


def _errors_of(field: Any) -> list[str]:
    if not isinstance(field.errors, list):
        field.errors = list(field.errors)
    return field.errors


def _field_for(form: CampaignForm, problem: Problem) -> Any:
    """The form field a problem belongs to (a template's subject or body, a text's title …), or None."""
    name = problem.field
    if name in TEMPLATE_KEYS:
        return form[name][problem.part or "body"]
    if "-" in name and name.split("-", 1)[0] in form:
        group, sub = name.split("-", 1)
        return form[group][sub]
    return form[name] if name in form else None


def _show_problems(form: CampaignForm, problems: Iterable[Problem], *, skip_flagged: bool = False) -> list[str]:
    """Attach each problem to its field; return those that belong to no field. With skip_flagged, fields
    the form's own validators already flagged keep only their message."""
    general = []
    for problem in problems:
        field = _field_for(form, problem)
        if field is None:
            general.append(str(problem))
        elif not (skip_flagged and field.errors):
            _errors_of(field).append(str(problem))
    return general


def _page(form: CampaignForm, campaign: Campaign | None, status: int = 200, **extra: Any) -> tuple[str, int]:
    title = "New campaign" if campaign is None else f"Edit: {campaign.text('en').title}"
    return render_template("campaigns/edit.html", form=form, campaign=campaign,
                           untranslated=editor.untranslated(form.to_draft()),
                           merge_fields=editor.merge_fields(), office_labels=editor.OFFICE_TYPE_LABELS,
                           language_labels=editor.LANGUAGE_LABELS, OfficeType=OfficeType,
                           page_title=title, previews=extra.pop("previews", {}),
                           general=extra.pop("general", []), **extra), status


def _submit(form: CampaignForm, campaign: Campaign | None) -> Any:
    """Preview (render the form again with the letters) or save (all or nothing) the posted editor form."""
    valid = form.validate_on_submit()
    draft = form.to_draft()
    if form.preview.data and not form.save.data:
        keys = [k for k, (kind, _) in TEMPLATE_KEYS.items() if kind.value in draft.target_types] + \
            list(TEMPLATE_KEYS) + list(SCRIPT_KEYS)
        return _page(form, campaign, previews=editor.preview(draft, dict.fromkeys(keys)))
    if not valid:
        general = _show_problems(form, editor.check(draft, campaign), skip_flagged=True)
        return _page(form, campaign, 422, general=general, not_saved=True)
    try:
        saved = editor.save(draft, campaign, current_user._get_current_object())
    except EditorError as exc:
        db.session.rollback()
        return _page(form, campaign, 422, general=_show_problems(form, exc.problems), not_saved=True)
    db.session.commit()
    flash("Campaign saved.", "info")
    return redirect(url_for(".edit", campaign_id=saved.id))


@bp.get("/")
@role_required(Role.EDITOR)
def index() -> str:
    return render_template("campaigns/index.html", campaigns=editor.list_campaigns(),
                           office_labels=editor.OFFICE_TYPE_LABELS, page_title="Campaigns")


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new() -> Any:
    form = CampaignForm()
    if request.method == "GET":
        form.target_types.data = [OfficeType.SHERIFF.value]
        return _page(form, None)
    return _submit(form, None)


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    if request.method == "GET":
        form = CampaignForm(data=CampaignForm.data_from(editor.draft_from(campaign)))
        return _page(form, campaign)
    return _submit(CampaignForm(), campaign)


@bp.post("/<int:campaign_id>/publish")
@role_required(Role.EDITOR)
def publish(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    if request.form.get("confirm_unreachable") != "1" and not editor.publish_problems(campaign):
        report = delivery_services.reach(campaign.office_types, campaign.state, campaign=campaign.slug)
        if report.unreachable:  # staff confirm that these offices' letters will wait for hand delivery
            return render_template("campaigns/confirm_publish.html", campaign=campaign, report=report,
                                   page_title=f"Publish: {campaign.text('en').title}")
    try:
        editor.publish(campaign, current_user._get_current_object())
    except EditorError as exc:
        db.session.rollback()
        campaign = _campaign_or_404(campaign_id)
        form = CampaignForm(formdata=None, data=CampaignForm.data_from(editor.draft_from(campaign)))
        form.validate()  # turns error tuples into lists; the stored values are valid
        general = _show_problems(form, exc.problems)
        return _page(form, campaign, 422, general=general, not_published=True)
    db.session.commit()
    flash(f"Published: supporters can act at /act/{campaign.slug}", "info")
    return redirect(url_for(".edit", campaign_id=campaign.id))


@bp.get("/<int:campaign_id>/close")
@role_required(Role.EDITOR)
def close_confirm(campaign_id: int) -> Any:
    """Closing ends signatures at once for everyone: it is asked for on its own page, never on one click."""
    campaign = _campaign_or_404(campaign_id)
    return render_template("campaigns/close.html", campaign=campaign,
                           page_title=f"Close “{campaign.text('en').title}”?")


@bp.post("/<int:campaign_id>/close")
@role_required(Role.EDITOR)
def close(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    if request.form.get("confirm") != "yes":
        return redirect(url_for(".close_confirm", campaign_id=campaign_id), 303)
    try:
        editor.close(campaign, current_user._get_current_object())
    except EditorError as exc:
        db.session.rollback()
        flash("; ".join(str(p) for p in exc.problems), "error")
        return redirect(url_for(".edit", campaign_id=campaign_id))
    db.session.commit()
    flash("Closed: the campaign page no longer accepts signatures.", "info")
    return redirect(url_for(".edit", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/clone")
@role_required(Role.EDITOR)
def clone(campaign_id: int) -> Any:
    campaign = _campaign_or_404(campaign_id)
    copy = editor.clone(campaign, current_user._get_current_object())
    db.session.commit()
    flash(f"Copied to the draft {copy.slug}.", "info")
    return redirect(url_for(".edit", campaign_id=copy.id))


@bp.post("/preview")
@role_required(Role.EDITOR)
def preview_json() -> Any:
    """One template's preview as JSON (posted with the whole editor form plus key=tpl_<type>_<lang>)."""
    key = request.form.get("key", "")
    if key not in TEMPLATE_KEYS and key not in SCRIPT_KEYS:
        return jsonify({"error": "unknown template"}), 400
    form = CampaignForm()
    form.validate()
    result = editor.preview(form.to_draft(), [key]).get(key)
    if result is None:
        return jsonify({"key": key, "ok": False, "empty": True, "subject": "", "body": "", "problems": [],
                        "sample": ""})
    return jsonify(result.to_json())

