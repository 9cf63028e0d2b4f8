"""The email channel: our own From domain, the supporter in Reply-To, a stable Message-ID per delivery."""
from __future__ import annotations

import base64
import binascii
import functools
import html
import logging
import os
import re
import secrets
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any, Optional

from actionkit.delivery.channels.base import Outcome, Outgoing, Undeliverable, write_atomically
from actionkit.delivery.models import Channel
from actionkit.privacy.crypto import crypto

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- email message

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def header_text(value: str) -> str:
    """One line of header text: CR, LF and other control characters become spaces, so no header injection."""
    return " ".join(_CONTROL.sub(" ", value).split())


_ADDR_SPEC = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _addr_spec(addr: Optional[str]) -> str:
    """A plain ASCII addr-spec (an internationalised domain in punycode); Undeliverable otherwise."""
    addr = (addr or "").strip()
    local, at, domain = addr.rpartition("@")
    if at and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
    addr = f"{local}@{domain}"
    if not at or ".." in addr or not _ADDR_SPEC.match(addr):
        raise Undeliverable("invalid email address")
    return addr


def _encoded_words(value: str, size: int = 39) -> str:
    """RFC 2047 encoded words (UTF-8, base64) of at most `size` bytes of text each (39: 64-character words),
    split between characters and joined by folding whitespace, which decoders drop between encoded words."""
    data, words, start = value.encode("utf-8"), [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split a UTF-8 sequence
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


def _header(value: str) -> str:
    """A header value with no line break of its own (no injection): RFC 2047-encoded when it is not ASCII or has
    a word too long to fold, else folded at spaces so lines stay under 78 characters."""
    value = header_text(value)
    words = value.split(" ")
    if not value.isascii() or any(len(w) > 76 for w in words):
        return _encoded_words(value)
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > 66:  # room for the longest header name we fold ("Subject: ")
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def _mailbox(name: str, addr: str) -> str:
    """A To/From/Reply-To mailbox: an encoded display name when it is not ASCII, quoted when it needs it."""
    name = header_text(name)
    if not name:
        return addr
    if name.isascii():
        return formataddr((name, addr))
    # One encoded word: readers (Python's among them) keep the space between encoded words in a display name.
    # A name over 300 bytes is cut there (at a character), so the line stays under SMTP's 998 characters.
    data = name.encode("utf-8")
    if len(data) > 300:
        name = data[:300].decode("utf-8", "ignore")
    return f"{_encoded_words(name, size=len(name) * 4)} <{addr}>"


@functools.lru_cache(maxsize=16)
def _from_header(from_address: str) -> tuple[str, str]:
    """Our envelope sender and From header for the configured from_address (parsed once per value)."""
    from_name, from_addr = parseaddr(from_address)
    sender = _addr_spec(from_addr)
    return sender, _mailbox(from_name, sender)


@functools.lru_cache(maxsize=16)
def from_domain(from_address: str) -> str:
    """The domain of our configured From address (Message-IDs are made under it)."""
    return parseaddr(from_address)[1].rpartition("@")[2].lower() or "localhost"


def message_id(delivery_id: int, from_address: str) -> str:
    """A stable Message-ID per delivery: a re-send carries the same id, so receivers can drop the copy."""
    tag = crypto().lookup_hash(str(delivery_id), "message-id")[:8]
    return f"<delivery-{delivery_id}.{tag}@{from_domain(from_address)}>"


def html_body(text: str) -> str:
    """The plain-text letter as HTML: every character escaped, blank lines become paragraphs."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()) if p.strip()]
    parts = ["<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs]
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n' + "\n".join(parts)
            + "\n</body></html>\n")


def _quoted_printable(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends and lines of at most 76 characters."""
    # b2a_qp takes its line ending from the text's first line break (LF when there is none, even for its own
    # soft breaks): encode with LF throughout, then put CRLF on every line, hard or soft.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class Email:
    """One serialised message and its envelope."""

    sender: str  # MAIL FROM: our own address, so bounces come to us
    recipient: str  # RCPT TO: the official
    message_id: str
    data: bytes


def build_message(delivery: Outgoing, mail: dict[str, Any]) -> Email:
    """The email for one delivery: our From, the supporter in Reply-To, the official in To, text and HTML.

    Written directly rather than with the email package's generator, which costs several times more CPU than
    the rest of a send: every value goes through header_text (no header injection), non-ASCII through RFC 2047,
    both bodies are quoted-printable (ASCII only, short lines).
    """
    if delivery.withdrawn:
        raise Undeliverable("withdrawn: the supporter deleted their data")
    if not delivery.destination:
        raise Undeliverable("no destination email address")
    sender, from_header = _from_header(mail["from_address"])
    recipient = _addr_spec(delivery.destination)
    msgid = message_id(delivery.id, mail["from_address"])
    # "=_" never occurs in quoted-printable text, so this boundary cannot occur in a part.
    boundary = f"=_actionkit_{secrets.token_hex(12)}"
    headers = [f"From: {from_header}", f"To: {recipient}"]
    if delivery.supporter_email:
        try:
            headers.append(f"Reply-To: {_mailbox(delivery.supporter_name, _addr_spec(delivery.supporter_email))}")
        except Undeliverable:
            log.warning("delivery %s: supporter email unusable as Reply-To; sent without it", delivery.id)
    headers += [f"Subject: {_header(delivery.subject or delivery.office_title)}",
                f"Date: {formatdate(usegmt=True)}", f"Message-ID: {msgid}", "MIME-Version: 1.0",
                f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"']
    part = 'Content-Type: text/{};\r\n charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    data = b"".join([
        "\r\n".join(headers).encode("ascii"), b"\r\n\r\n",
        f"--{boundary}\r\n{part.format('plain')}".encode("ascii"), _quoted_printable(delivery.body),
        f"\r\n--{boundary}\r\n{part.format('html')}".encode("ascii"), _quoted_printable(html_body(delivery.body)),
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ])
    return Email(sender, recipient, msgid, data)


# ---------------------------------------------------------------------------------------- error classification

def _reply_text(text: Any) -> str:
    """Server reply text with any address in it removed (it may echo a recipient or sender)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _ADDRESS.sub("<address>", header_text(str(text or "")))[:160]


def _by_code(code: int, what: str, text: Any) -> Outcome:
    reason = f"smtp {code} {what}"
    detail = _reply_text(text)
    if detail:
        reason += f": {detail}"
    if 500 <= code < 600:
        return Outcome.permanent(reason)
    return Outcome.transient(reason)


def classify_smtp_error(exc: BaseException) -> Outcome:
    """SMTP 4xx, timeouts and lost connections are transient; 5xx on MAIL/RCPT/DATA is permanent.

    Problems with our own relay (connect, HELO, STARTTLS, login) are transient whatever their code: they are
    fixed by an operator, not by giving up on the letter.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (0, b""))
        return _by_code(int(code), "recipient refused", text)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, "sender refused", exc.smtp_error)
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_code(exc.smtp_code, "message refused", exc.smtp_error)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Outcome.transient(f"smtp {exc.smtp_code} authentication failed (check the MAIL settings)")
    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return Outcome.transient(f"smtp {exc.smtp_code} relay refused the connection")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, "error", exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Outcome.transient("smtp disconnected")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome.transient("smtp relay does not support a required extension (check the MAIL settings)")
    if isinstance(exc, TimeoutError):
        return Outcome.transient("smtp timeout")
    if isinstance(exc, ssl.SSLError):
        return Outcome.transient("smtp tls error")
    if isinstance(exc, OSError):
        return Outcome.transient(f"smtp connection error: {type(exc).__name__}")
    return Outcome.transient(f"smtp error: {type(exc).__name__}")


def classify_refused(refused: dict[str, tuple[int, bytes]]) -> Outcome:
    """A partial refusal (sendmail returned refused recipients): permanent, as a retry would repeat the others."""
    code, text = next(iter(refused.values()))
    reason = f"smtp {code} recipient refused (partial)"
    detail = _reply_text(text)
    return Outcome.permanent(f"{reason}: {detail}" if detail else reason)


# ------------------------------------------------------------------------------------------------- transports

class _Tracking:
    """Remembers the last SMTP command, to tell a connection that was already dead from a drop after DATA."""

    last_command = ""

    def putcmd(self, cmd: str, args: str = "") -> None:
        self.last_command = cmd.lower()
        super().putcmd(cmd, args)  # type: ignore[misc]


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTPSSL(_Tracking, smtplib.SMTP_SSL):
    pass


def _closing(exc: smtplib.SMTPException) -> bool:
    """Whether the server answered 421 (closing the connection) to MAIL, RCPT or DATA."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in exc.recipients.values())
    return getattr(exc, "smtp_code", None) == 421


class SmtpTransport:
    """One SMTP connection per worker process (and thread), kept between sends and reopened after a failure.

    A kept connection the server has meanwhile closed (idle timeout, "421 closing") fails before our message
    is transmitted; that send is retried once on a fresh connection, so a stale connection never costs a letter
    an attempt. A drop after DATA is never retried here: the server may have accepted the message, so it is a
    transient error and the retry schedule decides. After any error that leaves the session in an unknown
    state the connection is dropped; after a refusal smtplib has reset it (RSET), so it is kept.
    """

    _local = threading.local()

    def __init__(self, mail: dict[str, Any]) -> None:
        self.mail = mail
        self.key = (mail["smtp_host"], int(mail["smtp_port"]), mail.get("smtp_username"),
                    bool(mail.get("smtp_ssl")), bool(mail.get("smtp_starttls")))

    def _open(self) -> smtplib.SMTP:
        mail = self.mail
        timeout = float(mail["smtp_timeout"])
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if mail.get("smtp_ssl"):
            conn = _SMTPSSL(mail["smtp_host"], int(mail["smtp_port"]), timeout=timeout, context=context)
        else:
            conn = _SMTP(mail["smtp_host"], int(mail["smtp_port"]), timeout=timeout)
        try:
            conn.ehlo()
            if mail.get("smtp_starttls") and not mail.get("smtp_ssl"):
                conn.starttls(context=context)
                conn.ehlo()
            if mail.get("smtp_username"):
                conn.login(mail["smtp_username"], mail.get("smtp_password") or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's connection (opened if need be), and whether it was kept from an earlier send."""
        state = self._local
        conn: Optional[smtplib.SMTP] = getattr(state, "conn", None)
        if conn is not None and getattr(state, "pid", None) != os.getpid():
            conn = state.conn = None  # inherited across fork: the parent's socket, never ours to use
        if conn is not None and state.key != self.key:
            self.discard()
            conn = None
        if conn is not None:
            return conn, True
        conn = self._open()
        state.conn, state.key, state.pid = conn, self.key, os.getpid()
        return conn, False

    def discard(self) -> None:
        """Drop this thread's connection (after an error its state is unknown)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            try:
                conn.close()
            except OSError:
                pass

    @classmethod
    def close(cls) -> None:
        """Say QUIT on this thread's kept connection and drop it (worker process shutdown)."""
        state = cls._local
        conn, state.conn = getattr(state, "conn", None), None
        if conn is not None and getattr(state, "pid", None) == os.getpid():
            try:
                if conn.sock is not None:
                    conn.sock.settimeout(2.0)  # a hung server must not hold the shutdown up
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def send(self, sender: str, recipient: str, data: bytes, provider_ref: str) -> Outcome:
        """Send one message to one recipient and classify what happened."""
        for may_retry in (True, False):
            try:
                conn, kept = self._connection()
            except (smtplib.SMTPException, OSError) as exc:
                self.discard()
                return classify_smtp_error(exc)
            try:
                refused = conn.sendmail(sender, [recipient], data)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                closing = _closing(exc)
                if closing:
                    self.discard()
                if closing and may_retry and kept and isinstance(exc, smtplib.SMTPSenderRefused):
                    continue  # the server was closing the idle connection before our message
                return classify_smtp_error(exc)
            except (smtplib.SMTPException, OSError) as exc:
                self.discard()
                stale = isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError))
                if stale and may_retry and kept and getattr(conn, "last_command", "data") != "data":
                    continue  # the connection was already dead: nothing of ours was transmitted
                return classify_smtp_error(exc)
            except BaseException:  # e.g. the task's soft time limit mid-DATA: the session state is unknown
                self.discard()
                raise
            if refused:
                return classify_refused(refused)
            return Outcome.sent(provider_ref)
        return Outcome.transient("smtp disconnected")  # not reached: the second pass always returns


# --------------------------------------------------------------------------------------------------- channels

class EmailChannel:
    """Email from our own domain: file backend (embedded demo, instance/outbox/) or SMTP."""

    channel = Channel.EMAIL

    def __init__(self, mail: dict[str, Any]) -> None:
        self.mail = mail

    def send(self, delivery: Outgoing) -> Outcome:
        """Build and send the letter's email; never raises for a delivery problem."""
        try:
            email = build_message(delivery, self.mail)
        except Undeliverable as exc:
            return Outcome.permanent(str(exc))
        if self.mail["backend"] == "file":
            try:
                write_atomically(Path(self.mail["outbox"]) / f"{email.message_id.strip('<>')}.eml", email.data)
            except OSError as exc:
                return Outcome.transient(f"outbox write failed: {type(exc).__name__}")
            return Outcome.sent(email.message_id)
        return SmtpTransport(self.mail).send(email.sender, email.recipient, email.data, email.message_id)
