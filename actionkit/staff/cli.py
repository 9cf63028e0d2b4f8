"""`flask staff …`: create staff accounts, list them, set a password; and the demo's admin log-in."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click
from flask import current_app
from flask.cli import AppGroup

from actionkit.extensions import db
from actionkit.staff import passwords, services
from actionkit.staff.models import Role

staff_cli = AppGroup("staff", help="Staff accounts: create, list, set-password.")


def _password(generate: bool) -> tuple[str, bool]:
    """A generated password (to print once), or one typed twice at a hidden prompt."""
    if generate:
        return passwords.generate_password(), True
    while True:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            passwords.check_policy(password)
        except passwords.PasswordPolicyError as exc:
            click.echo(str(exc), err=True)
            continue
        return password, False


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="What the account may do.")
@click.option("--name", default="", help="Display name.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once instead of prompting.")
def create_command(email: str, role: str, name: str, generate: bool) -> None:
    """Create a staff account (password prompted, or generated with --generate)."""
    if services.find_user(email) is not None:
        raise click.ClickException(f"{services.normalise_email(email)} already has an account; "
                                   "use `flask staff set-password` to change its password.")
    password, generated = _password(generate)
    try:
        user = services.create_user(email, role, password, name=name)
    except services.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({user.role.value})")
    if generated:
        click.echo(f"password (shown once): {password}")


@staff_cli.command("list")
def list_command() -> None:
    """List staff accounts with role, status and last log-in."""
    users = services.list_users()
    for user in users:
        status = "active" if user.active else "inactive"
        if services.is_locked(user):
            status += ", locked"
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        click.echo(f"{user.email:40} {user.role.value:7} {status:17} last log-in {last}")
    click.echo(f"{len(users)} accounts")


@staff_cli.command("set-password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="Generate a password and print it once instead of prompting.")
def set_password_command(email: str, generate: bool) -> None:
    """Set an account's password (also unlocks it and ends its sessions)."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"no staff account {services.normalise_email(email)}")
    password, generated = _password(generate)
    try:
        services.set_password(user, password)
    except services.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"password set for {user.email}; its sessions are logged out")
    if generated:
        click.echo(f"password (shown once): {password}")


def ensure_demo_admin(echo: Callable[[str], Any] = click.echo) -> bool:
    """For `make demo`: create admin@example.org once, with a generated password kept in
    instance/demo-admin-password, and print the log-in; later runs change nothing. Returns True if created."""
    instance = Path(current_app.instance_path)
    user, password = services.demo_admin(instance)
    if password is None:
        echo(f"demo staff log-in: {user.email} (password in {instance / services.DEMO_PASSWORD_FILE})")
        return False
    db.session.commit()
    echo(f"demo staff log-in created: /staff/login  {user.email} / {password}  "
         f"(kept in instance/{services.DEMO_PASSWORD_FILE})")
    return True


@staff_cli.command("demo-admin")
def demo_admin_command() -> None:
    """Embedded demo only: make sure admin@example.org exists and print where its password is."""
    try:
        ensure_demo_admin()
    except services.StaffError as exc:
        raise click.ClickException(str(exc)) from None
