"""A local stand-in for Communicating with Congress (House or Senate), as strict as the public facts allow.

    python -m actionkit.delivery.fake_cwc --port 8091 [--chamber house|senate] [--api-key KEY] [--agent NAME]
    ACTIONKIT_CWC__house_url=http://127.0.0.1:8091 ACTIONKIT_CWC__api_key=KEY flask delivery cwc-validate

Endpoints: POST /v2/message and /v2/validate (?apikey=KEY, XML body), GET /offices (?apikey=KEY). It checks
the CWC 2.0 document element by element, in order (required and optional elements, DeliveryId of 32 letters and
digits, YYYYMMDD dates, xxx-xxx-xxxx phones, ZIP or ZIP+4, known Library of Congress topics, titles per chamber,
the DeliveryAgent matching the key's owner, the office active and enabled), and answers 400 with every problem as
an <Error> element. The House answers 200; the Senate 201, and 409 for a DeliveryId it has already accepted.
`mode` simulates outages: "503" answers 503, "timeout" hangs. Nothing is logged (bodies hold personal data).
"""
from __future__ import annotations

import argparse
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from actionkit.delivery.channels.cwc import HOUSE_PREFIXES, LOC_TOPICS, SENATE_PREFIXES

MODES = ("ok", "503", "timeout")
Check = Callable[[str], Optional[str]]


def _pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: None if compiled.fullmatch(value) else what


_TEXT: Check = lambda value: None if value.strip() else "must not be empty"  # noqa: E731
_EMAIL = _pattern(r"[^\s@<>]+@[^\s@<>]+\.[A-Za-z]{2,}", "is not a valid email address")
_PHONE = _pattern(r"\d{3}-\d{3}-\d{4}", "must be a phone number like 202-555-0100")
_YN = _pattern(r"[YN]", "must be Y or N")


def _date(value: str) -> Optional[str]:
    if not re.fullmatch(r"\d{8}", value):
        return "must be a date YYYYMMDD"
    try:
        time.strptime(value, "%Y%m%d")
    except ValueError:
        return "must be a date YYYYMMDD"
    return None


@dataclass(frozen=True)
class Spec:
    """One element of the schema: its tag, whether it is required, and a text check or child elements."""

    tag: str
    required: bool = True
    check: Optional[Check] = _TEXT
    children: tuple["Spec", ...] = ()
    repeat: bool = False


def _schema(prefixes: tuple[str, ...]) -> tuple[Spec, ...]:
    prefix = lambda v: None if v in prefixes else f"must be one of {', '.join(prefixes)}"  # noqa: E731
    topic = lambda v: None if v in LOC_TOPICS else "is not a Library of Congress policy area"  # noqa: E731
    return (
        Spec("CWCVersion", check=lambda v: None if v == "2.0" else "must be 2.0"),
        Spec("Delivery", check=None, children=(
            Spec("DeliveryId", check=_pattern(r"[A-Za-z0-9]{32}", "must be 32 letters and digits")),
            Spec("DeliveryDate", check=_date),
            Spec("DeliveryAgent"),
            Spec("DeliveryAgentAckEmailAddress", check=_EMAIL),
            Spec("DeliveryAgentContact", check=None, children=(
                Spec("DeliveryAgentContactName"), Spec("DeliveryAgentContactEmail", check=_EMAIL),
                Spec("DeliveryAgentContactPhone", check=_PHONE))),
            Spec("Organization", required=False),
            Spec("OrganizationContact", required=False, check=None, children=(
                Spec("OrganizationContactName"), Spec("OrganizationContactEmail", check=_EMAIL),
                Spec("OrganizationContactPhone", check=_PHONE))),
            Spec("OrganizationAbout", required=False),
            Spec("CampaignId", check=_pattern(r"[A-Za-z0-9_-]{1,64}", "must be letters, digits, - or _")),
        )),
        Spec("Recipient", check=None, children=(
            Spec("MemberOffice", check=_pattern(r"[HS][A-Z]{2}\d{2}", "is not an office code")),
            Spec("IsResponseRequested", required=False, check=_YN),
            Spec("NewsletterOptIn", required=False, check=_YN),
        )),
        Spec("Constituent", check=None, children=(
            Spec("Prefix", check=prefix), Spec("FirstName"), Spec("MiddleName", required=False),
            Spec("LastName"), Spec("Suffix", required=False), Spec("Title", required=False),
            Spec("Organization", required=False), Spec("Address1"), Spec("Address2", required=False),
            Spec("Address3", required=False), Spec("City"),
            Spec("StateAbbreviation", check=_pattern(r"[A-Z]{2}", "must be a two-letter state")),
            Spec("Zip", check=_pattern(r"\d{5}(-\d{4})?", "must be 5 digits or ZIP+4")),
            Spec("Phone", required=False, check=_PHONE), Spec("AddressValidation", required=False, check=_YN),
            Spec("Email", check=_EMAIL), Spec("EmailValidation", required=False, check=_YN),
        )),
        Spec("Message", check=None, children=(
            Spec("Subject"),
            Spec("LibraryOfCongressTopics", check=None, children=(
                Spec("LibraryOfCongressTopic", check=topic, repeat=True),)),
            Spec("Bill", required=False, check=None, children=(
                Spec("BillCongress"), Spec("BillTypeAbbreviation"), Spec("BillNumber"))),
            Spec("ProOrCon", required=False, check=lambda v: None if v in ("Pro", "Con") else "must be Pro or Con"),
            Spec("OrganizationStatement", required=False),
            Spec("ConstituentMessage", required=False),
            Spec("MoreInfo", required=False),
        )),
    )


def _validate(parent: ET.Element, specs: tuple[Spec, ...], path: str, errors: list[str]) -> None:
    """Check parent's children against specs, in order; every problem is added to errors."""
    children = list(parent)
    i = 0
    for spec in specs:
        matched = 0
        while i < len(children) and children[i].tag == spec.tag and (spec.repeat or matched == 0):
            child = children[i]
            where = f"{path}/{spec.tag}"
            if spec.children:
                if (child.text or "").strip():
                    errors.append(f"The '{spec.tag}' element must contain only elements.")
                _validate(child, spec.children, where, errors)
            elif len(child):
                errors.append(f"The '{spec.tag}' element must not contain elements.")
            elif spec.check is not None:
                problem = spec.check((child.text or "").strip())
                if problem:
                    errors.append(f"The '{spec.tag}' element is invalid: {problem}.")
            matched += 1
            i += 1
        if spec.required and matched == 0:
            errors.append(f"The element '{parent.tag}' has missing child element '{spec.tag}'"
                          + (f" (found '{children[i].tag}' instead)." if i < len(children) else "."))
    for extra in children[i:]:
        errors.append(f"The element '{parent.tag}' has invalid child element '{extra.tag}' (unknown or out of order).")


def validate(body: bytes, *, chamber: str, agent: str) -> tuple[list[str], Optional[ET.Element]]:
    """Every problem of one CWC document; an empty list when it is valid."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        return [f"The request body is not well-formed XML: {exc}."], None
    if root.tag != "CWC":
        return ["The root element must be 'CWC'."], None
    errors: list[str] = []
    _validate(root, _schema(HOUSE_PREFIXES if chamber == "house" else SENATE_PREFIXES), "CWC", errors)
    message = root.find("Message")
    if message is not None and not any((message.findtext(t) or "").strip()
                                       for t in ("OrganizationStatement", "ConstituentMessage")):
        errors.append("The 'Message' element needs an OrganizationStatement or a ConstituentMessage.")
    found_agent = (root.findtext("Delivery/DeliveryAgent") or "").strip()
    if found_agent and found_agent != agent:
        errors.append("The 'DeliveryAgent' element does not match the owner of the API key.")
    code = (root.findtext("Recipient/MemberOffice") or "").strip()
    if code and code[0] != ("H" if chamber == "house" else "S"):
        errors.append(f"The office '{code}' is not a {chamber.title()} office.")
    return errors, root


@dataclass
class FakeCwc:
    """The stand-in server; `offices` are active codes, `disabled` active codes not accepting messages."""

    chamber: str = "house"
    api_key: str = "demo-key"
    agent: str = "actionkit demo"
    offices: list[str] = field(default_factory=lambda: ["HMS01", "HMS02", "HMS03", "HMS04"])
    disabled: list[str] = field(default_factory=list)
    office_details: Optional[list[dict[str, str]]] = None  # what /offices lists instead of bare codes
    mode: str = "ok"
    delay: float = 30.0
    host: str = "127.0.0.1"
    port: int = 0
    delivered: dict[str, bytes] = field(default_factory=dict)  # DeliveryId -> document
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status), no bodies
    received: Counter[str] = field(default_factory=Counter)  # DeliveryId -> times posted to /v2/message
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each message taken

    def __post_init__(self) -> None:
        if self.chamber not in ("house", "senate") or self.mode not in MODES:
            raise ValueError("chamber must be house or senate; mode one of " + ", ".join(MODES))
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeCwc":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeCwc":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, method: str, path: str, key: Optional[str], body: bytes,
               content_type: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        if self.mode == "timeout":
            time.sleep(self.delay)
        if self.mode == "503":
            return 503, "text/html", b"<html><body>Service Unavailable</body></html>"
        if key != self.api_key:
            return 401, "application/xml", _errors(["The API key is missing or not valid."])
        if method == "GET" and path == "/offices":
            return 200, "application/json", json.dumps(self.office_details or self.offices).encode()
        if method != "POST" or path not in ("/v2/message", "/v2/validate"):
            return 404, "text/plain", b"not found"
        if content_type.split(";")[0].strip().lower() != "application/xml":
            return 415, "application/xml", _errors(["The Content-Type must be application/xml."])
        errors, root = validate(body, chamber=self.chamber, agent=self.agent)
        code = (root.findtext("Recipient/MemberOffice") or "").strip() if root is not None else ""
        if code and code not in self.offices:
            errors.append(f"The office '{code}' is not an active office.")
        elif code in self.disabled:
            errors.append(f"Message delivery is not enabled for {code}")
        if errors:
            return 400, "application/xml", _errors(errors)
        if path == "/v2/validate":
            return 200, "application/xml", b"<Result>valid</Result>"
        delivery = (root.findtext("Delivery/DeliveryId") or "").strip() if root is not None else ""
        with self._lock:
            self.received[delivery] += 1
            if delivery in self.delivered:
                if self.chamber == "senate":
                    return 409, "application/xml", _errors(["The DeliveryId has already been used."])
                return 400, "application/xml", _errors(["The 'DeliveryId' element is invalid: already used."])
            self.delivered[delivery] = body
            self.accepted_at.append(time.monotonic())
        return (201 if self.chamber == "senate" else 200), "application/xml", b"<Result>accepted</Result>"


def _errors(messages: list[str]) -> bytes:
    return ("<Errors>" + "".join(f"<Error>{escape(m)}</Error>" for m in messages) + "</Errors>").encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeCWC/1.0"

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        key = parse_qs(url.query).get("apikey", [None])[-1]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeCwc = self.server.fake  # type: ignore[attr-defined]
        status, ctype, payload = fake.answer(method, url.path, key, body, self.headers.get("Content-Type", ""))
        fake.requests.append((url.path, status))
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry the API key and bodies carry personal data."""


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--chamber", choices=("house", "senate"), default="house")
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--agent", default="actionkit demo", help="the DeliveryAgent the key belongs to")
    parser.add_argument("--offices", default="HMS01,HMS02,HMS03,HMS04", help="active office codes, comma-separated")
    parser.add_argument("--disabled", default="", help="active codes that do not accept messages")
    parser.add_argument("--mode", choices=MODES, default="ok")
    args = parser.parse_args(argv)
    fake = FakeCwc(chamber=args.chamber, api_key=args.api_key, agent=args.agent, host=args.host, port=args.port,
                   offices=[c for c in args.offices.split(",") if c], mode=args.mode,
                   disabled=[c for c in args.disabled.split(",") if c])
    print(f"fake CWC ({args.chamber}) on {fake.url}, {len(fake.offices)} offices, mode {args.mode}; Ctrl-C stops",
          flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
