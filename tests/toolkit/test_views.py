"""The staff toolkit page of a campaign (consent box, embed origins, share image), the share card and the
preview metadata on the campaign page, and the embedded action's framing rules and cookies."""
from __future__ import annotations

import io
import re

import pytest
from flask import g
from PIL import Image

from actionkit.extensions import db
from actionkit.staff.models import AuditEntry, Role
from actionkit.toolkit import images, services
from tests.factories import make_campaign
from tests.staff.helpers import login_as


def png(width: int = 1200, height: int = 630, mode: str = "RGB", fmt: str = "PNG", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 40, 40) if mode == "RGB" else None).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize("text, expected", [
    ("https://www.example.org", ["https://www.example.org"]),
    ("HTTPS://Example.org/\nhttps://example.org\n\nhttps://partner.example.net:8443",
     ["https://example.org", "https://partner.example.net:8443"]),
    ("https://example.org:443", ["https://example.org"]),
])
def test_embed_origins_are_normalised(text, expected):
    assert services.parse_origins(text) == expected


@pytest.mark.parametrize("text, message", [
    ("http://example.org", "only https://"),
    ("https://example.org/page", "give just the site"),
    ("https://*.example.org", "give just the site"),
    ("https://user@example.org", "give just the site"),
    ("https://10.0.0.1", "not an IP address"),
    ("javascript:alert(1)", "only https://"),
    ("example.org", "only https://"),
])
def test_embed_settings_accept_only_https_origins(text, message):
    with pytest.raises(services.ToolkitError, match=message):
        services.parse_origins(text)


def test_uploads_are_validated_and_reencoded():
    jpeg = Image.new("RGB", (1600, 900))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make: metadata must not survive
    buf = io.BytesIO()
    jpeg.save(buf, "JPEG", exif=exif.tobytes())
    data, mime = images.reencode(buf.getvalue())
    assert mime == "image/jpeg" and b"SecretCam" not in data
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == (1120, 630)
    assert images.reencode(png(mode="RGBA"))[1] == "image/png"
    assert images.reencode(png(fmt="WEBP"))[1] == "image/jpeg"
    for bad, why in [(b"", "empty"), (b"GIF89a" + b"\0" * 100, "PNG, JPEG or WebP"),
                     (png(fmt="GIF"), "PNG, JPEG or WebP"), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "PNG"),
                     (png(40, 40), "too small"), (b"\x89PNG" + b"\0" * (images.MAX_UPLOAD_BYTES + 1), "larger")]:
        with pytest.raises(images.ImageRejected, match=why):
            images.reencode(bad)


def test_editor_saves_toolkit_settings_and_a_bad_upload_loses_nothing(app, client):
    campaign = make_campaign(slug="share-me")
    db.session.commit()
    editor = login_as(client, Role.EDITOR)
    url = f"/staff/toolkit/campaigns/{campaign.id}"
    page = client.get(url)
    assert page.status_code == 200 and 'id="embed-none"' in page.get_data(as_text=True)
    assert "/act/share-me?source=whatsapp" in page.get_data(as_text=True)
    resp = client.post(url, data={"embed_origins": "https://partner.example.org", "ask_consent": "",
                                  "share_image": (io.BytesIO(b"not an image"), "card.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "Upload a PNG, JPEG or WebP image." in resp.get_data(as_text=True)
    assert "https://partner.example.org" in resp.get_data(as_text=True)  # what was typed is still there
    db.session.expire_all()
    assert campaign.embed_origins is None and campaign.ask_consent is True
    resp = client.post(url, data={"embed_origins": "http://partner.example.org"})
    assert resp.status_code == 422 and "only https:// sites" in resp.get_data(as_text=True)
    resp = client.post(url, data={"embed_origins": "https://partner.example.org", "ask_consent": "",
                                  "share_image": (io.BytesIO(png()), "card.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    db.session.expire_all()
    assert campaign.embed_origins == ["https://partner.example.org"] and campaign.ask_consent is False
    assert campaign.share_image_type == "image/jpeg"
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "campaign.toolkit"))
    assert entry.actor_id == editor.id and set(entry.details["changed"]) == {"ask_consent", "embed_origins",
                                                                              "share_image"}
    page = client.get(url).get_data(as_text=True)
    assert "/act/share-me/embed?source=embed" in page and "actionkit:height" in page


def test_viewers_cannot_change_toolkit_settings(app, client):
    campaign = make_campaign()
    db.session.commit()
    login_as(client, Role.VIEWER)
    assert client.post(f"/staff/toolkit/campaigns/{campaign.id}", data={"embed_origins": ""}).status_code == 403


def test_campaign_page_has_a_preview_card(app, client):
    campaign = make_campaign(slug="card-me", title="End 287(g) now")
    db.session.commit()
    html = client.get("/act/card-me").get_data(as_text=True)
    meta = dict(re.findall(r'<meta (?:property|name)="((?:og|twitter):[^"]+)" content="([^"]*)"', html))
    assert meta["og:title"] == meta["twitter:title"] == "End 287(g) now"
    assert meta["og:description"] == "Ask your officials to end 287(g)."
    assert meta["twitter:card"] == "summary_large_image" and meta["og:url"].endswith("/act/card-me")
    card = meta["og:image"]
    assert card.startswith("http://localhost/act/card-me/card")
    resp = client.get(card.removeprefix("http://localhost"))
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    with Image.open(io.BytesIO(resp.data)) as image:
        assert image.size == images.CARD_SIZE
    campaign.share_image, campaign.share_image_type = images.reencode(png())
    db.session.commit()
    assert client.get("/act/card-me/card").mimetype == "image/jpeg"
    # Share links: plain links, each tagged with its own source code; no third-party script.
    assert "https://wa.me/?text=" in html and "source%3Dshare-whatsapp" in html
    assert 'id="share-sms"' in html and 'id="share-email"' in html and 'id="share-copy"' in html
    assert 'id="share-native"' in html and re.search(r"/static/js/share(\.[0-9a-f]+)?\.js", html)


def test_draft_campaign_card_is_not_public(app, client):
    from actionkit.campaigns.models import CampaignStatus

    make_campaign(slug="drafty", status=CampaignStatus.DRAFT)
    db.session.commit()
    assert client.get("/act/drafty/card").status_code == 404


def test_embed_is_framed_only_by_the_listed_origins(app, client):
    campaign = make_campaign(slug="embed-me")
    db.session.commit()
    resp = client.get("/act/embed-me/embed")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]  # no sites listed yet
    assert resp.headers["X-Frame-Options"] == "DENY"
    campaign.embed_origins = ["https://partner.example.org"]
    db.session.commit()
    resp = client.get("/act/embed-me/embed?source=embed")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "frame-ancestors https://partner.example.org;" in resp.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in resp.headers
    assert 'class="supporter embedded"' in html and "/act/embed-me?embed=1" in html  # the form stays embedded
    assert 'data-origins="https://partner.example.org"' in html
    assert re.search(r"/static/js/embed(\.[0-9a-f]+)?\.js", html)
    assert 'name="source"' in html and 'value="embed"' in html
    # The main site keeps refusing frames, and its own cookie settings.
    main = client.get("/act/embed-me")
    assert "frame-ancestors 'none'" in main.headers["Content-Security-Policy"]
    assert main.headers["X-Frame-Options"] == "DENY"


def test_embedded_session_cookie_is_cross_site_and_the_main_one_is_not(app, client):
    campaign = make_campaign(slug="embed-cookie")
    campaign.embed_origins = ["https://partner.example.org"]
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True  # the CSRF token lives in the session: a cookie is set
    [embedded] = [c for c in client.get("/act/embed-cookie/embed").headers.getlist("Set-Cookie")
                  if c.startswith("session")]
    assert embedded.startswith("session_embed=")
    assert "SameSite=None" in embedded and "Secure" in embedded and "Partitioned" in embedded
    g.pop("csrf_token", None)  # Flask-WTF keeps the token on g, which this test's app context shares
    [main] = [c for c in app.test_client().get("/act/embed-cookie").headers.getlist("Set-Cookie")
              if c.startswith("session")]
    assert main.startswith("session=") and "SameSite=None" not in main and "Partitioned" not in main


def test_embedded_steps_set_their_cookies_cross_site(app, client, monkeypatch):
    """The letters' step cookie (Post/Redirect/Get) must come back from a frame on another site."""
    from flask import make_response

    from actionkit.toolkit import embedding

    with app.test_request_context("/act/x/letters?embed=1"):
        resp = make_response("ok")
        resp.set_cookie("actionkit_step", "sealed", httponly=True, samesite="Lax", path="/act/x")
        embedding._cross_site_cookies(resp)
        [cookie] = resp.headers.getlist("Set-Cookie")
        assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" not in cookie
    with app.test_request_context("/act/x/letters"):
        assert embedding.requested() is False
