"""The confirmation e-mail to a supporter, in their language: their letters, a link to follow them and a link to
delete their data. The link's token is minted here (stored only as its HMAC), so the task needs just the
action id; the claim on Action.confirmation_sent_at makes a second run send nothing.
"""
from __future__ import annotations

import logging
import secrets
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from flask import current_app, has_request_context, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from actionkit.campaigns.models import Campaign
from actionkit.db import utcnow
from actionkit.delivery.channels import Result, SmtpTransport, from_domain, header_text, write_atomically
from actionkit.extensions import db
from actionkit.letters import labels, services
from actionkit.letters.rendering import clean_body
from actionkit.letters.models import Action, Letter
from actionkit.officials.models import Office
from actionkit.privacy.crypto import crypto

log = logging.getLogger(__name__)
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


class TryLater(Exception):
    """The mail server had a transient problem; the task retries (and its claim is rolled back)."""


def public_url() -> str:
    """Base URL for links in e-mails and share links (ACTIONKIT_PUBLIC_URL); without it, the current request's
    host, or outside a request the embedded demo's dev server."""
    url = current_app.config.get("PUBLIC_URL")
    if url:
        return str(url).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    if not current_app.config.get("EMBEDDED"):
        log.warning("ACTIONKIT_PUBLIC_URL is not set; confirmation links point at %s", DEFAULT_PUBLIC_URL)
    return DEFAULT_PUBLIC_URL


def _claim(action_id: int) -> bool:
    stmt = (update(Action).where(Action.id == action_id, Action.confirmation_sent_at.is_(None))
            .values(confirmation_sent_at=utcnow()).execution_options(synchronize_session=False))
    return db.session.execute(stmt).rowcount == 1


def build(action: Action, token: str) -> EmailMessage:
    """The message (plain text, the supporter's language) with status and delete links under `token`."""
    mail = current_app.config["MAIL"]
    supporter = action.supporter
    campaign = action.campaign
    with current_app.test_request_context("/", base_url=public_url()), force_locale(action.language or "en"):
        title = campaign.text(action.language).title
        status_url = url_for("letters.thanks", slug=campaign.slug, token=token, lang=action.language,
                             _external=True)
        delete_url = url_for("privacy.delete", token=token, lang=action.language, _external=True)
        text = clean_body(render_template("emails/confirmation.txt", supporter=supporter, action=action,
                                          campaign=campaign, title=title, labels=labels, status_url=status_url,
                                          delete_url=delete_url)) + "\n"
        subject = _("Your letters for “%(title)s”", title=title)
    return _message(supporter.email or "", subject, text, f"confirmation-{action.id}", action.language or "en")


def _message(to: str, subject: str, text: str, kind: str, language: str) -> EmailMessage:
    """A plain-text message from us to one supporter; kind names it in the Message-ID (with a keyed tag)."""
    mail = current_app.config["MAIL"]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = mail["from_address"]
    msg["To"] = to
    msg["Subject"] = header_text(subject)
    msg["Date"] = formatdate(usegmt=True)
    tag = crypto().lookup_hash(kind, "confirmation-message-id")[:8]
    msg["Message-ID"] = f"<{kind}.{tag}@{from_domain(mail['from_address'])}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, cte="quoted-printable")
    msg["Content-Language"] = language  # after set_content, which resets Content-* headers
    return msg


def transmit(msg: EmailMessage) -> None:
    """Send through the configured mail backend (file outbox or SMTP); TryLater on a transient failure."""
    mail = current_app.config["MAIL"]
    msgid = str(msg["Message-ID"])
    if not parseaddr(str(msg["To"]))[1].isascii():  # signed before the form refused such addresses
        log.warning("%s not sent: the address needs SMTPUTF8, which we do not rely on", msgid.strip("<>"))
        return
    data = msg.as_bytes()
    if mail["backend"] == "file":
        try:
            write_atomically(Path(mail["outbox"]) / f"{msgid.strip('<>')}.eml", data)
        except OSError as exc:
            raise TryLater(f"outbox write failed: {type(exc).__name__}") from exc
        return
    sender = parseaddr(mail["from_address"])[1]
    outcome = SmtpTransport(mail).send(sender, parseaddr(str(msg["To"]))[1], data, msgid)
    if outcome.result is Result.TRANSIENT:
        raise TryLater(outcome.reason or "transient")
    if outcome.result is Result.PERMANENT:
        log.warning("confirmation e-mail refused permanently: %s", outcome.reason)


def send_confirmation(action_id: int) -> bool:
    """Send the action's confirmation once; False when already sent or there is no one to send it to."""
    if not _claim(action_id):
        return False
    action = db.session.scalar(
        db.select(Action).where(Action.id == action_id)
        .options(selectinload(Action.supporter), selectinload(Action.campaign),
                 selectinload(Action.letters).selectinload(Letter.office).selectinload(Office.division)))
    if action is None or action.supporter.deleted_at is not None or not action.supporter.email:
        return False
    token = secrets.token_urlsafe(32)
    action.email_token_hash = services.token_hash(token)
    db.session.flush()
    transmit(build(action, token))
    log.info("confirmation e-mail sent for action %s", action.id)
    return True


def send_email_check(submission_id: int) -> bool | int:
    """E-mail the link that releases a waiting signature's letters (campaigns that confirm addresses), once.
    Returns the earlier action's id when this address had already signed (the caller tells its owner instead),
    True when sent, False when there was nothing to do."""
    check = services.claim_email_check(submission_id)
    if check is None or isinstance(check, int):
        return check if isinstance(check, int) else False
    campaign = db.session.get(Campaign, check.campaign_id)
    assert campaign is not None
    language = check.language or "en"
    with current_app.test_request_context("/", base_url=public_url()), force_locale(language):
        title = campaign.text(language).title
        confirm_url = url_for("letters.confirm_email", slug=campaign.slug, token=check.token, lang=language,
                              _external=True)
        text = clean_body(render_template("emails/check_email.txt", first_name=check.first_name, title=title,
                                          confirm_url=confirm_url, days=services.confirmation_max_age().days,
                                          expires=check.expires_at)) + "\n"
        subject = _("Confirm your email to send your letters: “%(title)s”", title=title)
    transmit(_message(check.email, subject, text, f"check-{submission_id}", language))
    log.info("e-mail check sent for submission %s", submission_id)
    return True


def send_repeat_notice(action_id: int) -> bool:
    """Tell the owner of an address that it was used to sign this campaign again (by them or by someone else):
    nothing was sent twice; here is a fresh link to their letters. At most once a day per action."""
    if not services.claim_repeat_notice(action_id):
        return False
    action = db.session.scalar(db.select(Action).where(Action.id == action_id)
                               .options(selectinload(Action.supporter), selectinload(Action.campaign)))
    if action is None or action.supporter.deleted_at is not None or not action.supporter.email:
        return False
    token = secrets.token_urlsafe(32)
    action.email_token_hash = services.token_hash(token)  # the link in earlier e-mails is replaced by this one
    db.session.flush()
    campaign, language = action.campaign, action.language or "en"
    with current_app.test_request_context("/", base_url=public_url()), force_locale(language):
        title = campaign.text(language).title
        status_url = url_for("letters.thanks", slug=campaign.slug, token=token, lang=language, _external=True)
        delete_url = url_for("privacy.delete", token=token, lang=language, _external=True)
        text = clean_body(render_template("emails/repeat.txt", supporter=action.supporter, title=title,
                                          status_url=status_url, delete_url=delete_url)) + "\n"
        subject = _("You have already written: “%(title)s”", title=title)
    transmit(_message(action.supporter.email, subject, text, f"repeat-{action.id}-{secrets.token_hex(4)}",
                      language))
    log.info("repeat-signature notice sent for action %s", action.id)
    return True
