"""Admin pages: staff accounts (create, change role, deactivate, reset, unlock), the audit log, retention."""
from __future__ import annotations

import datetime as dt
import re

from flask import Flask

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.staff import services
from actionkit.staff.models import AuditEntry, Role, StaffUser
from tests.staff.helpers import login, login_as, make_staff


def _user(email: str) -> StaffUser:
    db.session.expire_all()
    user = services.find_user(email)
    assert user is not None
    return user


def _actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_admin_creates_an_account_with_a_generated_password(app: Flask) -> None:
    client = app.test_client()
    admin = login_as(client, Role.ADMIN)
    resp = client.post("/staff/users", data={"email": "New.Editor@example.org", "name": "Nia", "role": "editor",
                                             "password": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "shown only this once" in html
    password = re.search(r'id="generated-password">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    user = _user("new.editor@example.org")
    assert user.role is Role.EDITOR and password not in user.password_hash
    assert login(app.test_client(), "new.editor@example.org", password).status_code == 302
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "staff.create",
                                                          AuditEntry.target_id == str(user.id)))
    assert entry.actor_id == admin.id and entry.details == {"role": "editor"}
    assert password not in str(entry.details)


def test_account_form_errors(app: Flask) -> None:
    client = app.test_client()
    login_as(client, Role.ADMIN)
    short = client.post("/staff/users", data={"email": "x@example.org", "role": "viewer", "password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
    taken = client.post("/staff/users", data={"email": "ADMIN@example.org", "role": "viewer", "password": ""})
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    bad_role = client.post("/staff/users", data={"email": "y@example.org", "role": "root", "password": ""})
    assert bad_role.status_code == 422
    assert services.find_user("x@example.org") is None and services.find_user("y@example.org") is None


def test_change_role_and_deactivate_end_the_users_session(app: Flask) -> None:
    admin_client, editor_client = app.test_client(), app.test_client()
    login_as(admin_client, Role.ADMIN)
    editor = login_as(editor_client, Role.EDITOR)
    prefix = f"u{editor.id}-"
    resp = admin_client.post(f"/staff/users/{editor.id}", data={prefix + "role": "viewer", prefix + "active": "y",
                                                                prefix + "save": "Save"})
    assert resp.status_code == 302
    assert _user("editor@example.org").role is Role.VIEWER
    assert editor_client.get("/staff/campaigns/").status_code == 403  # the new role applies at once

    admin_client.post(f"/staff/users/{editor.id}", data={prefix + "role": "viewer", prefix + "save": "Save"})
    assert _user("editor@example.org").active is False
    assert editor_client.get("/staff/").status_code == 302
    assert login(editor_client, "editor@example.org").status_code == 401
    assert _actions().count("staff.update") == 2


def test_admins_cannot_lock_themselves_out(app: Flask) -> None:
    client = app.test_client()
    admin = login_as(client, Role.ADMIN)
    prefix = f"u{admin.id}-"
    resp = client.post(f"/staff/users/{admin.id}", data={prefix + "role": "viewer", prefix + "active": "y",
                                                         prefix + "save": "Save"}, follow_redirects=True)
    assert "cannot change your own role" in resp.get_data(as_text=True)
    assert _user("admin@example.org").role is Role.ADMIN

    other = make_staff(Role.ADMIN, "second@example.org")
    with app.test_request_context():
        services.update_user(None, other, active=False)
        try:
            services.update_user(other, admin, role=Role.EDITOR)
        except services.StaffError as exc:
            assert "last active admin" in str(exc)
        else:
            raise AssertionError("the last admin was demoted")


def test_reset_password_and_unlock(app: Flask) -> None:
    client = app.test_client()
    login_as(client, Role.ADMIN)
    viewer = make_staff(Role.VIEWER)
    viewer.failed_logins, viewer.locked_until = 7, utcnow() + dt.timedelta(minutes=30)
    db.session.commit()
    page = client.get("/staff/users").get_data(as_text=True)
    assert "locked" in page
    prefix = f"u{viewer.id}-"
    client.post(f"/staff/users/{viewer.id}", data={prefix + "unlock": "Unlock"})
    assert _user("viewer@example.org").locked_until is None
    resp = client.post(f"/staff/users/{viewer.id}", data={prefix + "reset_password": "x"})
    password = re.search(r'id="generated-password">([^<]+)<', resp.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert login(app.test_client(), "viewer@example.org", password).status_code == 302
    assert {"staff.unlock", "staff.password"} <= set(_actions())


def test_own_password_change_keeps_this_session_and_ends_others(app: Flask) -> None:
    client, elsewhere = app.test_client(), app.test_client()
    login_as(client, Role.VIEWER)
    login(elsewhere, "viewer@example.org")
    with elsewhere.session_transaction() as sess, client.session_transaction() as mine:
        mine.update(sess)  # both clients now hold the newest session
    wrong = client.post("/staff/account", data={"current": "not it at all!", "new": "a much better passphrase",
                                                "confirm": "a much better passphrase"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    ok = client.post("/staff/account", data={"current": "correct horse battery staple",
                                             "new": "a much better passphrase", "confirm": "a much better passphrase"})
    assert ok.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 302
    assert login(app.test_client(), "viewer@example.org", "a much better passphrase").status_code == 302


def test_audit_log_page_lists_and_filters(app: Flask) -> None:
    client = app.test_client()
    admin = login_as(client, Role.ADMIN)
    services.audit(admin, "campaign.update", "campaign", 7, fields=["goal"])
    services.audit(None, "officials.import", "source", "sheriffs", created=0)
    db.session.commit()
    html = client.get("/staff/audit").get_data(as_text=True)
    assert "campaign.update" in html and "officials.import" in html and "admin@example.org" in html
    assert "system" in html
    only = client.get("/staff/audit?action=campaign").get_data(as_text=True)
    assert "campaign.update" in only and "<code>officials.import</code>" not in only


def test_retention_setting_is_validated_and_audited(app: Flask) -> None:
    client = app.test_client()
    admin = login_as(client, Role.ADMIN)
    assert 'value="30"' in client.get("/staff/settings").get_data(as_text=True)
    assert client.post("/staff/settings", data={"days": "0"}).status_code == 422
    assert client.post("/staff/settings", data={"days": "abc"}).status_code == 422
    assert client.post("/staff/settings", data={"days": "14"}).status_code == 302
    assert services.retention_days() == 14
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "settings.retention_days"))
    assert entry.actor_id == admin.id and entry.details == {"old": None, "new": 14}
    app.config["RETENTION_DAYS"] = 60  # the admins' setting wins over the environment default
    assert services.retention_days() == 14
