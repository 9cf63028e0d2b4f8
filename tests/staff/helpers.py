"""Staff accounts and log-ins for tests of /staff pages (imported by tests/campaigns, officials, delivery too)."""
from __future__ import annotations

from flask import current_app
from flask.testing import FlaskClient

from actionkit.extensions import db
from actionkit.staff import services
from actionkit.staff.models import Role, StaffUser

# argon2id at the smallest sensible cost: tests log in often; production parameters are tested separately.
FAST_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
PASSWORD = "correct horse battery staple"


def fast_hashing() -> None:
    current_app.config["PASSWORD_HASH"] = dict(FAST_HASH)
    current_app.config["STAFF_LOGIN_RATE_LIMIT"] = "1000/minute"


def make_staff(role: Role = Role.EDITOR, email: str | None = None, password: str = PASSWORD,
               active: bool = True) -> StaffUser:
    """A committed staff account (the test client's requests run in their own sessions)."""
    fast_hashing()
    user = services.create_user(email or f"{role.value}@example.org", role, password)
    user.active = active
    db.session.commit()
    return user


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/staff/login", data={"email": email, "password": password, **extra})


def login_as(client: FlaskClient, role: Role, email: str | None = None) -> StaffUser:
    """Create an account with the role and log the client in; fails loudly if the log-in does not work."""
    user = make_staff(role, email)
    resp = login(client, user.email)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return user
