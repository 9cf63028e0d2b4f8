"""The e-mail a storyteller gets when they gave an address: a link to delete their story, in their language.
The link's token is minted here (only its HMAC is stored), so the task carries just the story id; the claim on
Story.receipt_sent_at makes a second run send nothing."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Optional

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from actionkit.db import utcnow
from actionkit.delivery.channels import from_domain, header_text
from actionkit.extensions import db
from actionkit.letters.confirmation import public_url, transmit
from actionkit.letters.rendering import clean_body
from actionkit.privacy.crypto import crypto
from actionkit.stories.models import Story

log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return crypto().lookup_hash(token, "story-email-token")


def find_by_token(token: str) -> Optional[Story]:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Story).where(Story.email_token_hash == token_hash(token)))


def _claim(story_id: int) -> bool:
    stmt = (update(Story).where(Story.id == story_id, Story.receipt_sent_at.is_(None), Story.email.is_not(None))
            .values(receipt_sent_at=utcnow()).execution_options(synchronize_session=False))
    return db.session.execute(stmt).rowcount == 1


def build(story: Story, token: str) -> EmailMessage:
    mail = current_app.config["MAIL"]
    lang = story.language or "en"
    with current_app.test_request_context("/", base_url=public_url()), force_locale(lang):
        delete_url = url_for("stories.delete_link", token=token, lang=lang, _external=True)
        text = clean_body(render_template("emails/story_receipt.txt", delete_url=delete_url)) + "\n"
        subject = _("We received your story")
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = mail["from_address"]
    msg["To"] = story.email
    msg["Subject"] = header_text(subject)
    msg["Date"] = formatdate(usegmt=True)
    tag = crypto().lookup_hash(str(story.id), "story-message-id")[:8]
    msg["Message-ID"] = f"<story-{story.id}.{tag}@{from_domain(mail['from_address'])}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, cte="quoted-printable")
    msg["Content-Language"] = lang
    return msg


def unsent(grace: dt.timedelta, max_age: dt.timedelta, every: dt.timedelta, limit: int = 500,
           now: Optional[dt.datetime] = None) -> list[int]:
    """Ids of stories whose receipt was never sent (the broker or the mail server was down at submit time), due
    now: their age crossed grace, 2 x grace, 4 x grace ... within the last `every` (how often the caller runs),
    so a long mail outage gets a try at doubling intervals, not one a minute; none older than max_age."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Story.id, Story.created_at).where(
            Story.email.is_not(None), Story.receipt_sent_at.is_(None), Story.created_at <= now - grace,
            Story.created_at > now - max_age).order_by(Story.id).limit(20 * limit))
    due = []
    for story_id, created_at in rows:
        created = created_at.replace(tzinfo=dt.timezone.utc) if created_at.tzinfo is None else created_at
        age, mark = now - created, grace
        while mark * 2 <= age:
            mark *= 2
        if age - mark < every:
            due.append(story_id)
    return due[:limit]


def send_receipt(story_id: int) -> bool:
    """Send the story's receipt once; False when already sent, deleted, or there is no address."""
    if not _claim(story_id):
        return False
    story = db.session.get(Story, story_id)
    if story is None or not story.email:
        return False
    token = secrets.token_urlsafe(32)
    story.email_token_hash = token_hash(token)
    db.session.flush()
    transmit(build(story, token))
    log.info("story receipt sent for story %s", story.id)
    return True
