"""Staff log-in: argon2id hashes (rehashed when parameters change), lockout with a growing delay, the same work for
unknown emails, a new session id at every log-in, cookie flags, log-out, session lifetime and safe redirects."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest
from flask import Flask

from actionkit import create_app
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.staff import passwords, services
from actionkit.staff.auth import LOGIN_AT
from actionkit.staff.views import LOGIN_FAILED
from actionkit.staff.models import AuditEntry, LoginThrottle, Role, StaffUser
from tests.conftest import PG_URL, _config
from tests.staff.helpers import FAST_HASH, PASSWORD, login, make_staff


def _reload(user_id: int) -> StaffUser:
    db.session.expire_all()
    user = db.session.get(StaffUser, user_id)
    assert user is not None
    return user


def test_good_login_opens_the_dashboard(app: Flask) -> None:
    user = make_staff(Role.EDITOR)
    client = app.test_client()
    resp = login(client, "  Editor@Example.org ")
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200 and "editor@example.org" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    user = _reload(user.id)
    assert user.password_hash.startswith("$argon2id$")
    assert user.last_login_at is not None and user.failed_logins == 0
    assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "staff.login")).actor_id == user.id


def test_bad_password_and_unknown_email_get_the_same_answer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_staff(Role.EDITOR)
    hashes: list[str] = []
    real_verify = passwords.PasswordHasher.verify

    def counting(self, hash_, password):  # type: ignore[no-untyped-def]
        hashes.append(hash_)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", counting)
    client = app.test_client()
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    for resp in (wrong, unknown):
        assert LOGIN_FAILED in resp.get_data(as_text=True)
    # One argon2 verification each: an unknown email is checked against a dummy hash of the same cost.
    assert len(hashes) == 2 and hashes[0] == user.password_hash and hashes[1] != user.password_hash
    assert hashes[1].split("$")[3] == user.password_hash.split("$")[3]  # same m, t, p
    assert _reload(user.id).failed_logins == 1
    assert client.get("/staff/").status_code == 302


def test_lockout_grows_and_is_capped() -> None:
    delays = [services.lock_delay(n) for n in range(1, 14)]
    assert delays[:4] == [None] * 4
    minutes = [d.total_seconds() / 60 for d in delays[4:]]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def _attempt(client, email: str, password: str = PASSWORD, ip: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return client.post("/staff/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _masked(resp) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Status and page with the per-session CSRF token and the e-mail typed in masked."""
    html = re.sub(r'(id="csrf_token" name="csrf_token" type="hidden" value=")[^"]*"', r"\1CSRF",
                  resp.get_data(as_text=True))
    return resp.status_code, re.sub(r'(id="email" maxlength="255" name="email"[^>]*value=")[^"]*"', r"\1EMAIL", html)


def test_lockout_after_five_failures(app: Flask) -> None:
    """Failures from anywhere (here five clients) lock the account, with a growing delay; while it is locked
    a new browser is refused even with the right password, and nothing on the page says it is locked."""
    user = make_staff(Role.ADMIN)
    client = app.test_client()
    answers = [_masked(_attempt(client, user.email, "wrong password!", ip=f"192.0.2.{n}")) for n in range(1, 6)]
    assert len(set(answers)) == 1 and answers[0][0] == 401 and LOGIN_FAILED in answers[0][1]
    locked = _reload(user.id)
    assert locked.failed_logins == 5
    assert dt.timedelta(seconds=50) < services._aware(locked.locked_until) - utcnow() <= dt.timedelta(minutes=1)
    # While locked, even the right password is refused from a browser never seen, and the attempt does not count.
    refused = _attempt(client, user.email, ip="192.0.2.9")
    assert _masked(refused) == answers[0] and "locked" not in refused.get_data(as_text=True)
    assert _reload(user.id).failed_logins == 5
    assert client.get("/staff/").status_code == 302

    # The lock ends; the next failure locks for twice as long.
    _reload(user.id).locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    _attempt(client, user.email, "wrong password!", ip="192.0.2.10")
    again = _reload(user.id)
    assert again.failed_logins == 6
    assert dt.timedelta(seconds=110) < services._aware(again.locked_until) - utcnow() <= dt.timedelta(minutes=2)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "staff.lockout")) == 2

    # After the lock, the right password works and resets the count.
    _reload(user.id).locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert _attempt(client, user.email, ip="192.0.2.11").status_code == 302
    assert _reload(user.id).failed_logins == 0


def test_every_failed_login_gets_the_same_answer(app: Flask) -> None:
    """Issue #11 item 8: wrong password, unknown e-mail, locked account (right or wrong password), inactive
    account and a paused client all get the same status and page."""
    make_staff(Role.EDITOR)
    make_staff(Role.ADMIN, "gone@example.org", active=False)
    locked = make_staff(Role.VIEWER)
    locked.locked_until, locked.failed_logins = utcnow() + dt.timedelta(minutes=30), 9
    db.session.commit()
    client = app.test_client()
    answers = {
        "wrong password": _attempt(client, "editor@example.org", "wrong password!", ip="198.51.100.1"),
        "unknown": _attempt(client, "nobody@example.org", "wrong password!", ip="198.51.100.2"),
        "locked, right password": _attempt(client, "viewer@example.org", ip="198.51.100.3"),
        "locked, wrong password": _attempt(client, "viewer@example.org", "wrong password!", ip="198.51.100.4"),
        "inactive": _attempt(client, "gone@example.org", ip="198.51.100.5"),
    }
    for _ in range(services.THROTTLE_FREE):
        _attempt(client, "editor@example.org", "wrong password!", ip="198.51.100.6")
    answers["paused, right password"] = _attempt(client, "editor@example.org", ip="198.51.100.6")
    masked = {name: _masked(resp) for name, resp in answers.items()}
    assert len(set(masked.values())) == 1, {k: v[1][-600:] for k, v in masked.items()}
    assert masked["unknown"][0] == 401 and LOGIN_FAILED in masked["unknown"][1]


def test_each_client_is_slowed_on_each_account_without_slowing_others(app: Flask) -> None:
    """A growing pause per client and account name: the guesser waits longer and longer; the account's owner,
    elsewhere, is not slowed, and the guesser is not slowed on other accounts."""
    user = make_staff(Role.EDITOR)
    make_staff(Role.VIEWER)
    client = app.test_client()
    guesser = "203.0.113.66"
    for _ in range(services.THROTTLE_FREE):
        assert _attempt(client, user.email, "wrong password!", ip=guesser).status_code == 401
    key = services._throttle_key(services._crypto().lookup_hash(guesser, "staff-login-client")[:32], user.email)
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    assert row.failures == services.THROTTLE_FREE
    first_pause = services._aware(row.blocked_until) - utcnow()
    assert dt.timedelta(0) < first_pause <= services.THROTTLE_FIRST
    # Paused: the right password from the guesser's client is refused (and the pause does not grow) …
    assert _attempt(client, user.email, ip=guesser).status_code == 401
    assert db.session.get(LoginThrottle, key, populate_existing=True).failures == services.THROTTLE_FREE
    # … while the owner logs in from elsewhere, and the guesser may still try another account.
    assert _attempt(app.test_client(), user.email, ip="198.51.100.20").status_code == 302
    assert _attempt(app.test_client(), "viewer@example.org", ip=guesser).status_code == 302
    # Each further failure doubles the pause, up to THROTTLE_MAX.
    delays = [services.throttle_delay(n) for n in range(services.THROTTLE_FREE + 12)]
    assert delays[:services.THROTTLE_FREE] == [None] * services.THROTTLE_FREE
    assert delays[services.THROTTLE_FREE + 1] == 2 * delays[services.THROTTLE_FREE]
    assert delays[-1] == services.THROTTLE_MAX
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    row.blocked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    _attempt(client, user.email, "wrong password!", ip=guesser)
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    assert services._aware(row.blocked_until) - utcnow() > first_pause
    # Once the pause is over, the right password works and the slate is clean.
    row.blocked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert _attempt(client, user.email, ip=guesser).status_code == 302
    assert db.session.get(LoginThrottle, key, populate_existing=True) is None


def test_a_stranger_cannot_keep_a_staff_member_locked_out(app: Flask) -> None:
    """Issue #11 item 8: the lockout a stranger triggers (one try an hour keeps it on) is passed by the right
    password from a browser that logged in to the account before; not by a new browser, another account's
    browser or a forged cookie; and a password change forgets the old browsers."""
    admin = make_staff(Role.ADMIN)
    make_staff(Role.VIEWER)
    own = app.test_client()
    assert _attempt(own, admin.email, ip="198.51.100.7").status_code == 302
    assert own.get_cookie("staff_device", path="/staff") is not None
    own.post("/staff/logout")
    colleague = app.test_client()
    assert _attempt(colleague, "viewer@example.org", ip="198.51.100.8").status_code == 302
    colleague.post("/staff/logout")

    stranger = app.test_client()
    for n in range(6):
        _attempt(stranger, admin.email, "wrong password!", ip=f"203.0.113.{n}")
    for _ in range(services.THROTTLE_FREE):  # also from the admin's own network (an office NAT, a café)
        _attempt(stranger, admin.email, "wrong password!", ip="198.51.100.7")
    assert services.is_locked(_reload(admin.id))

    assert _attempt(app.test_client(), admin.email, ip="198.51.100.9").status_code == 401  # a new browser
    assert _attempt(colleague, admin.email, ip="198.51.100.8").status_code == 401  # another account's browser
    forged = app.test_client()
    forged.set_cookie("staff_device", own.get_cookie("staff_device", path="/staff").value[:-3] + "abc",
                      path="/staff")
    assert _attempt(forged, admin.email, ip="198.51.100.10").status_code == 401
    assert _attempt(own, admin.email, "wrong password!", ip="198.51.100.7").status_code == 401  # still a password
    assert _attempt(own, admin.email, ip="198.51.100.7").status_code == 302  # the admin's own browser gets in
    assert own.get("/staff/", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200

    old_cookie = own.get_cookie("staff_device", path="/staff").value
    services.set_password(_reload(admin.id), "a brand new passphrase")
    user = _reload(admin.id)
    user.locked_until, user.failed_logins = utcnow() + dt.timedelta(minutes=30), 9
    db.session.commit()
    assert not services.known_device(_reload(admin.id), old_cookie)


def test_concurrent_style_failures_each_count(app: Flask) -> None:
    """Failures are counted with an UPDATE … + 1, so parallel attempts cannot share one count."""
    user = make_staff(Role.VIEWER)
    for _ in range(3):
        services.authenticate(user.email, "wrong password!")
    db.session.commit()
    assert _reload(user.id).failed_logins == 3


def test_inactive_accounts_cannot_log_in(app: Flask) -> None:
    make_staff(Role.ADMIN, "gone@example.org", active=False)
    assert login(app.test_client(), "gone@example.org").status_code == 401


def test_login_rotates_the_session(app: Flask) -> None:
    user = make_staff(Role.EDITOR)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker before log-in"
    nonce_before = _reload(user.id).session_nonce
    login(client, user.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == f"{user.id}:{_reload(user.id).session_nonce}"
    assert _reload(user.id).session_nonce != nonce_before

    # A copy of the cookie (stolen, or left on another machine) dies when the account logs in again…
    stolen = app.test_client()
    with client.session_transaction() as sess, stolen.session_transaction() as copy:
        copy.update(sess)
    assert stolen.get("/staff/").status_code == 200
    other = app.test_client()
    login(other, user.email)
    assert stolen.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302
    assert other.get("/staff/").status_code == 200

    # … and at log-out.
    with other.session_transaction() as sess, stolen.session_transaction() as copy:
        copy.clear()
        copy.update(sess)
    assert other.post("/staff/logout").headers["Location"] == "/staff/login"
    assert other.get("/staff/").status_code == 302
    assert stolen.get("/staff/").status_code == 302


def test_logout_is_post_only(app: Flask) -> None:
    make_staff(Role.VIEWER)
    client = app.test_client()
    login(client, "viewer@example.org")
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff/").status_code == 200


def test_session_ends_after_its_lifetime(app: Flask) -> None:
    make_staff(Role.VIEWER)
    client = app.test_client()
    login(client, "viewer@example.org")
    with client.session_transaction() as sess:
        sess[LOGIN_AT] = time.time() - 13 * 3600
    resp = client.get("/staff/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("target,expected", [
    ("/staff/campaigns/", "/staff/campaigns/"),
    ("https://evil.example/staff/", "/staff/"),
    ("//evil.example/staff/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("/act/somewhere", "/staff/"),
    ("/staff/\r\nSet-Cookie: session=stolen", "/staff/"),  # CR/LF used to reach the Location header: a 500
    ("/staff/campaigns/\n", "/staff/"),
    ("/staff/\x00", "/staff/"),
    ("/staff/\tcampaigns", "/staff/"),
])
def test_next_only_leads_to_staff_pages(app: Flask, target: str, expected: str) -> None:
    make_staff(Role.ADMIN)
    resp = login(app.test_client(), "admin@example.org", next=target)
    assert resp.headers["Location"] == expected


def test_anonymous_is_sent_to_login_and_back(app: Flask) -> None:
    make_staff(Role.EDITOR)
    client = app.test_client()
    resp = client.get("/staff/officials/")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/staff/login?next=")
    form = client.get(location).get_data(as_text=True)
    assert 'value="/staff/officials/"' in form
    assert login(client, "editor@example.org", next="/staff/officials/").headers["Location"] == "/staff/officials/"


def test_password_is_rehashed_when_parameters_change(app: Flask) -> None:
    app.config["PASSWORD_HASH"] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    user = services.create_user("old@example.org", Role.VIEWER, PASSWORD)
    db.session.commit()
    old_hash = user.password_hash
    assert "m=1024,t=1,p=1" in old_hash
    app.config["PASSWORD_HASH"] = {"time_cost": 2, "memory_cost": 2048, "parallelism": 1}
    assert login(app.test_client(), "old@example.org").status_code == 302
    new_hash = _reload(user.id).password_hash
    assert new_hash != old_hash and "m=2048,t=2,p=1" in new_hash
    assert passwords.verify(new_hash, PASSWORD)


def test_default_parameters_are_argon2id_owasp() -> None:
    app = Flask(__name__)
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_login_rate_limit(app: Flask) -> None:
    make_staff(Role.VIEWER)
    app.config["STAFF_LOGIN_RATE_LIMIT"] = "3/minute"
    client = app.test_client()
    codes = [login(client, "viewer@example.org", "wrong password!").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_cookie_flags_in_the_embedded_demo(app: Flask) -> None:
    make_staff(Role.VIEWER)
    cookie = login(app.test_client(), "viewer@example.org").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.fixture
def production_app(migrated_database: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app configured as in production (not embedded): secure cookies, HSTS."""
    if PG_URL:
        pytest.skip("uses a private SQLite copy")
    target = tmp_path / "prod.sqlite"
    shutil.copyfile(migrated_database, target)
    cfg = _config(f"sqlite:///{target}", tmp_path / "instance", EMBEDDED=False,
                  MAIL={"backend": "file", "outbox": str(tmp_path / "outbox"), "from_address": "letters@example.org"},
                  PASSWORD_HASH=dict(FAST_HASH), PUBLIC_URL="https://act.example.org")
    prod = create_app(cfg)
    with prod.app_context():
        yield prod
        db.session.remove()
        db.engine.dispose()


def test_cookie_flags_in_production(production_app: Flask) -> None:
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    services.create_user("admin@example.org", Role.ADMIN, PASSWORD)
    db.session.commit()
    client = production_app.test_client()
    resp = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD},
                       base_url="https://localhost")
    assert resp.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}
    cookie = cookies["session"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Expires" not in cookie  # a browser-session cookie; the server also ends it after 12 hours
    device = cookies["staff_device"]  # the known-browser mark: staff pages only, never readable by scripts
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/staff"):
        assert flag in device
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" in resp.headers
