"""The demo runner starts the local stand-ins (geocoder, CWC) beside web, worker and beat."""
from __future__ import annotations

from typing import Any

from actionkit import demo_runner


class _Exited:
    """A process that has already exited (so the runner stops at once)."""

    def __init__(self, cmd: list[str], **kwargs: Any) -> None:
        self.cmd, self.pid, self.returncode = cmd, 999999, 0

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def send_signal(self, sig: int) -> None:
        pass


def test_demo_runs_the_cwc_stand_in_and_points_the_app_at_it(monkeypatch):
    started: list[list[str]] = []
    monkeypatch.setattr(demo_runner.subprocess, "Popen", lambda cmd, **kw: started.append(cmd) or _Exited(cmd))
    monkeypatch.setattr(demo_runner.os, "killpg", lambda *a: None)
    monkeypatch.setattr(demo_runner.signal, "signal", lambda *a: None)
    for name in ("ACTIONKIT_CWC__house_url", "ACTIONKIT_CWC__api_key", "ACTIONKIT_CWC__delivery_agent",
                 "ACTIONKIT_GEOCODER__census_url", "ACTIONKIT_LOB__api_key", "ACTIONKIT_LOB__base_url",
                 "ACTIONKIT_FAX__url", "ACTIONKIT_FAX__secret", "ACTIONKIT_LOB__webhook_secret",
                 "ACTIONKIT_LOB__from_name", "ACTIONKIT_LOB__from_address"):
        monkeypatch.delenv(name, raising=False)
    demo_runner.main(["--cwc-port", "18091", "--lob-port", "18092"])
    assert any(cmd[1:3] == ["-m", "actionkit.delivery.fake_lob"] and "18092" in cmd for cmd in started)
    assert demo_runner.os.environ["ACTIONKIT_FAX__url"] == "http://127.0.0.1:18092/fax"
    assert any(cmd[1:3] == ["-m", "actionkit.delivery.fake_cwc"] and "18091" in cmd for cmd in started)
    assert demo_runner.os.environ["ACTIONKIT_CWC__house_url"] == "http://127.0.0.1:18091"
    assert demo_runner.os.environ["ACTIONKIT_CWC__delivery_agent"] == demo_runner.DEMO_CWC["delivery_agent"]
