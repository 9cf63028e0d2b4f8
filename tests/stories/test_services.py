"""Stories services: consent bounds, hints, deletion codes, retention."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials.models import Division
from actionkit.stories import services
from actionkit.stories.models import Consent, Story, StoryStatus
from tests.factories import make_campaign, make_office


def _story(consent: Consent = Consent.ANONYMOUS, text: str = "We were afraid to call the police.", **kw):  # type: ignore[no-untyped-def]
    campaign = kw.pop("campaign", None) or make_campaign()
    return services.submit(campaign, text=text, consent=consent, language="es", **kw)


def test_story_text_name_and_email_are_encrypted_at_rest(app):  # type: ignore[no-untyped-def]
    story, _code = _story(name="Rosa", email="rosa@example.org", text="Mi historia secreta")
    db.session.commit()
    raw = db.session.execute(sa.text("SELECT text, name, email, delete_code_hash FROM stories")).one()
    assert "secreta" not in raw.text and "Rosa" not in raw.name and "rosa@" not in raw.email
    assert db.session.get(Story, story.id).text == "Mi historia secreta"


def test_hints_find_identifying_details(app):  # type: ignore[no-untyped-def]
    text = ("Call me at (601) 555-0199 or rosa.m@example.org. My A-number is A123456789. "
            "We live at 412 North State Street in Canton. I work at Peco Foods since 2019. "
            "Trabajo en Tyson Farms.")
    kinds = {(h.kind, h.excerpt) for h in services.hints(text)}
    assert ("phone number", "(601) 555-0199") in kinds
    assert ("email address", "rosa.m@example.org") in kinds
    assert ("A-number (alien registration number)", "A123456789") in kinds
    assert any(k == "street address" and "412 North State Street" in e for k, e in kinds)
    assert any(k == "workplace" and "Peco Foods" in e for k, e in kinds)
    assert any(k == "workplace" and "Tyson Farms" in e for k, e in kinds)
    assert services.hints("I was afraid and did not call anyone. It was 2019.") == []


def test_approval_never_exceeds_the_consent_given(app):  # type: ignore[no-untyped-def]
    anonymous, _ = _story(Consent.ANONYMOUS, name="Rosa")
    with pytest.raises(services.StoryError, match="went further|further than they agreed"):
        services.approve(anonymous, Consent.NAMED, "text", actor_id=None)
    private, _ = _story(Consent.PRIVATE)
    with pytest.raises(services.StoryError, match="cannot be published"):
        services.approve(private, Consent.ANONYMOUS, "text", actor_id=None)
    assert private.status is StoryStatus.NEW and anonymous.status is StoryStatus.NEW
    details = services.approve(anonymous, Consent.ANONYMOUS, "We were afraid […].", actor_id=None)
    assert anonymous.status is StoryStatus.APPROVED and anonymous.public_name is None
    assert details["redacted"] is True and details["level"] == "anonymous"


def test_named_story_shows_name_and_county_only_when_published_named(app):  # type: ignore[no-untyped-def]
    office = make_office(county="Madison")
    campaign = make_campaign()
    story, _ = _story(Consent.NAMED, name="Rosa", county_id=office.division_id, campaign=campaign)
    services.approve(story, Consent.ANONYMOUS, story.text, actor_id=None)
    assert (story.public_name, story.public_county) == (None, None)
    services.approve(story, Consent.NAMED, story.text, actor_id=None)
    assert story.public_name == "Rosa" and story.public_county == db.session.get(Division, office.division_id).name


def test_a_county_of_another_state_is_not_kept(app):  # type: ignore[no-untyped-def]
    other = make_office(county="Orleans", state="la")
    story, _ = _story(county_id=other.division_id)
    assert story.county_id is None


def test_deletion_code_is_forgiving_to_type_and_deletes_the_row(app):  # type: ignore[no-untyped-def]
    story, code = _story()
    db.session.commit()
    typed = code.lower().replace("-", " ")
    found = services.find_by_code(typed)
    assert found is not None and found.id == story.id
    assert services.find_by_code("AAAAA-AAAAA-AAAAA") is None and services.find_by_code("") is None
    services.delete_by_storyteller(found)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0


def test_retention_erases_unpublished_and_trims_published(app):  # type: ignore[no-untyped-def]
    old = utcnow() - dt.timedelta(days=40)
    office = make_office(county="Madison")
    new_story, _ = _story(text="unpublished")
    kept, _ = _story(text="kept by an admin")
    published, _ = _story(Consent.NAMED, text="original with 601-555-0199", name="Rosa",
                          county_id=office.division_id, email="r@example.org")
    anonymous, _ = _story(Consent.NAMED, text="original two", name="Luis", county_id=office.division_id)
    recent, _ = _story(text="recent")
    services.approve(published, Consent.NAMED, "original with […]", actor_id=None)
    services.approve(anonymous, Consent.ANONYMOUS, "original two", actor_id=None)
    services.set_kept(kept, True)
    for s in (new_story, kept, published, anonymous):
        s.created_at = old
    db.session.commit()
    new_id = new_story.id
    deleted, trimmed = services.purge_expired(dt.timedelta(days=30))
    db.session.commit()
    db.session.expire_all()
    assert (deleted, trimmed) == (1, 2)
    assert db.session.get(Story, new_id) is None
    assert db.session.get(Story, kept.id).text == "kept by an admin"
    assert db.session.get(Story, recent.id).text == "recent"
    p = db.session.get(Story, published.id)
    assert (p.text, p.email, p.published_text, p.name) == (None, None, "original with […]", "Rosa")
    a = db.session.get(Story, anonymous.id)
    assert (a.text, a.name, a.county_id, a.published_text) == (None, None, None, "original two")
    assert services.purge_expired(dt.timedelta(days=30)) == (0, 0)  # idempotent


def test_the_privacy_purge_task_runs_the_story_retention(app):  # type: ignore[no-untyped-def]
    from actionkit.privacy.tasks import purge_expired

    story, _ = _story()
    story.created_at = utcnow() - dt.timedelta(days=400)
    db.session.commit()
    purge_expired()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
