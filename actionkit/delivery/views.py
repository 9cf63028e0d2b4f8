"""The delivery monitor under /staff/deliveries: counts by status and channel, failed, dead, held and expired
deliveries with reason and attempts, retry one or all, and print batches (PDF per office) for hand delivery.

Print batches hold supporters' names, cities and paragraphs: only admins make and download them (as only admins
export personal data); editors see how many letters wait for each office."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SubmitField

from actionkit.delivery import digests, print_batch, services
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, PrintBatch
from actionkit.extensions import db
from actionkit.officials.models import Office
from actionkit.paging import page_arg
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit

bp = Blueprint("delivery", __name__, url_prefix="/staff/deliveries")
PER_PAGE = 50
BATCH_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class RetryAllForm(FlaskForm):
    statuses = SelectField("Retry", choices=[("failed,dead", "all failed and dead deliveries"),
                                             ("failed", "all failed deliveries"), ("dead", "all dead deliveries"),
                                             ("held", "all held deliveries")], default="failed,dead")
    submit = SubmitField("Retry")


@bp.get("/")
@role_required(Role.EDITOR)
def index() -> str:
    page = page_arg()
    shown = request.args.get("status")
    listed = {s.value for s in services.LISTED} | {DeliveryStatus.CANCELLED.value}
    statuses = [DeliveryStatus(shown)] if shown in listed else list(services.LISTED)
    failures = services.list_failures(limit=PER_PAGE, offset=(max(page, 1) - 1) * PER_PAGE, statuses=statuses)
    counts = services.status_counts()
    recent = db.session.scalars(select(PrintBatch).order_by(PrintBatch.created_at.desc()).limit(20)).all()
    pacing_limit, paced = services.pacing_backlog()
    return render_template("delivery/index.html", counts=counts, pacing_limit=pacing_limit, paced=paced,
                           ceilings=services.ceilings(), cwc_config=current_app.config["CWC"],
                           digest_offices=digests.listing(), digest_hour=digests.hour(), statuses=list(DeliveryStatus),
                           channels=list(Channel), failures=failures, page=page, per_page=PER_PAGE, shown=shown,
                           retry_form=RetryAllForm(), print_queue=services.print_queue(),
                           retryable=services.RETRYABLE, batches=recent, rerouted=services.list_rerouted(),
                           may_print=current_user.role.allows(Role.ADMIN), page_title="Deliveries")


@bp.get("/reach")
@role_required(Role.EDITOR)
def reach() -> str:
    """Per office type, which channel reaches each office; the offices none reaches, with what is missing."""
    return render_template("delivery/reach.html", report=services.reach(), page_title="Reach")


@bp.post("/<int:delivery_id>/retry")
@role_required(Role.EDITOR)
def retry_one(delivery_id: int) -> Any:
    if db.session.get(Delivery, delivery_id) is None:
        abort(404)
    ids = services.retry([delivery_id])
    if ids:
        audit(current_user._get_current_object(), "delivery.retry", "delivery", delivery_id)
    db.session.commit()  # the retried row is published after this commit (enqueue_on_commit)
    flash(f"Delivery {delivery_id} will be tried again." if ids else
          f"Delivery {delivery_id} is not failed, dead or held; nothing to retry.", "info")
    return redirect(url_for(".index"))


@bp.post("/digest/<int:office_id>")
@role_required(Role.ADMIN)
def digest(office_id: int) -> Any:
    """Switch an office between one email per letter and one daily digest (an admin's decision, audited)."""
    office = db.session.get(Office, office_id)
    on = request.form.get("digest") == "on"
    if office is None or not (office.email or "").strip():
        abort(404)
    ids = digests.set_digest(office, on)
    audit(current_user._get_current_object(), "delivery.digest_on" if on else "delivery.digest_off", "office",
          office.id, title=office.title)
    services.enqueue_on_commit(ids)
    db.session.commit()
    flash(f"{office.title} now receives one email a day with all its letters." if on else
          f"{office.title} now receives one email per letter; {len(ids)} waiting letters are being sent.", "info")
    return redirect(url_for(".index") + "#digests")


@bp.post("/retry")
@role_required(Role.EDITOR)
def retry_all() -> Any:
    form = RetryAllForm()
    if not form.validate_on_submit():
        flash("Choose which deliveries to retry.", "error")
        return redirect(url_for(".index"))
    statuses = [DeliveryStatus(s) for s in form.statuses.data.split(",")]
    ids = services.retry(statuses=statuses)
    if ids:
        audit(current_user._get_current_object(), "delivery.retry_all", "delivery", None,
              statuses=[s.value for s in statuses], count=len(ids))
    db.session.commit()
    flash(f"{len(ids)} deliveries will be tried again.", "info")
    return redirect(url_for(".index"))


@bp.post("/print/<int:office_id>")
@role_required(Role.ADMIN)
def make_batch(office_id: int) -> Any:
    """Write the office's pending print letters to a PDF, mark them sent, and download it."""
    try:
        result = print_batch.make_print_batch(office_id)  # commits: claims, then records the batch
    except print_batch.PrintBatchError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    if result is None:
        flash("No letters are waiting to be printed for this office.", "info")
        return redirect(url_for(".index"))
    audit(current_user._get_current_object(), "delivery.print_batch", "office", office_id,
          batch=result.batch_id, letters=result.letters, withdrawn=result.withdrawn)
    db.session.commit()
    return send_file(io.BytesIO(result.data), mimetype="application/pdf", as_attachment=True,
                     download_name=result.download_name)


@bp.get("/print/batches/<batch_id>")
@role_required(Role.ADMIN)
def download_batch(batch_id: str) -> Any:
    """Download a batch made earlier (a lost download, a second copy), until the retention period ends."""
    batch = db.session.get(PrintBatch, batch_id)
    if batch is None or not set(batch.file_name) <= BATCH_NAME_OK:
        abort(404)
    data = print_batch.read_batch(batch)
    if data is None:
        abort(404)
    audit(current_user._get_current_object(), "delivery.print_download", "print_batch", batch.id,
          office_id=batch.office_id, letters=batch.letter_count)
    db.session.commit()
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=batch.file_name)
