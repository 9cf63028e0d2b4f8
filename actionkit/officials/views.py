"""The officials admin under /staff/officials: search, edit an office's contact channels and holder, sync status,
and the sheriffs CSV import from the browser (upload -> preview of changes -> apply or cancel).

Delivery channels (admin.CHANNEL_FIELDS) decide where supporters' letters go: an admin's change applies at once,
an editor's waits for an admin's approval under /staff/officials/changes; an upload that changes them only an
admin may apply. Every applied change is audited (official.channel_change) and shown to admins on /staff/."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.utils import secure_filename

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials import admin, responses
from actionkit.officials.forms import ApplyForm, FixedTargetForm, OfficeForm, ResponseForm, SearchForm, UploadForm
from actionkit.officials.importers.ice287g import describe_287g
from actionkit.officials.models import OfficeType, Position
from actionkit.officials.services import SourceError
from actionkit.paging import page_arg
from actionkit.staff.auth import role_required
from actionkit.staff.models import AuditEntry, Role, StaffUser
from actionkit.staff.services import audit
from actionkit.staff.views import register_admin_notice

bp = Blueprint("officials", __name__, url_prefix="/staff/officials")
PER_PAGE = 50
CONTACT_FORM_FIELDS = ("email", "phone", "fax", "postal_address", "web_form_url", "website", "cwc_office_code")
CHANNEL_CHANGE = "official.channel_change"
NOTICE_DAYS = 14


def _instance() -> Path:
    return Path(current_app.instance_path)


def _actor() -> Any:
    return current_user._get_current_object()


def _is_admin() -> bool:
    return bool(current_user.role.allows(Role.ADMIN))


@register_admin_notice
def _channel_notices() -> list[tuple[str, str | None]]:
    """For every admin on /staff/: channel changes waiting for approval, and those applied lately."""
    notices: list[tuple[str, str | None]] = []
    pending = admin.pending_channel_changes()
    if pending:
        notices.append((f"{len(pending)} delivery-channel change{'s' if len(pending) != 1 else ''} proposed by "
                        "editors wait for your approval.", url_for("officials.channel_changes")))
    recent = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == CHANNEL_CHANGE,
                                    AuditEntry.at >= utcnow() - dt.timedelta(days=NOTICE_DAYS))
        .order_by(AuditEntry.at.desc()).limit(20))
    for entry in recent:
        who = entry.actor.email if entry.actor is not None else "the command line"
        fields = ", ".join(f"{name}: {old or '(none)'} \u2192 {new or '(none)'}"
                           for name, (old, new) in (entry.details.get("changes") or {}).items())
        notices.append((f"{entry.at:%Y-%m-%d %H:%M} UTC: where letters to {entry.details.get('title', 'an office')} "
                        f"go was changed ({fields}) by {who}"
                        + (f", proposed by {entry.details['proposed_by']}" if entry.details.get("proposed_by") else "")
                        + ".", url_for("officials.edit", office_id=int(entry.target_id))
                        if (entry.target_id or "").isdigit() else None))
    return notices


def _audit_channel_change(office: Any, changes: dict[str, Any], **details: Any) -> None:
    channel = {name: value for name, value in changes.items() if name in admin.CHANNEL_FIELDS}
    if channel:
        audit(_actor(), CHANNEL_CHANGE, "office", office.id, title=office.title, changes=channel, **details)


@bp.get("/")
@role_required(Role.EDITOR)
def index() -> str:
    form = SearchForm(request.args)
    page = page_arg()
    office_type = OfficeType(form.type.data) if form.type.data in {t.value for t in OfficeType} else None
    offices, total = admin.search(form.q.data or "", office_type=office_type, state=form.state.data or None,
                                  undeliverable=form.undeliverable.data == "1", page=page, per_page=PER_PAGE)
    return render_template("officials/index.html", form=form, offices=offices, total=total, page=page,
                           per_page=PER_PAGE, runs=admin.latest_sync_runs(),
                           undeliverable=admin.undeliverable_count(), can_deliver=admin.can_deliver,
                           page_title="Officials")


def _office_form(office: Any) -> OfficeForm:
    holder = office.holder
    data = {name: getattr(office, name) or "" for name in CONTACT_FORM_FIELDS}
    for name in admin.HOLDER_FIELDS:
        data[f"holder_{name}"] = (getattr(holder, name) or "") if holder is not None else ""
    data["holder_mode"] = "keep" if holder is not None else "new"
    return OfficeForm(data=data)


@bp.route("/<int:office_id>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(office_id: int) -> Any:
    office = admin.get_office(office_id)
    if office is None:
        raise NotFound()
    if request.method == "GET":
        form = _office_form(office)
    else:
        form = OfficeForm()
        if form.validate_on_submit():
            values = {name: form[name].data for name in CONTACT_FORM_FIELDS}
            direct = values if _is_admin() else {k: v for k, v in values.items() if k not in admin.CHANNEL_FIELDS}
            try:
                proposal = None if _is_admin() else admin.propose_channels(office, values, _actor().id)
                contact = admin.update_contact(office, direct)
                holder = admin.update_holder(office, form.holder_mode.data,
                                             {name: form[f"holder_{name}"].data for name in admin.HOLDER_FIELDS})
            except admin.AdminError as exc:
                db.session.rollback()
                form.holder_name.errors.append(str(exc))
            else:
                if contact or holder:
                    audit(_actor(), "official.update", "office", office.id, title=office.title,
                          contact=contact, holder=holder)
                _audit_channel_change(office, contact)
                if proposal is not None:
                    audit(_actor(), "official.channel_proposed", "office", office.id, title=office.title,
                          change=proposal.id, changes=proposal.changes)
                db.session.commit()
                if proposal is not None:
                    flash(f"{'Saved; t' if contact or holder else 'T'}he change to where letters go "
                          f"({', '.join(proposal.changes)}) waits for an admin's approval.", "info")
                else:
                    flash("Saved." if contact or holder else "Nothing changed.", "info")
                return redirect(url_for(".edit", office_id=office.id))
    return _edit_page(office, form, ResponseForm(formdata=None))


def _edit_page(office: Any, form: OfficeForm, response_form: ResponseForm) -> tuple[str, int]:
    status = 422 if form.errors or response_form.errors else 200
    former = [o for o in office.officials if o.left_on is not None]
    return render_template("officials/edit.html", form=form, office=office, holder=office.holder, former=former,
                           agreements=describe_287g(office), can_deliver=admin.can_deliver(office),
                           proposals=admin.pending_channel_changes(office.id), is_admin=_is_admin(),
                           channel_fields=admin.CHANNEL_FIELDS, response_form=response_form,
                           responses=responses.history(office.id), page_title=office.title), status


@bp.route("/fixed", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def fixed_targets() -> Any:
    """Fixed targets every supporter writes to; creating one decides where letters go, so admins only."""
    form = FixedTargetForm()
    if form.validate_on_submit():
        values = {name: form[name].data for name in ("title", "name", "first_name", "last_name", "email",
                                                     "postal_address", "fax", "web_form_url", "phone", "website")}
        try:
            office = admin.create_fixed_target(values)
        except admin.AdminError as exc:
            db.session.rollback()
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            audit(_actor(), "official.fixed_target_create", "office", office.id, title=office.title,
                  holder=office.holder.name if office.holder else None,
                  channels=[name for name in admin.FIXED_TARGET_CHANNELS if getattr(office, name)])
            db.session.commit()
            flash(f"Created {office.title}. Campaigns that write to fixed targets now include it.", "info")
            return redirect(url_for(".edit", office_id=office.id))
    status = 422 if form.errors else 200
    targets = admin.fixed_targets()
    return render_template("officials/fixed_targets.html", form=form, targets=targets,
                           problem=admin.fixed_target_problem, page_title="Fixed targets"), status


@bp.get("/changes")
@role_required(Role.ADMIN)
def channel_changes() -> str:
    """Delivery-channel changes proposed by editors, for an admin to approve or reject."""
    pending = admin.pending_channel_changes()
    proposers = {u.id: u for u in db.session.scalars(db.select(StaffUser).where(
        StaffUser.id.in_([c.proposed_by_id for c in pending if c.proposed_by_id])))}
    return render_template("officials/changes.html", pending=pending, proposers=proposers,
                           page_title="Delivery-channel changes to approve")


@bp.post("/changes/<int:change_id>/approve")
@role_required(Role.ADMIN)
def approve_change(change_id: int) -> Any:
    return _decide_change(change_id, "approve")


@bp.post("/changes/<int:change_id>/reject")
@role_required(Role.ADMIN)
def reject_change(change_id: int) -> Any:
    return _decide_change(change_id, "reject")


def _decide_change(change_id: int, decision: str) -> Any:
    change = db.session.get(admin.ChannelChange, change_id)
    if change is None:
        raise NotFound()
    proposer = db.session.get(StaffUser, change.proposed_by_id) if change.proposed_by_id else None
    try:
        applied = admin.decide_channel_change(change, _actor().id, approve=decision == "approve")
    except admin.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".channel_changes"))
    audit(_actor(), f"official.channel_{'approved' if decision == 'approve' else 'rejected'}", "office",
          change.office_id, change=change.id)
    _audit_channel_change(change.office, applied, proposed_by=proposer.email if proposer else None,
                          change_id=change.id)
    db.session.commit()
    flash(f"{'Applied' if decision == 'approve' else 'Rejected'}: the change to {change.office.title}.", "info")
    return redirect(url_for(".channel_changes"))


@bp.post("/<int:office_id>/response")
@role_required(Role.EDITOR)
def record_response(office_id: int) -> Any:
    """Record the office holder's response (shown on the public progress pages); every change is audited."""
    office = admin.get_office(office_id)
    if office is None:
        raise NotFound()
    form = ResponseForm()
    if form.validate_on_submit():
        try:
            response = responses.record(office, Position(form.position.data), form.responded_on.data,
                                        note=form.note.data or "", source_url=form.source_url.data or "",
                                        source_label=form.source_label.data or "", actor_id=current_user.id)
        except responses.ResponseError as exc:
            db.session.rollback()
            form.note.errors = [*form.note.errors, str(exc)]
        else:
            if response is not None:
                audit(_actor(), "official.response", "office", office.id, title=office.title,
                      position=response.position.value, responded_on=response.responded_on.isoformat(),
                      source_url=response.source_url)
            db.session.commit()
            flash("Response recorded." if response is not None else "Nothing changed.", "info")
            return redirect(url_for(".edit", office_id=office.id) + "#responses")
    return _edit_page(office, _office_form(office), form)


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def upload() -> Any:
    form = UploadForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("officials/import.html", form=form, page_title="Import the sheriffs CSV"), status
    file_name = secure_filename(form.file.data.filename or "") or "sheriffs.csv"
    try:
        token = admin.store_upload(_instance(), form.file.data.stream)
    except admin.AdminError as exc:
        form.file.errors.append(str(exc))
        return render_template("officials/import.html", form=form, page_title="Import the sheriffs CSV"), 422
    return _preview_page(token, form.state.data, file_name)


def _preview_page(token: str, state: str, file_name: str, status: int = 200) -> tuple[str, int]:
    apply_form = ApplyForm(formdata=None, state=state, file_name=file_name)
    try:
        preview = admin.preview_upload(_instance(), token, state)
    except (SourceError, admin.AdminError) as exc:
        admin.discard_upload(_instance(), token)
        form = UploadForm(formdata=None, state=state)
        form.file.errors = [str(exc).replace(str(admin.upload_dir(_instance())) + "/", "")]
        return render_template("officials/import.html", form=form, page_title="Import the sheriffs CSV"), 422
    return render_template("officials/import_preview.html", preview=preview, token=token, form=apply_form,
                           file_name=file_name, state=state, page_title="Check the changes",
                           needs_admin=bool(admin.channel_changes_in(preview)) and not _is_admin()), status


@bp.post("/import/<token>")
@role_required(Role.EDITOR)
def apply_import(token: str) -> Any:
    form = ApplyForm()
    instance = _instance()
    if form.cancel.data or not form.validate_on_submit():
        admin.discard_upload(instance, token)
        flash("Import cancelled; nothing was changed.", "info")
        return redirect(url_for(".upload"))
    state, file_name = form.state.data or "ms", secure_filename(form.file_name.data or "") or "sheriffs.csv"
    try:
        channel_rows = admin.channel_changes_in(admin.preview_upload(instance, token, state))
        if channel_rows and not _is_admin():
            admin.discard_upload(instance, token)
            flash(f"Nothing was loaded: this file changes where letters go (email, fax, postal address or CWC "
                  f"code) for {len(channel_rows)} office{'s' if len(channel_rows) != 1 else ''}, and only an admin "
                  "may apply such a file. Ask an admin to upload it.", "error")
            return redirect(url_for(".upload"))
        report = admin.apply_upload(instance, token, state, file_name)
    except admin.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".upload"))
    except SourceError as exc:
        db.session.rollback()
        admin.discard_upload(instance, token)
        flash(f"Nothing was loaded: {str(exc).replace(str(admin.upload_dir(instance)) + '/', '')}", "error")
        return redirect(url_for(".upload"))
    audit(_actor(), "officials.import", "source", report.source, file=file_name, state=state, **report.counts())
    for row in channel_rows:
        office = admin.get_office(row["office_id"])
        if office is not None:
            _audit_channel_change(office, {k: list(v) for k, v in row["contact_changes"].items()}, file=file_name)
    db.session.commit()
    admin.discard_upload(instance, token)
    flash(f"Imported: {report.summary()}", "info")
    return redirect(url_for(".index", type=OfficeType.SHERIFF.value, state=state))
