"""After a real submission, the raw database rows, the queued Celery messages and the logs hold no plaintext
e-mail, street, phone or name: personal data is encrypted at rest and tasks carry ids only."""
from __future__ import annotations

import base64
import json
import logging
import sqlite3

import pytest
import sqlalchemy as sa
from flask import Flask

from actionkit.extensions import db
from actionkit.letters.models import Action
from tests.letters.conftest import EMAIL, JACKSON, PHONE, Journey

SECRETS = (EMAIL, "ana.garcia", "400 High St", "400 HIGH ST", "High St", PHONE, "6015550142", "555-0142", "García")


def assert_clean(where: str, value: object) -> None:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} found in {where}: {text[:200]!r}"


def broker_messages(app: Flask) -> list[dict]:
    """Every message waiting in kombu's SQL broker, with its body decoded."""
    url = sa.make_url(app.config["CELERY"]["broker_url"].removeprefix("sqla+"))
    with sqlite3.connect(url.database) as conn:
        rows = conn.execute("SELECT payload FROM kombu_message").fetchall()
    messages = []
    for (payload,) in rows:
        envelope = json.loads(payload)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body).decode()
        messages.append({"raw": payload, "headers": envelope["headers"], "body": json.loads(body)})
    return messages


def test_no_personal_data_in_rows_messages_or_logs(journey: Journey, app: Flask,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    if not app.config["CELERY"]["broker_url"].startswith("sqla+sqlite"):
        pytest.skip("inspects the embedded SQLite broker")
    caplog.set_level(logging.DEBUG)
    resp = journey.complete(JACKSON, personal="Call me at 601-555-0142 about High St.")
    assert resp.status_code == 303
    action = db.session.scalar(db.select(Action))
    assert action.phone == PHONE and action.supporter.email == EMAIL  # readable through the app ...

    tables = sa.inspect(db.engine).get_table_names()
    assert {"supporters", "actions", "letters", "deliveries", "geocode_cache_entries"} <= set(tables)
    with db.engine.connect() as conn:  # ... but not in any raw row of any table
        for table in tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for column, value in row._mapping.items():
                    if value is not None:
                        assert_clean(f"{table}.{column}", value)

    messages = broker_messages(app)
    tasks = sorted(m["headers"]["task"] for m in messages)
    assert tasks.count("delivery.send") == sum(l.delivery.channel.value == "email" for l in action.letters) == 3
    assert "letters.send_confirmation" in tasks and "letters.process_submission" in tasks
    for message in messages:
        args = message["body"][0]
        assert all(isinstance(a, int) for a in args), args  # ids only
        assert_clean(f"broker message {message['headers']['task']}", message["raw"])
        assert_clean("broker message body", message["body"])

    for record in caplog.records:
        assert_clean(f"log {record.name}", record.getMessage())
    assert not any(journey.base + "/thanks/" in r.getMessage() for r in caplog.records)
