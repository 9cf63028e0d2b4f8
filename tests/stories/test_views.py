"""The story journey through the test client: write (Spanish, consent b) -> moderate (redact, approve) -> public
page -> delete with the code; moderation rules, bad input and rate limits."""
from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.staff.models import AuditEntry, Role
from actionkit.stories.models import Consent, Story, StoryStatus
from tests.factories import make_campaign, make_office
from tests.staff.helpers import login_as

STORY = ("Me robaron en Canton y no llamé a la policía.\nTenía miedo.\nMi teléfono es 601-555-0199. "
         "<script>alert(1)</script> https://example.org/x")


def _write(client, slug: str, **data: str):  # type: ignore[no-untyped-def]
    form = {"text": STORY, "consent": "anonymous", "name": "Rosa", "county": "", "lang": "es"}
    form.update(data)
    return client.post(f"/act/{slug}/story?lang=es", data=form)


def test_done_when_spanish_story_redacted_approved_shown_and_deleted(app, client, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    office = make_office(county="Madison")
    campaign = make_campaign(slug="end-287g")
    db.session.commit()
    page = client.get("/act/end-287g/story?lang=es").get_data(as_text=True)
    assert "estatus migratorio" in page and "Solo los organizadores pueden leer mi historia" in page

    resp = _write(client, "end-287g", county=str(office.division_id))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Gracias por su historia" in html
    assert resp.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="delete-code">([A-Z0-9-]+)<', html).group(1)
    story = db.session.scalar(sa.select(Story))
    assert (story.language, story.consent, story.status) == ("es", Consent.ANONYMOUS, StoryStatus.NEW)
    assert "601-555-0199" not in caplog.text and "Rosa" not in caplog.text and "robaron" not in caplog.text

    # Never public before moderation.
    assert "robaron" not in client.get("/act/end-287g/stories").get_data(as_text=True)

    staff = app.test_client()
    login_as(staff, Role.EDITOR)
    detail = staff.get(f"/staff/stories/{story.id}").get_data(as_text=True)
    assert "phone number" in detail and "601-555-0199" in detail
    assert 'value="named"' not in detail  # the level choice stops at what the writer allowed
    redacted = STORY.replace("601-555-0199", "[…]")
    resp = staff.post(f"/staff/stories/{story.id}/approve", data={"published_text": redacted, "level": "named"})
    assert resp.status_code == 422 and db.session.get(Story, story.id).status is StoryStatus.NEW
    resp = staff.post(f"/staff/stories/{story.id}/approve", data={"published_text": redacted, "level": "anonymous"})
    assert resp.status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "story.approve"))
    assert entry.details["redacted"] is True and "robaron" not in str(entry.details)

    public = client.get("/act/end-287g/stories?lang=es")
    text = public.get_data(as_text=True)
    assert public.headers["Cache-Control"].startswith("public")
    assert "Me robaron en Canton" in text and "[…]" in text and "601-555-0199" not in text
    assert "Rosa" not in text and "Madison" not in text and "Una persona que apoya la campaña" in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
    assert '<a href="https://example.org/x"' not in text  # links stay text
    assert client.get(f"/act/end-287g/stories/{story.id}").status_code == 200

    resp = client.post("/stories/delete?lang=es", data={"code": "ZZZZZ-ZZZZZ-ZZZZZ"})
    assert resp.status_code == 422 and "No encontramos" in resp.get_data(as_text=True)
    resp = client.post("/stories/delete?lang=es", data={"code": code.lower()})
    assert resp.status_code == 200 and "Su historia ha sido borrada" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
    assert "robaron" not in client.get("/act/end-287g/stories").get_data(as_text=True)
    assert client.get(f"/act/end-287g/stories/{story.id}").status_code == 404


def test_bad_input_is_refused_and_kept(app, client):  # type: ignore[no-untyped-def]
    make_campaign(slug="c1")
    db.session.commit()
    too_long = "a" * 5001
    resp = _write(client, "c1", text=too_long)
    assert resp.status_code == 422 and too_long[:5000] in resp.get_data(as_text=True)  # cut to the limit, never echoed whole
    resp = _write(client, "c1", consent="")
    assert resp.status_code == 422 and "Elija quién puede leer su historia" in resp.get_data(as_text=True)
    resp = _write(client, "c1", email="not-an-email")
    assert resp.status_code == 422 and "Me robaron" in resp.get_data(as_text=True)
    resp = _write(client, "c1", consent="everyone")
    assert resp.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0


def test_a_flood_is_rate_limited_without_losing_the_story(app, client):  # type: ignore[no-untyped-def]
    app.config["STORY_RATE_LIMIT"] = "2/hour"
    make_campaign(slug="c2")
    db.session.commit()
    assert _write(client, "c2").status_code == 200
    assert _write(client, "c2").status_code == 200
    resp = _write(client, "c2", text="Mi tercera historia, larga y escrita con cuidado.")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "Mi tercera historia, larga y escrita con cuidado." in html and "Su historia sigue aquí" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 2


def test_private_story_cannot_be_published_and_original_is_for_admins_after_moderation(app, client):  # type: ignore[no-untyped-def]
    make_campaign(slug="c3")
    db.session.commit()
    _write(client, "c3", consent="private")
    _write(client, "c3", consent="named", text="Una historia con nombre")
    private, named = db.session.scalars(sa.select(Story).order_by(Story.id)).all()
    editor = app.test_client()
    login_as(editor, Role.EDITOR)
    resp = editor.post(f"/staff/stories/{private.id}/approve", data={"published_text": "x", "level": "anonymous"})
    assert resp.status_code == 422 and db.session.get(Story, private.id).status is StoryStatus.NEW
    assert editor.post(f"/staff/stories/{named.id}/approve",
                       data={"published_text": "Una historia", "level": "named"}).status_code == 302
    assert "Una historia con nombre" not in editor.get(f"/staff/stories/{named.id}").get_data(as_text=True)
    admin = app.test_client()
    login_as(admin, Role.ADMIN)
    assert "Una historia con nombre" in admin.get(f"/staff/stories/{named.id}").get_data(as_text=True)
    assert editor.post(f"/staff/stories/{named.id}/keep").status_code == 403
    assert admin.post(f"/staff/stories/{named.id}/keep").status_code == 302
    assert editor.post(f"/staff/stories/{named.id}/feature").status_code == 302
    db.session.expire_all()
    story = db.session.get(Story, named.id)
    assert story.kept and story.featured
    campaign_page = client.get("/act/c3").get_data(as_text=True)
    assert "Una historia" in campaign_page and "Rosa" in campaign_page
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"story.approve", "story.keep", "story.feature"} <= actions
    viewer = app.test_client()
    login_as(viewer, Role.VIEWER)
    assert viewer.get("/staff/stories").status_code == 403


def test_an_email_gets_a_link_that_deletes_the_story_once(app, client):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from actionkit.stories import receipt

    make_campaign(slug="c4")
    db.session.commit()
    assert _write(client, "c4", email="rosa@example.org").status_code == 200
    story = db.session.scalar(sa.select(Story))
    assert receipt.send_receipt(story.id) is True
    db.session.commit()
    assert receipt.send_receipt(story.id) is False  # a second run sends nothing
    outbox = list(Path(app.config["MAIL"]["outbox"]).glob("story-*.eml"))
    assert len(outbox) == 1
    import email
    import email.policy

    message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    body = message.get_content()
    assert message["To"] == "rosa@example.org" and message["Subject"] == "Recibimos su historia"
    assert "robaron" not in body and "601-555-0199" not in body  # never the story itself
    link = re.search(r"http://\S+/stories/delete/(\S+)\?lang=es", body)
    page = client.get(f"/stories/delete/{link.group(1)}?lang=es")
    assert page.status_code == 200 and "Borrar mi historia" in page.get_data(as_text=True)
    assert client.get("/stories/delete/not-a-token").status_code == 404
    resp = client.post(f"/stories/delete/{link.group(1)}?lang=es")
    assert resp.status_code == 200 and "Su historia ha sido borrada" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
