"""Print batches: one PDF per office with a cover page and a page per letter; rows marked sent only after the
file is written; Spanish names render; the CLI."""
from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from actionkit.delivery import print_batch, services
from actionkit.delivery.channels import PrintChannel
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus, PrintBatch
import datetime as dt

from actionkit.delivery.channels import PrintedLetter
from actionkit.delivery.pdf import latin1, render_batch
from actionkit.extensions import db
from tests.factories import make_action, make_office, make_supporter

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def pdf_text(data: bytes) -> bytes:
    """Every content stream of a PDF, inflated."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            chunks.append(match.group(1))
    return b"\n".join(chunks)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


@pytest.fixture
def sheriff():
    office = make_office(county="Madison", email=None, holder="Randy Tucker")
    office.postal_address = "2941 Highway 51, Canton, MS 39046"
    return office


def print_letters(office, names: list[tuple[str, str]]) -> list[int]:
    ids = []
    for first, last in names:
        action = make_action(supporter=make_supporter(first_name=first, last_name=last), offices=[office],
                             channel=Channel.PRINT)
        ids.append(action.letters[0].delivery.id)
    db.session.commit()
    return ids


def test_batch_pdf_has_a_cover_and_a_page_per_letter(app, sheriff, tmp_path):
    ids = print_letters(sheriff, [("José", "García"), ("María", "Peña"), ("Begoña", "Muñoz")])
    out = tmp_path / "batches"
    result = print_batch.make_print_batch(sheriff.id, out)
    assert result is not None and result.letters == 3
    data = result.data
    assert data.startswith(b"%PDF") and page_count(data) == 4
    text = pdf_text(data)
    for name in ("García", "Peña", "Muñoz", "Madison County", "2941 Highway 51", result.batch_id,
                 "3 letters from constituents", "Jackson, MS"):
        assert name.encode("latin-1") in text, name
    assert b"400 High St" not in text  # the street address is not printed
    assert [p.name for p in out.iterdir()] == [result.path.name]  # no temporary file left behind

    db.session.expire_all()
    rows = db.session.scalars(db.select(Delivery).where(Delivery.id.in_(ids))).all()
    assert {(r.status, r.provider_ref) for r in rows} == {(DeliveryStatus.SENT, result.batch_id)}
    batch = db.session.get(PrintBatch, result.batch_id)
    assert (batch.office_id, batch.letter_count, batch.file_name) == (sheriff.id, 3, result.download_name)
    assert not result.path.read_bytes().startswith(b"%PDF")  # stored encrypted
    assert print_batch.read_batch(batch, out) == data
    assert print_batch.make_print_batch(sheriff.id, out) is None  # nothing left: safe to re-run


def test_only_that_offices_pending_print_letters_are_batched(app, sheriff, tmp_path):
    print_letters(sheriff, [("Ana", "García")])
    other = make_office(county="Rankin", email=None)
    other_ids = print_letters(other, [("Luis", "Peña")])
    emailed = make_action(offices=[make_office(county="Hinds")]).letters[0].delivery.id
    db.session.commit()
    assert print_batch.make_print_batch(sheriff.id, tmp_path).letters == 1
    db.session.expire_all()
    assert db.session.get(Delivery, other_ids[0]).status is DeliveryStatus.PENDING
    assert db.session.get(Delivery, emailed).status is DeliveryStatus.PENDING


def test_a_failed_write_leaves_the_letters_pending(app, sheriff, tmp_path, monkeypatch):
    ids = print_letters(sheriff, [("Ana", "García")])

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PrintChannel, "write_batch", broken)
    with pytest.raises(print_batch.PrintBatchError):
        print_batch.make_print_batch(sheriff.id, tmp_path)
    db.session.expire_all()
    row = db.session.get(Delivery, ids[0])
    assert row.status is DeliveryStatus.PENDING and row.provider_ref is None
    assert db.session.scalar(db.select(db.func.count()).select_from(PrintBatch)) == 0


def test_a_claimed_batch_is_not_printed_twice(app, sheriff):
    print_letters(sheriff, [("Ana", "García")])
    assert len(services.claim_print_batch(sheriff.id)) == 1
    db.session.commit()
    assert services.claim_print_batch(sheriff.id) == []


def test_withdrawn_supporters_are_not_printed(app, sheriff, tmp_path):
    kept, withdrawn = print_letters(sheriff, [("Ana", "García"), ("Luis", "Peña")])
    db.session.get(Delivery, withdrawn).letter.action.supporter.deleted_at = db.func.now()
    db.session.commit()
    result = print_batch.make_print_batch(sheriff.id, tmp_path)
    assert (result.letters, result.withdrawn) == (1, 1)
    assert b"Pe\xf1a" not in pdf_text(result.data)
    db.session.expire_all()
    assert db.session.get(Delivery, withdrawn).status is DeliveryStatus.CANCELLED


def test_latin1_keeps_spanish_and_transliterates_the_rest():
    assert latin1("José García Peña, Begoña Muñoz ¿Cómo? ¡Sí!") == "José García Peña, Begoña Muñoz ¿Cómo? ¡Sí!"
    assert latin1("Nguyễn “Łukasz” Dvořák – O’Brien…") == 'Nguyen "Lukasz" Dvorák - O\'Brien...'
    assert latin1("王\u200b芳") == "??"
    "".join(latin1("Ω ж ß € \u00a0 \ufeff")).encode("latin-1")


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans is not installed")
def test_a_truetype_font_prints_any_script(app, sheriff, tmp_path):
    app.config["DELIVERY"]["print_font"] = str(DEJAVU)
    print_letters(sheriff, [("Thị", "Nguyễn"), ("Олена", "Шевченко")])
    result = print_batch.make_print_batch(sheriff.id, tmp_path)
    data = result.data
    assert page_count(data) == 3 and b"DejaVu" in data


def test_cli_print_batch(app, runner, sheriff, tmp_path):
    print_letters(sheriff, [("Ana", "García"), ("Luis", "Peña")])
    other = make_office(county="Rankin", email=None)
    print_letters(other, [("Rosa", "Núñez")])
    result = runner.invoke(args=["delivery", "print-batch", "--all-pending", "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"2 batches, 3 letters written to {tmp_path / 'out'}")
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 2
    again = runner.invoke(args=["delivery", "print-batch", "--office", str(sheriff.id), "--output", str(tmp_path)])
    assert again.exit_code == 0 and "0 batches, 0 letters" in again.output
    assert runner.invoke(args=["delivery", "print-batch"]).exit_code == 2
    missing = runner.invoke(args=["delivery", "print-batch", "--office", "99999"])
    assert missing.exit_code == 1 and "no office with id 99999" in missing.output


def test_a_deletion_rewrites_the_batches_that_held_the_supporter(app, sheriff, tmp_path):
    from actionkit.letters.models import Supporter
    from actionkit.privacy import services as privacy

    app.config["DELIVERY"]["print_output"] = str(tmp_path)
    kept, gone = print_letters(sheriff, [("Ana", "García"), ("Luis", "Peña")])
    both = print_batch.make_print_batch(sheriff.id)
    assert b"Pe\xf1a" in pdf_text(both.data)
    (alone,) = print_letters(sheriff, [("Luis", "Peña")])  # a second batch holding only Luis (another campaign)
    db.session.get(Delivery, alone).letter.action.supporter = db.session.get(Delivery, gone).letter.action.supporter
    db.session.commit()
    only = print_batch.make_print_batch(sheriff.id)

    supporter = db.session.get(Supporter, db.session.get(Delivery, gone).letter.action.supporter_id)
    report = privacy.delete_supporter(supporter)
    db.session.commit()
    assert report.print_batches == 2
    first = db.session.get(PrintBatch, both.batch_id)
    data = print_batch.read_batch(first)
    assert data is not None and page_count(data) == 2 and first.letter_count == 1
    assert b"Pe\xf1a" not in pdf_text(data) and b"Garc\xeda" in pdf_text(data)
    second = db.session.get(PrintBatch, only.batch_id)
    assert second.purged_at is not None and print_batch.read_batch(second) is None
    assert not only.path.exists()
    assert db.session.get(Delivery, kept).status is DeliveryStatus.SENT


def test_batches_are_deleted_after_the_retention_period(app, sheriff, tmp_path):
    import datetime as dt

    from actionkit.db import utcnow
    from actionkit.privacy import tasks

    app.config["DELIVERY"]["print_output"] = str(tmp_path)
    print_letters(sheriff, [("Ana", "García")])
    result = print_batch.make_print_batch(sheriff.id)
    assert print_batch.purge_batches(dt.timedelta(days=30)) == 0 and result.path.exists()
    batch = db.session.get(PrintBatch, result.batch_id)
    batch.created_at = utcnow() - dt.timedelta(days=31)
    db.session.commit()
    app.config["RETENTION_DAYS"] = 30
    tasks.purge_expired()
    db.session.expire_all()
    assert not result.path.exists() and db.session.get(PrintBatch, result.batch_id).purged_at is not None


def test_a_deletion_while_the_batch_is_written_is_not_printed(app, sheriff, tmp_path, monkeypatch):
    from sqlalchemy import update

    from actionkit.db import utcnow
    from actionkit.letters.models import Supporter

    app.config["DELIVERY"]["print_output"] = str(tmp_path)
    kept, gone = print_letters(sheriff, [("Ana", "García"), ("Luis", "Peña")])
    gone_supporter = db.session.get(Delivery, gone).letter.action.supporter_id
    real = PrintChannel.write_batch

    def deleting_meanwhile(self, *args, **kwargs):  # the supporter deletes their data mid-write
        out = real(self, *args, **kwargs)
        if "file_name" not in kwargs:
            db.session.execute(update(Supporter).where(Supporter.id == gone_supporter).values(deleted_at=utcnow()))
        return out

    monkeypatch.setattr(PrintChannel, "write_batch", deleting_meanwhile)
    result = print_batch.make_print_batch(sheriff.id)
    stored = print_batch.read_batch(db.session.get(PrintBatch, result.batch_id))
    assert b"Pe\xf1a" not in pdf_text(stored) and b"Garc\xeda" in pdf_text(stored)
def test_a_letter_to_an_office_names_it_once_and_is_signed_once(app):
    office = make_office(county="Hinds", email=None, holder=None)
    body = "Dear Sheriff,\n\nPlease end it.\n\nSincerely,\nAna Garcia\nJackson, Hinds County, MS"
    letter = PrintedLetter(date=dt.date(2026, 1, 5), addressed_to=office.title, office_title=office.title,
                           subject="Please end it", body=body, signer="Ana Garcia", place="Jackson, MS")
    letter_page = pdf_text(render_batch(office, [letter], "b1")).split(b"(Batch: b1)", 1)[1]
    assert letter_page.count(b"(Sheriff of Hinds County)") == 1
    assert letter_page.count(b"(Ana Garcia)") == 1  # the letter's own signature, not a second one

    unsigned = PrintedLetter(**{**letter.__dict__, "body": "Dear Sheriff,\n\nPlease end it."})
    assert pdf_text(render_batch(office, [unsigned], "b1")).count(b"(Ana Garcia)") == 1  # signed by the batch
