"""`flask staff create / list / set-password / demo-admin`."""
from __future__ import annotations

import re
import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from actionkit.extensions import db
from actionkit.staff import passwords, services
from actionkit.staff.cli import ensure_demo_admin
from actionkit.staff.models import Role
from tests.staff.helpers import fast_hashing, login


def test_create_with_a_prompted_password(app: Flask, runner: FlaskCliRunner) -> None:
    fast_hashing()
    result = runner.invoke(args=["staff", "create", "Ed@Example.org", "--role", "editor"],
                           input="too short\ntoo short\na long enough passphrase\na long enough passphrase\n")
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    assert "created ed@example.org (editor)" in result.output
    assert "a long enough passphrase" not in result.output
    user = services.find_user("ed@example.org")
    assert user is not None and user.role is Role.EDITOR
    assert passwords.verify(user.password_hash, "a long enough passphrase")


def test_create_with_a_generated_password_prints_it_once(app: Flask, runner: FlaskCliRunner) -> None:
    fast_hashing()
    result = runner.invoke(args=["staff", "create", "boss@example.org", "--role", "admin", "--generate",
                                 "--name", "Boss"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password \(shown once\): (\S+)", result.output).group(1)  # type: ignore[union-attr]
    assert login(app.test_client(), "boss@example.org", password).status_code == 302
    again = runner.invoke(args=["staff", "create", "boss@example.org", "--role", "viewer", "--generate"])
    assert again.exit_code != 0 and "already has an account" in again.output
    bad_role = runner.invoke(args=["staff", "create", "x@example.org", "--role", "root", "--generate"])
    assert bad_role.exit_code != 0


def test_list_and_set_password(app: Flask, runner: FlaskCliRunner) -> None:
    fast_hashing()
    runner.invoke(args=["staff", "create", "a@example.org", "--role", "admin", "--generate"])
    runner.invoke(args=["staff", "create", "v@example.org", "--role", "viewer", "--generate"])
    listing = runner.invoke(args=["staff", "list"])
    assert "a@example.org" in listing.output and "admin" in listing.output and "2 accounts" in listing.output
    nonce = services.find_user("v@example.org").session_nonce  # type: ignore[union-attr]
    result = runner.invoke(args=["staff", "set-password", "V@example.org"],
                           input="another good passphrase\nanother good passphrase\n")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = services.find_user("v@example.org")
    assert passwords.verify(user.password_hash, "another good passphrase")  # type: ignore[union-attr]
    assert user.session_nonce != nonce  # type: ignore[union-attr]
    missing = runner.invoke(args=["staff", "set-password", "nobody@example.org", "--generate"])
    assert missing.exit_code != 0 and "no staff account" in missing.output


def test_demo_admin_is_created_once(app: Flask, runner: FlaskCliRunner) -> None:
    fast_hashing()
    printed: list[str] = []
    assert ensure_demo_admin(printed.append) is True
    path = Path(app.instance_path) / "demo-admin-password"
    password = path.read_text().strip()
    assert password in printed[0] and "admin@example.org" in printed[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert login(app.test_client(), "admin@example.org", password).status_code == 302
    result = runner.invoke(args=["staff", "demo-admin"])
    assert result.exit_code == 0 and password not in result.output and "demo-admin-password" in result.output
    assert len(services.list_users()) == 1
    assert services.find_user("admin@example.org").role is Role.ADMIN  # type: ignore[union-attr]


def test_demo_admin_keeps_the_stored_password_for_a_new_database(app: Flask) -> None:
    fast_hashing()
    path = Path(app.instance_path) / "demo-admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("kept from the last demo run\n")
    assert ensure_demo_admin(lambda s: None) is True
    assert login(app.test_client(), "admin@example.org", "kept from the last demo run").status_code == 302


def test_demo_admin_refuses_outside_the_demo(app: Flask, runner: FlaskCliRunner) -> None:
    app.config["EMBEDDED"] = False
    result = runner.invoke(args=["staff", "demo-admin"])
    assert result.exit_code != 0 and "embedded demo" in result.output
    assert services.list_users() == []
