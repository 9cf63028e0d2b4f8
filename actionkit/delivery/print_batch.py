"""Print batches: every pending print letter to one office in one PDF, marked sent only once the file is on disk.

`make_print_batch` is a unit of work, like a task: it commits twice (the claim, then the result), so the CLI and
the staff view call it and do not commit themselves.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flask import current_app

from actionkit.db import utcnow
from actionkit.delivery import services
from actionkit.delivery.channels import Outcome, PrintChannel, PrintedLetter
from actionkit.delivery.models import Delivery, PrintBatch
from actionkit.extensions import db
from actionkit.officials.models import Office

log = logging.getLogger(__name__)


class PrintBatchError(Exception):
    """A batch could not be made (unknown office, unwritable folder); the message is for staff."""


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    office_id: int
    office_title: str
    path: Path
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
        services.record(delivery, Outcome.permanent("withdrawn: the supporter deleted their data"), now)
    printable = [d for d in deliveries if d.letter.action.supporter.deleted_at is None]
    letters = [_printed(d) for d in printable]
    claimed = [(d.id, d.attempts) for d in printable]
    db.session.commit()  # the lease: a second run now finds nothing to print for these letters
    if not claimed:
        return None

    batch_id = f"{now:%Y%m%d}-{office_id}-{secrets.token_hex(3)}"
    try:
        path, sha256 = PrintChannel(current_app.config["DELIVERY"]["print_font"]).write_batch(
            office, letters, batch_id, target)
    except Exception as exc:
        db.session.rollback()
        services.release_print_batch(claimed)
        db.session.commit()
        log.error("print batch for office %s failed: %s", office_id, type(exc).__name__)
        raise PrintBatchError(f"could not write the print batch for {title}: {exc}") from exc
    services.record_print_batch(PrintBatch(id=batch_id, office_id=office_id, letter_count=len(claimed),
                                           file_name=path.name, sha256=sha256), claimed, now)
    db.session.commit()
    log.info("print batch %s: %d letters for office %s", batch_id, len(claimed), office_id)
    return BatchResult(batch_id, office_id, title, path, len(claimed), len(withdrawn))
