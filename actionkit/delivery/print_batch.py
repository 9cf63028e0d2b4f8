"""Print batches: every pending print letter to one office in one PDF, marked sent only once the file is on disk.

`make_print_batch` is a unit of work, like a task: it commits twice (the claim, then the result), so the CLI and
the staff view call it and do not commit themselves. Batches hold names, cities and personal paragraphs, so they
are stored encrypted (`<name>.pdf.enc`), rewritten without a supporter who deletes their data, and deleted once
the retention period is over (`purge_batches`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from actionkit.db import utcnow
from actionkit.delivery import services
from actionkit.delivery.channels import SEALED_SUFFIX, PrintChannel, PrintedLetter
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, PrintBatch
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.extensions import db
from actionkit.officials.models import Office
from actionkit.privacy.crypto import crypto

log = logging.getLogger(__name__)


class PrintBatchError(Exception):
    """A batch could not be made (unknown office, unwritable folder); the message is for staff."""


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    office_id: int
    office_title: str
    path: Path  # the stored, encrypted file
    data: bytes  # the PDF itself, for the download or the CLI's --output copy
    download_name: str
    letters: int
    withdrawn: int


def output_dir(path: Optional[Path | str] = None) -> Path:
    """Where batches are written: the given folder, else DELIVERY print_output (instance/print-batches)."""
    return Path(path or current_app.config["DELIVERY"]["print_output"])


def _printed(delivery: Delivery) -> PrintedLetter:
    letter = delivery.letter
    supporter = letter.action.supporter
    signer = " ".join(p for p in (supporter.first_name, supporter.last_name) if p) or "A constituent"
    place = ", ".join(p for p in (letter.action.city, letter.action.state.upper()) if p)
    created = letter.created_at or utcnow()
    return PrintedLetter(date=created.date(), addressed_to=letter.addressed_to, office_title=letter.office_title,
                         subject=letter.subject, body=letter.body, signer=signer, place=place)


def make_print_batch(office_id: int, directory: Optional[Path | str] = None,
                     now: Optional[dt.datetime] = None) -> Optional[BatchResult]:
    """Write one office's pending print letters to a PDF and mark them sent; None when nothing is pending."""
    now = now or utcnow()
    office = db.session.get(Office, office_id)
    if office is None:
        raise PrintBatchError(f"no office with id {office_id}")
    title = office.title
    target = output_dir(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PrintBatchError(f"cannot create the output folder {target}: {exc.strerror}") from exc

    deliveries = services.claim_print_batch(office_id, now)
    withdrawn = [d for d in deliveries if d.letter.action.supporter.deleted_at is not None]
    for delivery in withdrawn:
        services.cancel(delivery, now)
    printable = [d for d in deliveries if d.letter.action.supporter.deleted_at is None]
    letters = [_printed(d) for d in printable]
    claimed = [(d.id, d.attempts) for d in printable]
    db.session.commit()  # the lease: a second run now finds nothing to print for these letters
    if not claimed:
        return None

    batch_id = f"{now:%Y%m%d}-{office_id}-{secrets.token_hex(3)}"
    try:
        path, data = PrintChannel(current_app.config["DELIVERY"]["print_font"]).write_batch(
            office, letters, batch_id, target)
    except Exception as exc:
        db.session.rollback()
        services.release_print_batch(claimed)
        db.session.commit()
        log.error("print batch for office %s failed: %s", office_id, type(exc).__name__)
        raise PrintBatchError(f"could not write the print batch for {title}: {exc}") from exc
    name = path.name.removesuffix(SEALED_SUFFIX)
    services.record_print_batch(PrintBatch(id=batch_id, office_id=office_id, letter_count=len(claimed),
                                           file_name=name, sha256=hashlib.sha256(data).hexdigest()), claimed, now)
    db.session.commit()
    log.info("print batch %s: %d letters for office %s", batch_id, len(claimed), office_id)
    if _deleted_in(batch_id):  # a supporter deleted their data while the file was being written
        rewrite_batches([batch_id], directory, now)
        db.session.commit()
    return BatchResult(batch_id, office_id, title, path, data, name, len(claimed), len(withdrawn))


def _deleted_in(batch_id: str) -> int:
    """How many letters in the batch are from supporters who have since deleted their data."""
    return int(db.session.scalar(
        select(func.count()).select_from(Delivery).join(Letter, Letter.id == Delivery.letter_id)
        .join(Action, Action.id == Letter.action_id).join(Supporter, Supporter.id == Action.supporter_id)
        .where(Delivery.provider_ref == batch_id, Delivery.channel == Channel.PRINT,
               Supporter.deleted_at.is_not(None))) or 0)


def _files(batch: PrintBatch, directory: Optional[Path | str] = None) -> list[Path]:
    """The batch's stored file, and the plain PDF older versions wrote."""
    folder = output_dir(directory)
    return [folder / f"{batch.file_name}{SEALED_SUFFIX}", folder / batch.file_name]


def read_batch(batch: PrintBatch, directory: Optional[Path | str] = None) -> Optional[bytes]:
    """The batch's PDF, decrypted; None once it was deleted (or its file is missing)."""
    if batch.purged_at is not None:
        return None
    sealed, plain = _files(batch, directory)
    if sealed.is_file():
        return crypto().decrypt_bytes(sealed.read_bytes())
    return plain.read_bytes() if plain.is_file() else None


def _delete_files(batch: PrintBatch, now: dt.datetime, directory: Optional[Path | str] = None) -> None:
    for path in _files(batch, directory):
        path.unlink(missing_ok=True)
    batch.purged_at = now


def rewrite_batches(batch_ids: list[str], directory: Optional[Path | str] = None,
                    now: Optional[dt.datetime] = None) -> int:
    """Write these batches again without the letters of supporters who deleted their data (deleting a batch
    nobody is left in, or one that cannot be rewritten); flushes. Returns how many files changed."""
    now = now or utcnow()
    changed = 0
    for batch in db.session.scalars(select(PrintBatch).where(PrintBatch.id.in_(batch_ids),
                                                             PrintBatch.purged_at.is_(None))):
        kept = list(db.session.scalars(
            select(Delivery).join(Letter, Letter.id == Delivery.letter_id).join(Action, Action.id == Letter.action_id)
            .join(Supporter, Supporter.id == Action.supporter_id)
            .where(Delivery.provider_ref == batch.id, Delivery.channel == Channel.PRINT,
                   Delivery.status == DeliveryStatus.SENT, Supporter.deleted_at.is_(None))
            .options(joinedload(Delivery.letter).joinedload(Letter.action).joinedload(Action.supporter))
            .order_by(Delivery.id)).unique())
        office = db.session.get(Office, batch.office_id)
        changed += 1
        if not kept or office is None:
            _delete_files(batch, now, directory)
            continue
        try:
            _path, data = PrintChannel(current_app.config["DELIVERY"]["print_font"]).write_batch(
                office, [_printed(d) for d in kept], batch.id, output_dir(directory), file_name=batch.file_name)
        except Exception as exc:  # never keep a deleted supporter's letter because the rewrite failed
            log.error("print batch %s could not be rewritten (%s); deleted instead", batch.id, type(exc).__name__)
            _delete_files(batch, now, directory)
            continue
        _files(batch, directory)[1].unlink(missing_ok=True)  # a plain copy from before encryption
        batch.letter_count, batch.sha256 = len(kept), hashlib.sha256(data).hexdigest()
    db.session.flush()
    return changed


def purge_batches(keep: dt.timedelta, directory: Optional[Path | str] = None,
                  now: Optional[dt.datetime] = None) -> int:
    """Delete the files of batches made longer than `keep` ago (the retention period); flushes."""
    now = now or utcnow()
    old = list(db.session.scalars(select(PrintBatch).where(PrintBatch.purged_at.is_(None),
                                                           PrintBatch.created_at < now - keep)))
    for batch in old:
        _delete_files(batch, now, directory)
    db.session.flush()
    if old:
        log.info("deleted %d print batches past the retention period", len(old))
    return len(old)
