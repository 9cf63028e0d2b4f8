"""The print-batch PDF: a cover page for the office, then one letter per page (fpdf2).

Fonts: by default the PDF uses the built-in Helvetica, which covers Latin-1 (so every Spanish name, "García",
"Peña", "Begoña", renders as typed); any other character is transliterated ("Nguyễn" -> "Nguyen", curly quotes ->
straight) and only what has no Latin equivalent becomes "?". Set ACTIONKIT_DELIVERY__print_font to a TrueType
file (e.g. DejaVuSans.ttf) to embed it and print any script as typed.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import TYPE_CHECKING, Optional

from fpdf import FPDF
from fpdf.enums import XPos, YPos

if TYPE_CHECKING:
    from actionkit.delivery.channels import PrintedLetter
    from actionkit.officials.models import Office

_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "*", "\u2023": "*", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u20ac": "EUR", "\u0152": "OE", "\u0153": "oe",
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i",
}


def latin1(text: str) -> str:
    """Text the built-in fonts can draw: Latin-1 kept, other letters transliterated, the rest '?'."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        code = ord(ch)
        if ch in "\n\t" or 0x20 <= code < 0x7f or 0xa0 < code <= 0xff:
            out.append(ch)
        elif ch in _PUNCTUATION:
            out.append(_PUNCTUATION[ch])
        elif unicodedata.category(ch)[0] in "CZ":
            out.append(" " if unicodedata.category(ch).startswith("Z") else "")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if ord(c) <= 0xff and not unicodedata.combining(c))
            out.append(base or "?")
    return "".join(out)


class _BatchPDF(FPDF):
    def __init__(self, batch_id: str, font_path: Optional[str]) -> None:
        super().__init__(format="Letter", unit="mm")
        self.batch_id = batch_id
        self.set_margins(25, 22, 25)
        self.set_auto_page_break(True, margin=22)
        if font_path:
            self.add_font("Body", "", font_path)
            self.add_font("Body", "B", font_path)
            self.body_font = "Body"
            self.clean_text = str
        else:
            self.body_font = "Helvetica"
            self.clean_text = latin1

    def style(self, size: float, bold: bool = False) -> None:
        self.set_font(self.body_font, "B" if bold else "", size)

    def line_text(self, text: str, height: float = 6) -> None:
        self.multi_cell(0, height, self.clean_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-15)
        self.style(8)
        self.cell(0, 8, self.clean_text(f"Batch {self.batch_id} - page {self.page_no()}/{{nb}}"), align="C")


def long_date(value: dt.date) -> str:
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
    return f"{months[value.month - 1]} {value.day}, {value.year}"


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def already_signed(body: str, signer: str) -> bool:
    """Whether the letter's own closing (its last lines) already carries the signer's name."""
    tail = [line for line in body.strip().splitlines()[-4:] if line.strip()]
    return any(_same(line, signer) for line in tail)


def render_batch(office: "Office", letters: list[PrintedLetter], batch_id: str, *,
                 font_path: Optional[str] = None, today: Optional[dt.date] = None) -> bytes:
    """The whole batch as PDF bytes: cover page (office, address, count, batch id, date), then each letter."""
    today = today or dt.date.today()
    pdf = _BatchPDF(batch_id, font_path)
    pdf.set_title(pdf.clean_text(f"Letters to {office.title}"))
    pdf.set_creator("actionkit")

    pdf.add_page()
    pdf.style(20, bold=True)
    pdf.line_text(office.title, 10)
    pdf.ln(4)
    pdf.style(12)
    pdf.line_text(office.postal_address or "(no postal address on file: deliver by hand)")
    pdf.ln(8)
    pdf.style(14, bold=True)
    pdf.line_text(f"{len(letters)} letter{'s' if len(letters) != 1 else ''} from constituents", 8)
    pdf.ln(4)
    pdf.style(11)
    pdf.line_text(f"Batch: {batch_id}")
    pdf.line_text(f"Printed: {long_date(today)}")

    for number, letter in enumerate(letters, 1):
        pdf.add_page()
        pdf.style(11)
        pdf.line_text(long_date(letter.date))
        pdf.ln(6)
        pdf.line_text(letter.addressed_to)
        if not _same(letter.addressed_to, letter.office_title):  # a letter to the office names it once
            pdf.line_text(letter.office_title)
        if office.postal_address:
            pdf.line_text(office.postal_address)
        pdf.ln(6)
        pdf.style(11, bold=True)
        pdf.line_text(f"Re: {letter.subject}")
        pdf.ln(4)
        pdf.style(11)
        pdf.line_text(letter.body)
        if not already_signed(letter.body, letter.signer):  # campaign letters end with their own signature
            pdf.ln(8)
            pdf.line_text(letter.signer)
            if letter.place:
                pdf.line_text(letter.place)
        pdf.ln(4)
        pdf.style(8)
        pdf.line_text(f"Letter {number} of {len(letters)}, batch {batch_id}", 4)
    return bytes(pdf.output())
