"""`make demo`'s runner: links in e-mails the worker writes must point at the port the demo really serves."""
from __future__ import annotations

import os
from typing import Any

import pytest

from actionkit import demo_runner


class _Exited:
    """A stand-in process that has already exited, so the runner stops at once."""

    def __init__(self, cmd: list[str], **kwargs: Any) -> None:
        self.cmd = cmd
        self.env = dict(os.environ)
        self.pid = -1
        self.returncode = 0

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def send_signal(self, sig: int) -> None:
        pass


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[_Exited]:
    procs: list[_Exited] = []

    def popen(cmd: list[str], **kwargs: Any) -> _Exited:
        procs.append(_Exited(cmd, **kwargs))
        return procs[-1]

    monkeypatch.delenv("ACTIONKIT_PUBLIC_URL", raising=False)
    monkeypatch.setenv("ACTIONKIT_GEOCODER__census_url", "http://127.0.0.1:9/geocoder")
    monkeypatch.setattr(demo_runner.subprocess, "Popen", popen)
    monkeypatch.setattr(demo_runner.os, "killpg", lambda pid, sig: None)
    monkeypatch.setattr(demo_runner.signal, "signal", lambda *a: None)
    monkeypatch.setattr(demo_runner.time, "sleep", lambda s: None)
    return procs


def test_the_worker_builds_links_from_the_port_the_demo_serves(launched: list[_Exited]) -> None:
    demo_runner.main(["--port", "5123"])
    worker = next(p for p in launched if "worker" in p.cmd)
    web = next(p for p in launched if "run" in p.cmd)
    assert worker.env["ACTIONKIT_PUBLIC_URL"] == "http://127.0.0.1:5123"
    assert web.env["ACTIONKIT_PUBLIC_URL"] == "http://127.0.0.1:5123"


def test_a_configured_public_url_wins(launched: list[_Exited], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONKIT_PUBLIC_URL", "https://act.example.org")
    demo_runner.main(["--port", "5123"])
    assert all(p.env["ACTIONKIT_PUBLIC_URL"] == "https://act.example.org" for p in launched)


@pytest.mark.parametrize("host, expected", [("0.0.0.0", "http://127.0.0.1:8000"), ("::", "http://[::1]:8000"),
                                            ("192.168.1.5", "http://192.168.1.5:8000")])
def test_a_wildcard_host_is_shown_as_loopback(host: str, expected: str) -> None:
    assert demo_runner.public_url(host, 8000) == expected


def test_demo_runs_the_cwc_stand_in_and_points_the_app_at_it(monkeypatch):
    started: list[list[str]] = []
    monkeypatch.setattr(demo_runner.subprocess, "Popen", lambda cmd, **kw: started.append(cmd) or _Exited(cmd))
    monkeypatch.setattr(demo_runner.os, "killpg", lambda *a: None)
    monkeypatch.setattr(demo_runner.signal, "signal", lambda *a: None)
    monkeypatch.setattr(demo_runner.time, "sleep", lambda s: None)
    for name in ("ACTIONKIT_CWC__house_url", "ACTIONKIT_CWC__api_key", "ACTIONKIT_CWC__delivery_agent",
                 "ACTIONKIT_GEOCODER__census_url", "ACTIONKIT_LOB__api_key", "ACTIONKIT_LOB__base_url",
                 "ACTIONKIT_FAX__url", "ACTIONKIT_FAX__secret", "ACTIONKIT_LOB__webhook_secret",
                 "ACTIONKIT_LOB__from_name", "ACTIONKIT_LOB__from_address", "ACTIONKIT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    demo_runner.main(["--cwc-port", "18091", "--lob-port", "18092"])
    assert any(cmd[1:3] == ["-m", "actionkit.delivery.fake_lob"] and "18092" in cmd for cmd in started)
    assert demo_runner.os.environ["ACTIONKIT_FAX__url"] == "http://127.0.0.1:18092/fax"
    assert any(cmd[1:3] == ["-m", "actionkit.delivery.fake_cwc"] and "18091" in cmd for cmd in started)
    assert demo_runner.os.environ["ACTIONKIT_CWC__house_url"] == "http://127.0.0.1:18091"
    assert demo_runner.os.environ["ACTIONKIT_CWC__delivery_agent"] == demo_runner.DEMO_CWC["delivery_agent"]
