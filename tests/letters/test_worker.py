"""Queue behaviour with a real worker process: a signature's deliveries and its confirmation e-mail go through
the broker as ids and are sent by the worker, and the thank-you page's JSON shows them sent."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import Flask

from tests.letters.conftest import JACKSON, Journey


def wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.services
def test_worker_sends_the_letters_and_the_confirmation(journey: Journey, app: Flask, worker_process) -> None:  # type: ignore[no-untyped-def]
    resp = journey.complete(JACKSON)
    assert resp.status_code == 303
    status_url = resp.headers["Location"].replace("?", "/status?")
    outbox = Path(app.config["MAIL"]["outbox"])

    def statuses() -> dict[str, int]:
        counts: dict[str, int] = {}
        for letter in journey.client.get(status_url).get_json()["letters"]:
            counts[letter["status"]] = counts.get(letter["status"], 0) + 1
        return counts

    # Hinds sheriff, state senator and representative have e-mail; Congress letters wait for a print batch.
    assert wait_for(lambda: statuses() == {"sent": 3, "print_queued": 3}), (
        statuses(), worker_process.log_path.read_text()[-3000:])
    assert wait_for(lambda: any(p.name.startswith("confirmation-") for p in outbox.glob("*.eml")))
    confirmation = next(p for p in outbox.glob("confirmation-*.eml")).read_text()
    assert "Hello Ana," in confirmation and re.search(r"/act/end-ice-detainers-ms/thanks/\S+", confirmation)
    letters = [p for p in outbox.glob("delivery-*.eml")]
    assert len(letters) == 3
