"""A fake US Census Geocoder for tests and the demo: replays recorded responses in the real format and can
simulate the failures the client must survive (HTTP 500, a hang past the read timeout, malformed JSON, no match).

    python -m actionkit.officials.fake_geocoder --port 8089 [--fixtures DIR_OR_FILE ...] [--mode ok|500|...]
    ACTIONKIT_GEOCODER__census_url=http://127.0.0.1:8089/geocoder flask officials match "400 High St, Jackson, MS 39201"

Fixtures are Census response bodies (`{"result": {"input": …, "addressMatches": […]}}`); top-level keys starting
with "_" (e.g. "_note" on constructed files) are stripped before serving. A request is matched to a fixture by
house number + first street-name word (+ ZIP when given); an unknown address gets a real-format zero-match body.
`geographies/coordinates` answers from the address fixture whose point is nearest (within ~150 m).
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "census"
MODES = ("ok", "500", "timeout", "malformed", "zero")
_DIRECTIONS = {"N", "S", "E", "W", "NE", "NW", "SE", "SW", "NORTH", "SOUTH", "EAST", "WEST"}
_BENCHMARK = {"isDefault": True, "benchmarkDescription": "Public Address Ranges - Current Benchmark", "id": "4",
              "benchmarkName": "Public_AR_Current"}
_VINTAGE = {"isDefault": True, "id": "4", "vintageName": "Current_Current",
            "vintageDescription": "Current Vintage - Current Benchmark"}
_EMPTY_LAYERS = ("States", "Counties", "119th Congressional Districts", "2024 State Legislative Districts - Upper",
                 "2024 State Legislative Districts - Lower")


def address_key(street_line: str, zip_code: str | None = None) -> tuple[str, str, str | None] | None:
    """(house number, first street word, ZIP) of a free-text address, or None when it has no house number."""
    text = re.sub(r"[^\w\s-]", " ", street_line.upper())
    tokens = text.split()
    if not tokens or not tokens[0].isdigit():
        return None
    words = [t for t in tokens[1:] if t not in _DIRECTIONS]
    if not words:
        return None
    if zip_code is None:
        found = re.findall(r"\b(\d{5})(?:-\d{4})?\b", text)
        zip_code = found[-1] if len(tokens) > 2 and found and found[-1] != tokens[0] else None
    return tokens[0], words[0], (zip_code or None) and zip_code[:5]


def _strip_private(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if not k.startswith("_")}


class FakeCensusGeocoder:
    """The fake server; `mode` applies to every request, `fail_next()` scripts the next few."""

    def __init__(self, fixtures: Iterable[Path | str] = (DEFAULT_FIXTURES,), *, host: str = "127.0.0.1",
                 port: int = 0, mode: str = "ok", delay: float = 5.0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode, self.delay = mode, delay
        self.requests: deque[tuple[str, dict[str, str]]] = deque(maxlen=1000)  # recent only: they hold addresses
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._addresses: list[tuple[tuple[str, str, str | None], dict[str, Any]]] = []
        self._points: list[tuple[float, float, dict[str, Any]]] = []
        for path in fixtures:
            self.load(Path(path))
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- fixtures --
    def load(self, path: Path) -> None:
        """Index one response file, or every *.json in a folder (first file wins for the same address)."""
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in files:
            try:
                body = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            result = body.get("result") if isinstance(body, dict) else None
            if not isinstance(result, dict):
                continue
            given = (result.get("input") or {})
            if isinstance(result.get("addressMatches"), list):
                addr = given.get("address") or {}
                key = (address_key(addr["address"]) if "address" in addr
                       else address_key(addr.get("street", ""), addr.get("zip") or None))
                if key and not any(k == key for k, _ in self._addresses):
                    self._addresses.append((key, body))
                for match in result["addressMatches"]:
                    coords = match.get("coordinates") or {}
                    if "geographies" in match and "x" in coords:
                        self._points.append((float(coords["x"]), float(coords["y"]),
                                             {"input": given, "geographies": match["geographies"]}))
            elif isinstance(result.get("geographies"), dict) and "location" in given:
                loc = given["location"]
                self._points.append((float(loc["x"]), float(loc["y"]),
                                     {"input": given, "geographies": result["geographies"]}))

    # -- control --
    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next `times` requests in `mode`, then go back to self.mode."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self._script.extend([mode] * times)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
        self.mode = "ok"

    @property
    def url(self) -> str:
        """Base URL to put in ACTIONKIT_GEOCODER__census_url."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/geocoder"

    def start(self) -> "FakeCensusGeocoder":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-census-geocoder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeCensusGeocoder":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering --
    def _next_mode(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.mode

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) for one request; may sleep to simulate a hang."""
        with self._lock:
            self.requests.append((path, dict(params)))
        mode = self._next_mode()
        if mode == "500":
            return 500, b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        if mode == "timeout":
            self._stopping.wait(self.delay)
        if mode == "malformed":
            return 200, b'{"result": {"input": {"benchmark": {"id": "4"'
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "geocoder" or parts[1] not in ("locations", "geographies"):
            return 404, b'{"errors": ["unknown endpoint"], "status": "404"}'
        returntype, searchtype = parts[1], parts[2]
        if searchtype == "coordinates":
            body = self._coordinates(params)
        elif searchtype in ("onelineaddress", "address"):
            body = self._address(searchtype, params, zero=(mode == "zero"))
        else:
            return 400, b'{"errors": ["unsupported search type"], "status": "400"}'
        if body is None:
            return 400, b'{"errors": ["Address cannot be empty and cannot exceed 100 characters"], "status": "400"}'
        if returntype == "locations":
            for match in body["result"].get("addressMatches", []):
                match.pop("geographies", None)
            body["result"]["input"].pop("vintage", None)
        return 200, json.dumps(body).encode()

    def _address(self, searchtype: str, params: dict[str, str], *, zero: bool) -> dict[str, Any] | None:
        if searchtype == "onelineaddress":
            if not params.get("address"):
                return None
            given: dict[str, Any] = {"address": params["address"]}
            key = address_key(params["address"])
        else:
            if not params.get("street"):
                return None
            given = {k: params[k] for k in ("street", "city", "state", "zip") if params.get(k)}
            key = address_key(params["street"], params.get("zip") or None)
        found = None
        if key and not zero:
            for fkey, body in self._addresses:
                if fkey[:2] == key[:2] and (key[2] is None or fkey[2] is None or fkey[2] == key[2]):
                    found = body
                    break
        if found is None:
            return {"result": {"input": {"address": given, "benchmark": _BENCHMARK, "vintage": _VINTAGE},
                               "addressMatches": []}}
        body = copy.deepcopy(_strip_private(found))
        body["result"]["input"] = {**body["result"].get("input", {}), "address": given}
        return body

    def _coordinates(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            x, y = float(params.get("x", "")), float(params.get("y", ""))
        except ValueError:
            x = y = float("nan")
        best = None
        for px, py, data in self._points:
            dist = ((px - x) ** 2 + (py - y) ** 2) ** 0.5
            if dist <= 0.0015 and (best is None or dist < best[0]):
                best = (dist, data)
        geographies = copy.deepcopy(best[1]["geographies"]) if best else {name: [] for name in _EMPTY_LAYERS}
        given = best[1]["input"] if best else {}
        return {"result": {"input": {"location": {"x": x, "y": y},
                                     "benchmark": given.get("benchmark", _BENCHMARK),
                                     "vintage": given.get("vintage", _VINTAGE)},
                           "geographies": geographies}}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeCensusGeocoder/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        status, body = self.server.fake.answer(url.path, params)  # type: ignore[attr-defined]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status != 500 else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines contain addresses."""


def main(argv: list[str] | None = None) -> None:
    # The docstring's first paragraph (its first line alone stops mid-sentence), and its usage lines as epilog.
    intro, usage = __doc__.split("\n\n")[:2]
    parser = argparse.ArgumentParser(description=intro.strip(), epilog="usage:\n" + usage.rstrip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port to listen on (default 8089)")
    parser.add_argument("--fixtures", nargs="*", type=Path, default=[DEFAULT_FIXTURES],
                        help="response files or folders (default: tests/data/census)")
    parser.add_argument("--mode", choices=MODES, default="ok", help="simulate a failure on every request")
    parser.add_argument("--delay", type=float, default=30.0, help="seconds to hang in --mode timeout")
    args = parser.parse_args(argv)
    fake = FakeCensusGeocoder(args.fixtures, host=args.host, port=args.port, mode=args.mode, delay=args.delay)
    print(f"fake Census geocoder on {fake.url} ({len(fake._addresses)} addresses, mode {args.mode}); Ctrl-C stops",
          flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
