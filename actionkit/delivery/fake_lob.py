"""A local stand-in for Lob's letters API and a fax provider, for tests and the demo.

    python -m actionkit.delivery.fake_lob --port 8092 [--api-key KEY] [--mode ok|500|timeout]

Lob part: POST /v1/letters (HTTP basic auth, the key as user name; JSON or form body) checks `to` and `from`
(name, address_line1, address_city, two-letter address_state, 5-digit or ZIP+4 address_zip), `file` (at most
10,000 characters), `color` and `use_type`, answers 422 with Lob's error shape otherwise, and with an
`Idempotency-Key` it already saw returns the first letter again (nothing is mailed twice).
Fax part: POST /fax accepts a Standard Webhooks-signed letter (secret given with --fax-secret) and answers 202;
a bad signature gets 401. Nothing is logged (bodies hold letters).
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MODES = ("ok", "500", "timeout")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def _address_errors(value: Any, name: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} is required"]
    errors = [f"{name}.{key} is required" for key in ("name", "address_line1", "address_city", "address_state",
                                                      "address_zip") if not str(value.get(key) or "").strip()]
    if value.get("address_state") and not re.fullmatch(r"[A-Z]{2}", str(value["address_state"])):
        errors.append(f"{name}.address_state must be a 2 letter state short-name code")
    if value.get("address_zip") and not _ZIP.match(str(value["address_zip"])):
        errors.append(f"{name}.address_zip must be in a valid zip or zip+4 format")
    if len(str(value.get("name") or "")) > 40:
        errors.append(f"{name}.name must be at most 40 characters")
    return errors


@dataclass
class FakeLob:
    api_key: str = "test_demo"
    fax_secret: Optional[str] = None
    mode: str = "ok"
    delay: float = 30.0
    host: str = "127.0.0.1"
    port: int = 0
    letters: dict[str, dict[str, Any]] = field(default_factory=dict)  # letter id -> request payload
    faxes: list[dict[str, Any]] = field(default_factory=list)
    fax_status: int = 202
    _keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> letter id
    requested: Counter[str] = field(default_factory=Counter)  # idempotency key -> valid create requests (retries)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError("mode must be one of " + ", ".join(MODES))
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeLob":
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if self.mode == "timeout":
            time.sleep(self.delay)
        if self.mode == "500":
            return 500, {"error": {"message": "Internal server error", "status_code": 500}}
        if path == "/fax":
            return self._fax(headers, body)
        if path != "/v1/letters":
            return 404, {"error": {"message": "not found", "status_code": 404}}
        auth = headers.get("authorization", "")
        try:
            user = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)[0]
        except ValueError:
            user = ""
        if user != self.api_key:
            return 401, {"error": {"message": "Your API key is not valid.", "status_code": 401}}
        try:
            payload = json.loads(body)
        except ValueError:
            return 422, {"error": {"message": "body must be JSON", "status_code": 422}}
        errors = _address_errors(payload.get("to"), "to") + _address_errors(payload.get("from"), "from")
        file = payload.get("file")
        if not isinstance(file, str) or not file.strip():
            errors.append("file is required")
        elif len(file) > 10000:
            errors.append("file must be at most 10000 characters")
        if not isinstance(payload.get("color"), bool):
            errors.append("color is required")
        if payload.get("use_type") not in ("marketing", "operational"):
            errors.append("use_type must be one of [marketing, operational]")
        if errors:
            return 422, {"error": {"message": "; ".join(errors), "status_code": 422}}
        key = headers.get("idempotency-key")
        with self._lock:
            self.requested[key or ""] += 1
            if key and key in self._keys:
                return 200, {"id": self._keys[key], "object": "letter"}
            letter_id = "ltr_" + secrets.token_hex(10)
            self.letters[letter_id] = payload
            if key:
                self._keys[key] = letter_id
        return 200, {"id": letter_id, "object": "letter"}

    def _fax(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if not self.fax_secret:
            return 404, {"error": "no fax secret configured"}
        try:
            letter = Webhook(self.fax_secret).verify(body, headers)
        except WebhookVerificationError:
            return 401, {"error": "bad signature"}
        if self.fax_status < 300:
            with self._lock:
                self.faxes.append(letter)
        return self.fax_status, {"accepted": self.fax_status < 300}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeLob/1.0"

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.server.fake.answer(self.path.split("?")[0], headers, body)  # type: ignore[attr-defined]
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: bodies hold letters."""


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--api-key", default="test_demo")
    parser.add_argument("--fax-secret", default=None, help="Standard Webhooks secret (whsec_...) of /fax")
    parser.add_argument("--mode", choices=MODES, default="ok")
    args = parser.parse_args(argv)
    fake = FakeLob(api_key=args.api_key, fax_secret=args.fax_secret, host=args.host, port=args.port, mode=args.mode)
    print(f"fake Lob and fax provider on {fake.url} (mode {args.mode}); Ctrl-C stops", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
