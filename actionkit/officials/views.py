"""The officials admin under /staff/officials: search, edit an office's contact channels and holder, sync status,
and the sheriffs CSV import from the browser (upload -> preview of changes -> apply or cancel)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.utils import secure_filename

from actionkit.extensions import db
from actionkit.officials import admin
from actionkit.officials.forms import ApplyForm, OfficeForm, SearchForm, UploadForm
from actionkit.officials.importers.ice287g import describe_287g
from actionkit.officials.models import OfficeType
from actionkit.officials.services import SourceError
from actionkit.paging import page_arg
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit

bp = Blueprint("officials", __name__, url_prefix="/staff/officials")
PER_PAGE = 50


def _instance() -> Path:
    return Path(current_app.instance_path)


def _actor() -> Any:
    return current_user._get_current_object()


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
    data = {name: getattr(office, name) or "" for name in ("email", "phone", "fax", "postal_address", "web_form_url",
                                                            "website", "cwc_office_code")}
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
            try:
                contact = admin.update_contact(office, {name: form[name].data for name in (
                    "email", "phone", "fax", "postal_address", "web_form_url", "website", "cwc_office_code")})
                holder = admin.update_holder(office, form.holder_mode.data,
                                             {name: form[f"holder_{name}"].data for name in admin.HOLDER_FIELDS})
            except admin.AdminError as exc:
                db.session.rollback()
                form.holder_name.errors.append(str(exc))
            else:
                if contact or holder:
                    audit(_actor(), "official.update", "office", office.id, title=office.title,
                          contact=contact, holder=holder)
                db.session.commit()
                flash("Saved." if contact or holder else "Nothing changed.", "info")
                return redirect(url_for(".edit", office_id=office.id))
    status = 422 if form.errors else 200
    former = [o for o in office.officials if o.left_on is not None]
    return render_template("officials/edit.html", form=form, office=office, holder=office.holder, former=former,
                           agreements=describe_287g(office), can_deliver=admin.can_deliver(office),
                           page_title=office.title), status


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
                           file_name=file_name, state=state, page_title="Check the changes"), status


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
    db.session.commit()
    admin.discard_upload(instance, token)
    flash(f"Imported: {report.summary()}", "info")
    return redirect(url_for(".index", type=OfficeType.SHERIFF.value, state=state))
