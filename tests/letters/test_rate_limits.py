"""Rate limits on the public forms: a room of 100 people on one network can act within ten minutes, a script
is stopped, and the 429 page says when to try again, keeps the language switch and keeps what was typed."""
from __future__ import annotations

import html as htmllib
import random
import re

import pytest
from flask import Flask

from actionkit.letters import guards
from tests.letters.conftest import JACKSON, Journey


class Clock:
    """Time as the rate limiter's in-memory storage sees it."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    import limits.storage.memory

    fake = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(guards, "time", fake)
    return fake


def test_the_default_lets_a_room_of_100_act_within_ten_minutes(app: Flask, journey: Journey, clock: Clock) -> None:
    assert app.config["PUBLIC_RATE_LIMIT"] == guards.DEFAULT_RATE_LIMIT
    rng = random.Random(11)
    start = clock.now
    # Each person: the form twice with a mistake, a language switch, the confirm step and two tries at signing.
    steps = ["find", "find", "find", "confirm", "sign", "sign"]
    events = sorted((rng.uniform(0, 540) + i * 8, person, step) for person in range(100)
                    for i, step in enumerate(steps))
    statuses = []
    for at, person, step in events:
        clock.now = start + at
        if step == "find":
            resp = journey.find(JACKSON, email=f"person{person}@", set_lang="es" if person % 3 == 0 else "")
        else:
            resp = journey.client.post(f"{journey.base}/{step}", data={"state": "x"}, headers=journey.headers)
        statuses.append(resp.status_code)
    assert clock.now - start <= 600
    assert 429 not in statuses and len(statuses) == 600


@pytest.mark.parametrize("posts, seconds, most", [(300, 60, 120), (700, 3600, 600)])
def test_the_default_still_stops_a_script(app: Flask, journey: Journey, clock: Clock, posts: int, seconds: int,
                                          most: int) -> None:
    start = clock.now
    accepted = 0
    for i in range(posts):
        clock.now = start + i * seconds / posts
        accepted += journey.find(JACKSON, email="bot@").status_code != 429
    assert accepted == most


def test_the_429_page_says_when_keeps_the_language_switch_and_what_was_typed(
        app: Flask, journey: Journey, clock: Clock) -> None:
    app.config["PUBLIC_RATE_LIMIT"] = "2/minute"
    clock.now = 1_900_000_020.0  # 40 s before the minute's window ends
    for _ in range(2):
        journey.find(JACKSON, email="bad")
    resp = journey.find(JACKSON, first_name="Ana María", street="400 High St")
    page = htmllib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    assert "Please wait a minute, then try again." in page
    assert 'id="lang-es"' in page and 'form="retry-form"' in page  # the language buttons re-send the form
    assert 'id="back-to-campaign"' in page and 'id="try-again"' in page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert fields["first_name"] == "Ana María" and fields["street"] == "400 High St" and fields["zip"] == "39201"

    spanish = journey.client.post(journey.base, data={**fields, "set_lang": "es"}, headers=journey.headers)
    page = htmllib.unescape(spanish.get_data(as_text=True))
    assert spanish.status_code == 429 and "Espere un minuto y vuelva a intentarlo." in page
    assert dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))["lang"] == "es"

    clock.now += 61
    again = journey.client.post(journey.base, data=fields, headers=journey.headers, follow_redirects=True)
    assert again.status_code == 200 and "Ana" in again.get_data(as_text=True)  # nothing typed was lost


def test_the_429_page_counts_minutes_when_the_wait_is_longer(app: Flask, journey: Journey, clock: Clock) -> None:
    app.config["PUBLIC_RATE_LIMIT"] = "1/hour"
    clock.now = 1_900_000_800.0
    journey.find(JACKSON, email="bad")
    resp = journey.find(JACKSON, email="bad")
    minutes = max(1, (int(resp.headers["Retry-After"]) + 30) // 60)
    assert resp.status_code == 429 and minutes > 1
    assert f"Please wait {minutes} minutes, then try again." in resp.get_data(as_text=True)
