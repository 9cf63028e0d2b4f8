"""No URL token and no client address reaches a log line: the development server's request log (the demo's)
and any record through the root handlers."""
from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request

import pytest
from flask import Flask
from werkzeug.serving import make_server

from actionkit.security import REDACTED

SECRET = "Zq8-secretTokenValue_1234567890"


def test_the_request_log_keeps_no_token_or_client_address(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (f"/act/some-campaign/thanks/{SECRET}?lang=es", f"/privacy/delete/{SECRET}",
                         f"/act/some-campaign/thanks/{SECRET}/status"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=10).read()
                except urllib.error.HTTPError:
                    pass  # 404: an unknown token is still logged as a request line
    finally:
        server.shutdown()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) == 3, lines
    assert all(SECRET not in line and "127.0.0.1" not in line for line in lines), lines
    assert f"/privacy/delete/{REDACTED}" in lines[1] and f"/thanks/{REDACTED}/status" in lines[2]


def test_root_handlers_redact_tokens_in_any_logger(app: Flask) -> None:
    root = logging.getLogger()
    record = logging.LogRecord("actionkit.x", logging.INFO, __file__, 1, "open %s", (f"/thanks/{SECRET}",), None)
    for handler in root.handlers:
        assert handler.filter(record)
    assert SECRET not in record.getMessage() and root.handlers
