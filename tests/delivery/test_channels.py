"""The email channel: the message (headers, parts, Message-ID), the file backend, and SMTP against a real sink
(aiosmtpd) with its errors classified."""
from __future__ import annotations

import dataclasses
import re
import smtplib
import socket
from email import message_from_bytes, policy

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from actionkit.delivery import channels, services
from actionkit.db import utcnow
from actionkit.delivery.channels import EmailChannel, Outcome, Outgoing, Result, SmtpTransport, classify_smtp_error
from actionkit.delivery.models import Channel
from actionkit.extensions import db
from tests.delivery.conftest import free_port
from tests.factories import make_action, make_office, make_supporter


@pytest.fixture(autouse=True)
def fresh_connection():
    """Each test starts without a cached SMTP connection (they are per process and thread)."""
    SmtpTransport({"smtp_host": "", "smtp_port": 0}).discard()
    yield
    SmtpTransport({"smtp_host": "", "smtp_port": 0}).discard()


def delivery_to(destination: str = "sheriff@hinds.example", subject: str = "Please end 287(g) cooperation",
                body: str = "Dear Sheriff,\n\nPlease end it.\n\nAna García", withdrawn: bool = False,
                **supporter) -> Outgoing:
    office = make_office(email=destination)
    action = make_action(supporter=make_supporter(**supporter) if supporter else None, offices=[office])
    letter = action.letters[0]
    letter.subject, letter.body = subject, body
    if withdrawn:
        action.supporter.deleted_at = utcnow()
    db.session.commit()
    return services._load(letter.delivery.id)


def parse(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def test_message_headers_and_parts(app):
    app.config["MAIL"]["from_address"] = "Letters <letters@actionkit.example>"
    delivery = delivery_to(email="ana@example.org", first_name="Ana", last_name="García")
    msg = parse(channels.build_message(delivery, app.config["MAIL"]).data)
    assert msg["From"].addresses[0].addr_spec == "letters@actionkit.example"
    assert msg["To"] == "sheriff@hinds.example"
    assert msg["Reply-To"].addresses[0].addr_spec == "ana@example.org"
    assert msg["Reply-To"].addresses[0].display_name == "Ana García"
    assert msg["Subject"] == "Please end 287(g) cooperation"
    assert msg["Message-ID"] == channels.message_id(delivery.id, "letters@actionkit.example")
    assert msg["Message-ID"].startswith(f"<delivery-{delivery.id}.") and msg["Message-ID"].endswith(
        "@actionkit.example>")
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert plain.replace("\r\n", "\n").rstrip("\n") == "Dear Sheriff,\n\nPlease end it.\n\nAna García"
    assert "<p>Please end it.</p>" in html and "Ana García" in html


def test_message_id_is_stable_and_unguessable(app):
    first = channels.message_id(41, "letters@actionkit.example")
    assert first == channels.message_id(41, "letters@actionkit.example")
    assert first != channels.message_id(42, "letters@actionkit.example")
    assert len(first.split(".")[1].split("@")[0]) == 8


def test_subject_cannot_inject_headers(app):
    delivery = delivery_to(subject="Hello\r\nBcc: everyone@example.com\nX-Evil: 1")
    data = channels.build_message(delivery, app.config["MAIL"]).data
    msg = parse(data)
    assert msg["Subject"] == "Hello Bcc: everyone@example.com X-Evil: 1"
    assert msg["Bcc"] is None and msg["X-Evil"] is None


def test_non_ascii_headers_and_addresses(app):
    subject = "Pongan fin al acuerdo 287(g) – " + "García Peña " * 12
    delivery = delivery_to(destination="alguacil@condado.españa", subject=subject, email="josé@example.org")
    email = channels.build_message(delivery, app.config["MAIL"])
    msg = parse(email.data)
    assert email.data.isascii() and all(len(line) <= 998 for line in email.data.split(b"\r\n"))
    assert msg["Subject"] == header_subject(subject)
    assert email.recipient == msg["To"] == "alguacil@condado.xn--espaa-rta"
    assert msg["Reply-To"] is None  # a non-ASCII mailbox name cannot go in a plain header; the letter still goes


def header_subject(text: str) -> str:
    return " ".join(text.split())


def test_supporter_text_is_escaped_in_html(app):
    delivery = delivery_to(body='<script>alert("x")</script> & <b>bold</b>')
    msg = parse(channels.build_message(delivery, app.config["MAIL"]).data)
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert msg.get_body(("plain",)).get_content().startswith('<script>alert("x")</script>')


def test_undeliverable_letters_fail_permanently(app):
    no_address = dataclasses.replace(delivery_to(), destination=None)
    assert EmailChannel(app.config["MAIL"]).send(no_address) == Outcome.permanent("no destination email address")
    bad = delivery_to(destination="not an address")
    assert EmailChannel(app.config["MAIL"]).send(bad).result is Result.PERMANENT
    withdrawn = delivery_to(withdrawn=True)
    assert withdrawn.withdrawn
    outcome = EmailChannel(app.config["MAIL"]).send(withdrawn)
    assert outcome.result is Result.PERMANENT and outcome.reason.startswith("withdrawn")


def test_file_backend_writes_one_file_per_delivery(app, tmp_path):
    app.config["MAIL"].update(backend="file", outbox=str(tmp_path / "outbox"))
    delivery = delivery_to()
    first = EmailChannel(app.config["MAIL"]).send(delivery)
    second = EmailChannel(app.config["MAIL"]).send(delivery)  # a re-send overwrites, never duplicates
    assert first.result is Result.SENT and first.provider_ref == second.provider_ref
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [first.provider_ref.strip("<>") + ".eml"]
    assert parse(files[0].read_bytes())["Message-ID"] == first.provider_ref


def test_smtp_sends_to_the_sink_and_reuses_one_connection(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    deliveries = [delivery_to(destination=f"rep{i}@legislature.example") for i in range(3)]
    outcomes = [EmailChannel(app.config["MAIL"]).send(d) for d in deliveries]
    assert [o.result for o in outcomes] == [Result.SENT] * 3
    assert set(smtp_sink.handler.message_ids()) == {o.provider_ref for o in outcomes}
    assert smtp_sink.handler.connections == 1
    first = smtp_sink.handler.messages[0]
    assert first["mail_from"] == "letters@actionkit.test" and first["rcpt_tos"] == ["rep0@legislature.example"]


def test_smtp_reconnects_after_the_server_dropped_an_idle_connection(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    smtp_sink.drop_connections()  # as a server does with an idle connection
    assert EmailChannel(app.config["MAIL"]).send(delivery_to(destination="b@x.example")).result is Result.SENT
    assert smtp_sink.handler.connections == 2 and len(smtp_sink.handler.messages) == 2


def test_a_drop_after_data_on_a_reused_connection_is_not_retried_at_once(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    smtp_sink.handler.drop_after_data = True
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()) == Outcome.transient("smtp disconnected")
    assert len(smtp_sink.handler.messages) == 2  # the sink has it once; the retry schedule decides on a re-send


def test_a_kept_connection_gone_stale_after_a_refusal_is_reopened_not_failed(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    smtp_sink.handler.rcpt_replies["gone@hinds.example"] = "550 5.1.1 mailbox unavailable"
    assert EmailChannel(app.config["MAIL"]).send(delivery_to(destination="gone@hinds.example")).result is (
        Result.PERMANENT)  # the connection is kept (smtplib reset it), though it has sent nothing yet
    smtp_sink.drop_connections()
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    assert smtp_sink.handler.connections == 2 and len(smtp_sink.handler.messages) == 1


class Interrupted(Exception):
    """Not an SMTP or socket error: like Celery's soft time limit striking in the middle of a send."""


def test_a_send_interrupted_midway_never_leaves_its_connection_for_the_next(app, smtp_sink, monkeypatch):
    app.config["MAIL"].update(smtp_sink.mail_config())
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT

    def interrupted(self, msg):  # type: ignore[no-untyped-def]
        raise Interrupted()  # after MAIL and RCPT: the server holds an open transaction

    monkeypatch.setattr(smtplib.SMTP, "data", interrupted)
    with pytest.raises(Interrupted):
        EmailChannel(app.config["MAIL"]).send(delivery_to())
    monkeypatch.undo()
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    assert smtp_sink.handler.connections == 2 and len(smtp_sink.handler.messages) == 2


def test_worker_process_shutdown_closes_the_kept_connection(app, smtp_sink):
    from celery.signals import worker_process_shutdown

    import actionkit.delivery.tasks  # noqa: F401  (connects the signal)

    app.config["MAIL"].update(smtp_sink.mail_config())
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    worker_process_shutdown.send(sender=None, pid=0, exitcode=0)
    assert SmtpTransport._local.conn is None
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT
    assert smtp_sink.handler.connections == 2


def test_smtp_550_on_rcpt_is_permanent_without_the_address(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    smtp_sink.handler.rcpt_replies["gone@hinds.example"] = "550 5.1.1 <gone@hinds.example>: mailbox unavailable"
    outcome = EmailChannel(app.config["MAIL"]).send(delivery_to(destination="gone@hinds.example"))
    assert outcome.result is Result.PERMANENT
    assert outcome.reason == "smtp 550 recipient refused: 5.1.1 <address>: mailbox unavailable"
    assert EmailChannel(app.config["MAIL"]).send(delivery_to(destination="ok@hinds.example")).result is Result.SENT


def test_smtp_451_is_transient(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    smtp_sink.handler.rcpt_replies["busy@hinds.example"] = "451 4.3.0 try again later"
    outcome = EmailChannel(app.config["MAIL"]).send(delivery_to(destination="busy@hinds.example"))
    assert outcome == Outcome.transient("smtp 451 recipient refused: 4.3.0 try again later")
    smtp_sink.handler.data_reply = "452 4.3.1 insufficient system storage"
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.TRANSIENT
    smtp_sink.handler.data_reply = "554 5.7.1 message refused"
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()) == Outcome.permanent(
        "smtp 554 message refused: 5.7.1 message refused")


def test_a_disconnect_after_data_is_transient(app, smtp_sink):
    app.config["MAIL"].update(smtp_sink.mail_config())
    smtp_sink.handler.drop_after_data = True
    outcome = EmailChannel(app.config["MAIL"]).send(delivery_to())
    assert outcome == Outcome.transient("smtp disconnected")
    smtp_sink.handler.drop_after_data = False
    assert EmailChannel(app.config["MAIL"]).send(delivery_to()).result is Result.SENT  # a fresh connection


def test_connection_refused_is_transient(app):
    app.config["MAIL"].update(backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2)
    outcome = EmailChannel(app.config["MAIL"]).send(delivery_to())
    assert outcome == Outcome.transient("smtp connection error: ConnectionRefusedError")


class PartialSMTP:
    """sendmail() accepted some recipients and returned the others, as smtplib does."""

    def sendmail(self, sender, recipients, data):  # type: ignore[no-untyped-def]
        return {recipients[0]: (550, b"5.1.1 <x@y.example> unknown user")}

    def close(self) -> None:
        pass


def test_a_partial_refusal_is_permanent(app, monkeypatch):
    app.config["MAIL"].update(backend="smtp")
    monkeypatch.setattr(SmtpTransport, "_open", lambda self: PartialSMTP())
    outcome = EmailChannel(app.config["MAIL"]).send(delivery_to())
    assert outcome == Outcome.permanent("smtp 550 recipient refused (partial): 5.1.1 <address> unknown user")


@pytest.mark.parametrize("exc, result, reason", [
    (smtplib.SMTPRecipientsRefused({"a@b.c": (451, b"4.7.1 greylisted, see <a@b.c>")}), Result.TRANSIENT,
     "smtp 451 recipient refused: 4.7.1 greylisted, see <address>"),
    (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 no such user a@b.c")}), Result.PERMANENT,
     "smtp 550 recipient refused: 5.1.1 no such user <address>"),
    (smtplib.SMTPSenderRefused(553, b"sender not allowed", "letters@x"), Result.PERMANENT,
     "smtp 553 sender refused: sender not allowed"),
    (smtplib.SMTPDataError(421, b"closing"), Result.TRANSIENT, "smtp 421 message refused: closing"),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), Result.TRANSIENT,
     "smtp 535 authentication failed (check the MAIL settings)"),
    (smtplib.SMTPConnectError(554, b"no"), Result.TRANSIENT, "smtp 554 relay refused the connection"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), Result.TRANSIENT, "smtp disconnected"),
    (socket.timeout("timed out"), Result.TRANSIENT, "smtp timeout"),
    (ConnectionResetError(), Result.TRANSIENT, "smtp connection error: ConnectionResetError"),
])
def test_error_classification(exc, result, reason):
    outcome = classify_smtp_error(exc)
    assert (outcome.result, outcome.reason) == (result, reason)


def test_header_text_collapses_every_line_break():
    assert channels.header_text("a\rb\nc\r\nd\u2028e\x00f\tg") == "a b c d e f g"


def test_long_ascii_headers_are_folded_and_read_back_whole(app):
    subject = "Please end the 287(g) agreement, " + "and every other detainer agreement, " * 6
    delivery = delivery_to(subject=subject, first_name='Ana "Nana"', last_name="O'Neil, Jr.")
    data = channels.build_message(delivery, app.config["MAIL"]).data
    assert all(len(line) <= 78 for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"))
    msg = parse(data)
    assert msg["Subject"] == header_subject(subject)
    assert msg["Reply-To"].addresses[0].display_name == 'Ana "Nana" O\'Neil, Jr.'


@pytest.mark.parametrize("body", ["A" * 300, "Ñandú " * 60, "one line\n\n" + "B" * 200, "CR only\r" + "C" * 100])
def test_every_line_of_the_message_ends_in_crlf(app, body):
    """SMTP needs CRLF: a bare LF (e.g. a soft line break in a one-line letter) is refused or rewritten."""
    delivery = Outgoing(id=9, channel=Channel.EMAIL, destination="sheriff@hinds.example", office_title="Sheriff",
                        subject="Hello", body=body, supporter_email="ana@example.org", supporter_name="Ana",
                        withdrawn=False)
    data = channels.build_message(delivery, app.config["MAIL"]).data
    assert re.search(rb"(?<!\r)\n", data) is None and re.search(rb"\r(?!\n)", data) is None
    assert lines(parse(data).get_body(("plain",)).get_content()).rstrip("\n") == lines(body).rstrip("\n")


def test_a_very_long_non_ascii_name_is_cut_to_keep_the_reply_to_line_under_the_limit(app):
    name = "Ñandú Güemes 𝔊 " * 25  # 400 characters, over 700 bytes of UTF-8
    delivery = Outgoing(id=8, channel=Channel.EMAIL, destination="sheriff@hinds.example", office_title="Sheriff",
                        subject="Hello", body="Hello", supporter_email="ana@example.org", supporter_name=name,
                        withdrawn=False)
    data = channels.build_message(delivery, app.config["MAIL"]).data
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    shown = parse(data)["Reply-To"].addresses[0].display_name
    assert 100 < len(shown) < len(name) and channels.header_text(name).startswith(shown)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=_TEXT, body=_TEXT, name=_TEXT.filter(lambda n: len(n.encode("utf-8")) <= 300),  # longer: cut
       from_name=st.text(st.characters(whitelist_categories=("L", "Nd"), whitelist_characters=" "), max_size=40))
def test_any_text_survives_the_message_unchanged_and_ascii(app, subject, body, name, from_name):
    assume("=?" not in subject + name)  # an encoded word typed by a person is decoded by readers
    assume(channels.header_text(subject))
    mail = {**app.config["MAIL"], "from_address": f"{from_name} <letters@actionkit.example>"}
    delivery = Outgoing(id=7, channel=Channel.EMAIL, destination="sheriff@hinds.example", office_title="Sheriff",
                        subject=subject, body=body, supporter_email="ana@example.org", supporter_name=name,
                        withdrawn=False)
    email = channels.build_message(delivery, mail)
    assert email.data.isascii() and all(len(line) <= 998 for line in email.data.split(b"\r\n"))
    msg = parse(email.data)
    assert msg["Subject"] == channels.header_text(subject)
    assert msg["From"].addresses[0].display_name == channels.header_text(from_name)
    assert msg["Reply-To"].addresses[0].display_name == channels.header_text(name)
    assert msg["Message-ID"] == email.message_id and msg["To"] == "sheriff@hinds.example"
    assert msg["Bcc"] is None and len(msg.keys()) == 8
    assert lines(msg.get_body(("plain",)).get_content()) == lines(body)  # CRLF on the wire: no bare CR or LF
    assert lines(msg.get_body(("html",)).get_content()) == lines(channels.html_body(body))


def lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
