"""The print channel, the last resort: one PDF per office of its pending letters, for hand delivery."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from actionkit.delivery.channels.base import write_atomically
from actionkit.delivery.models import Channel
from actionkit.privacy.crypto import crypto

if TYPE_CHECKING:
    from actionkit.officials.models import Office


@dataclass(frozen=True)
class PrintedLetter:
    """What one printed page needs, already decrypted (the PDF renderer sees no ORM objects)."""

    date: dt.date
    addressed_to: str
    office_title: str
    subject: str
    body: str
    signer: str
    place: str


class PrintChannel:
    """Letters for hand delivery: one PDF per office with a cover page, written by `flask delivery print-batch`."""

    channel = Channel.PRINT

    def __init__(self, font_path: Optional[str] = None) -> None:
        self.font_path = font_path

    def write_batch(self, office: "Office", letters: list[PrintedLetter], batch_id: str,
                    directory: Path, file_name: Optional[str] = None) -> tuple[Path, bytes]:
        """Render the batch PDF and durably write it encrypted (it holds names and personal paragraphs) as
        <name>.pdf.enc; returns the stored path and the plain PDF."""
        from actionkit.delivery.pdf import render_batch  # fpdf2 is slow to import; workers never need it

        data = render_batch(office, letters, batch_id, font_path=self.font_path)
        path = directory / f"{file_name or f'{batch_id}-{_slug(office.title)}.pdf'}{SEALED_SUFFIX}"
        write_atomically(path, crypto().encrypt_bytes(data))
        return path, data


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "office"


SEALED_SUFFIX = ".enc"  # a print batch as stored: Fernet-encrypted PDF
