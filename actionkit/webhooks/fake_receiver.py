"""A stand-in for the organization's systems, for tests and the demo: a webhook receiver that verifies the
Standard Webhooks signature, and Action Network's person signup helper (POST /people/ with OSDI-API-Token,
answering like Action Network with the person's resource). It can be told to fail, to be slow or to redirect.

    python -m actionkit.webhooks.fake_receiver --port 8025 --secret whsec_... --api-key KEY
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


class FakeReceiver:
    """Serve on 127.0.0.1 in a thread; `received` lists what arrived: (path, headers, JSON body)."""

    def __init__(self, secret: str | None = None, api_key: str | None = None, port: int = 0) -> None:
        self.secret, self.api_key = secret, api_key
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.fail_next = 0  # answer the next N requests with HTTP 500
        self.delay = 0.0  # seconds before answering
        self.redirect_to: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.redirect_to:
                    return self._answer(302, {"error": "moved"}, location=receiver.redirect_to)
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    return self._answer(500, {"error": "try later"})
                if self.path.rstrip("/").endswith("/people"):
                    return self._action_network(headers, body)
                if receiver.secret:
                    try:
                        Webhook(receiver.secret).verify(body, headers)
                    except WebhookVerificationError:
                        return self._answer(401, {"error": "bad signature"})
                receiver.received.append((self.path, headers, json.loads(body)))
                self._answer(200, {"ok": True})

            def _action_network(self, headers: dict[str, str], body: str) -> None:
                if receiver.api_key and headers.get("osdi-api-token") != receiver.api_key:
                    return self._answer(401, {"error": "API Key invalid or not present"})
                data = json.loads(body)
                emails = (data.get("person") or {}).get("email_addresses") or []
                if not emails or not emails[0].get("address"):
                    return self._answer(400, {"error": "You must specify a valid person email address"})
                receiver.received.append((self.path, headers, data))
                self._answer(200, {"identifiers": ["action_network:fake-1"], "email_addresses": emails,
                                   "given_name": data["person"].get("given_name"),
                                   "_links": {"self": {"href": "https://actionnetwork.org/api/v2/people/fake-1"}}})

            def _answer(self, status: int, data: Any, location: str | None = None) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                if location:
                    self.send_header("location", location)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> "FakeReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--secret", help="whsec_ secret to verify signatures with")
    parser.add_argument("--api-key", help="the OSDI-API-Token Action Network's stand-in accepts")
    args = parser.parse_args()
    with FakeReceiver(args.secret, args.api_key, args.port) as fake:
        print(f"fake receiver on {fake.url} (webhooks: any path; Action Network: {fake.url}/people/)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
