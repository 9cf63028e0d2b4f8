"""The CWC channel: letters to members of Congress through "Communicating with Congress" (XML 2.0).

Public facts (EFF's open-source client, vendors' notes; the official documentation goes to approved vendors only,
so whatever may need correcting is data or configuration here, not code):
- House: POST {base}/v2/message?apikey=KEY (XML body), POST {base}/v2/validate?apikey=KEY checks without
  delivering, GET {base}/offices?apikey=KEY lists active office codes. 200 = accepted; 400 = an XML body of
  <Error> elements (permanent for that letter); 503 and timeouts are transient. Maintenance 00:00-06:00 Eastern.
- Senate (third-party reports): its own base URL, success 201, 400 validation, 409 = DeliveryId already used
  (the letter was delivered before: treated as sent), maintenance Sun 00:00-06:00 and Wed 05:00-07:00 Eastern.
- DeliveryId: 32 characters [A-Za-z0-9], unique per message and stable across retries; CampaignId stable per
  campaign (House CRMs group and de-duplicate by it).
The supporter's name and address travel only in <Constituent>, never in the message text, and never in logs.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional
from zoneinfo import ZoneInfo

import requests

from actionkit.campaigns.models import LOC_TOPICS
from actionkit.delivery.channels.base import Constituent, Outcome, Outgoing, Undeliverable
from actionkit.delivery.models import Channel
from actionkit.officials.models import OfficeType
from actionkit.privacy.crypto import crypto

if TYPE_CHECKING:
    from actionkit.officials.models import Office

EASTERN = ZoneInfo("America/New_York")
HOUSE, SENATE = "house", "senate"

# Titles each chamber accepts in <Prefix>. The supporter picks one only when a letter goes through CWC; "none"
# (the neutral choice) maps to the House's gender-neutral title and has no Senate equivalent.
HOUSE_PREFIXES = ("Mr.", "Mrs.", "Ms.", "Miss", "Mx.", "Dr.", "Rev.", "Hon.", "Prof.")
SENATE_PREFIXES = ("Mr.", "Mrs.", "Miss", "Ms.", "Dr.")
PREFIX_CHOICES = {"none": None, "mr": "Mr.", "mrs": "Mrs.", "ms": "Ms.", "miss": "Miss", "mx": "Mx.", "dr": "Dr."}
HOUSE_NEUTRAL_PREFIX = "Mx."

_ALNUM = re.compile(r"[^A-Za-z0-9]")
_EMAIL = re.compile(r"[^\s<>@]+@[^\s<>]+")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def chamber_of(office_type: "OfficeType | str | None") -> Optional[str]:
    """'house', 'senate', or None for an office CWC does not serve."""
    if office_type in (OfficeType.US_REPRESENTATIVE, OfficeType.US_REPRESENTATIVE.value):
        return HOUSE
    if office_type in (OfficeType.US_SENATOR, OfficeType.US_SENATOR.value):
        return SENATE
    return None


def cwc_code(office: "Office", listed: Optional[str] = None) -> Optional[str]:
    """The office's CWC code: as set by sync or staff; for the House, H + state + two-digit district; for the
    Senate, `listed`: the code the cached active-office list gives the seat."""
    if office.cwc_office_code:
        return office.cwc_office_code
    if office.type is OfficeType.US_SENATOR:
        return listed
    if office.type is OfficeType.US_REPRESENTATIVE and office.division is not None:
        match = re.search(r"/state:([a-z]{2})/cd:(\d+)$", office.division.ocd_id)
        if match:
            return f"H{match.group(1).upper()}{int(match.group(2)):02d}"
        match = re.search(r"/state:([a-z]{2})$", office.division.ocd_id)  # an at-large seat hangs off the state
        if match:
            return f"H{match.group(1).upper()}00"
    return None


def delivery_id(delivery: int) -> str:
    """32 letters and digits, the same for every retry of this delivery and unguessable from its row id."""
    return crypto().lookup_hash(str(delivery), "cwc-delivery-id")[:32]


def campaign_id(campaign: int) -> str:
    """32 letters and digits, stable for the campaign (offices group its letters by it)."""
    return crypto().lookup_hash(str(campaign), "cwc-campaign-id")[:32]


def prefix_for(choice: Optional[str], chamber: str) -> Optional[str]:
    """The <Prefix> for the supporter's choice in this chamber; None when the chamber has no match."""
    title = PREFIX_CHOICES.get(choice or "none", choice if choice in HOUSE_PREFIXES else None)
    if chamber == HOUSE:
        return title or HOUSE_NEUTRAL_PREFIX
    return title if title in SENATE_PREFIXES else None


def without_signature(body: str, who: Constituent) -> str:
    """The letter without trailing lines that only repeat the supporter's name or address (offices group
    identical messages, and the name and address already travel in <Constituent>)."""
    own = {(v or "").strip().lower() for v in (
        f"{who.first_name} {who.last_name}", who.first_name, who.last_name, who.street, who.city,
        f"{who.city}, {who.state}", f"{who.city}, {who.state} {who.zip or ''}".strip(), who.zip) if v}
    own.discard("")
    lines = body.rstrip().splitlines()
    while lines and (lines[-1].strip().strip(",").lower() in own or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def _digits_phone(value: Optional[str]) -> Optional[str]:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else None


def _topics(cfg: dict[str, Any], chosen: Optional[Iterable[str]] = None) -> list[str]:
    topics = list(chosen or []) or [t.strip() for t in str(cfg.get("topics") or "").split(";") if t.strip()]
    unknown = [t for t in topics if t not in LOC_TOPICS]
    if not topics or unknown:
        raise Undeliverable("cwc: topics must be Library of Congress policy areas"
                            + (f" (not {', '.join(unknown)})" if unknown else ""))
    return topics


def _add(parent: ET.Element, tag: str, text: Optional[str] = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def build_xml(letter: Outgoing, cfg: dict[str, Any], *, chamber: str, office_code: str,
              today: Optional[dt.date] = None) -> bytes:
    """The CWC 2.0 document for one letter; Undeliverable when a required field cannot be filled."""
    who = letter.constituent
    if letter.withdrawn or who is None:
        raise Undeliverable("withdrawn: the supporter deleted their data")
    if letter.campaign_id is None:
        raise Undeliverable("cwc: the letter has no campaign")
    missing = [name for name, value in (("street address", who.street), ("city", who.city), ("ZIP", who.zip),
                                        ("first name", who.first_name), ("last name", who.last_name),
                                        ("email", who.email)) if not (value or "").strip()]
    if missing:
        raise Undeliverable(f"cwc: the supporter's {', '.join(missing)} is missing (purged or never given)")
    zip_code = (who.zip or "").strip()
    if not _ZIP.match(zip_code):
        raise Undeliverable("cwc: the supporter's ZIP is not 5 digits or ZIP+4")
    prefix = who.prefix if who.prefix in (HOUSE_PREFIXES if chamber == HOUSE else SENATE_PREFIXES) else None
    if prefix is None:
        raise Undeliverable(f"cwc: no title the {chamber.title()} accepts (the supporter chose none)")
    topics = _topics(cfg, letter.topics)
    statement = letter.statement if letter.statement is not None else cfg.get("organization_statement")
    respond = letter.response_requested if letter.response_requested is not None else cfg.get("response_requested")
    today = today or dt.datetime.now(EASTERN).date()

    root = ET.Element("CWC")
    _add(root, "CWCVersion", "2.0")
    delivery = _add(root, "Delivery")
    _add(delivery, "DeliveryId", delivery_id(letter.id))
    _add(delivery, "DeliveryDate", today.strftime("%Y%m%d"))
    _add(delivery, "DeliveryAgent", cfg["delivery_agent"])
    _add(delivery, "DeliveryAgentAckEmailAddress", cfg["delivery_agent_ack_email"])
    contact = _add(delivery, "DeliveryAgentContact")
    _add(contact, "DeliveryAgentContactName", cfg["delivery_agent_contact_name"])
    _add(contact, "DeliveryAgentContactEmail", cfg["delivery_agent_contact_email"])
    _add(contact, "DeliveryAgentContactPhone", cfg["delivery_agent_contact_phone"])
    if cfg.get("organization"):
        _add(delivery, "Organization", cfg["organization"])
        org_phone = _digits_phone(cfg.get("organization_contact_phone"))
        if cfg.get("organization_contact_name") and cfg.get("organization_contact_email") and org_phone:
            org = _add(delivery, "OrganizationContact")
            _add(org, "OrganizationContactName", cfg["organization_contact_name"])
            _add(org, "OrganizationContactEmail", cfg["organization_contact_email"])
            _add(org, "OrganizationContactPhone", org_phone)
        if cfg.get("organization_about"):
            _add(delivery, "OrganizationAbout", cfg["organization_about"])
    _add(delivery, "CampaignId", campaign_id(letter.campaign_id))

    recipient = _add(root, "Recipient")
    _add(recipient, "MemberOffice", office_code)
    _add(recipient, "IsResponseRequested", "Y" if respond else "N")
    _add(recipient, "NewsletterOptIn", "N")

    person = _add(root, "Constituent")
    _add(person, "Prefix", prefix)
    _add(person, "FirstName", who.first_name.strip())
    _add(person, "LastName", who.last_name.strip())
    _add(person, "Address1", (who.street or "").strip())
    _add(person, "City", (who.city or "").strip())
    _add(person, "StateAbbreviation", who.state.upper())
    _add(person, "Zip", zip_code)
    phone = _digits_phone(who.phone)
    if phone:
        _add(person, "Phone", phone)
    _add(person, "Email", (who.email or "").strip())

    message = _add(root, "Message")
    _add(message, "Subject", " ".join((letter.subject or letter.office_title).split())[:250])
    topics_el = _add(message, "LibraryOfCongressTopics")
    for topic in topics:
        _add(topics_el, "LibraryOfCongressTopic", topic)
    if statement and statement.strip():
        _add(message, "OrganizationStatement", statement.strip())
    text = without_signature(letter.body, who)
    if not text:
        raise Undeliverable("cwc: the letter is empty once the signature is left out")
    _add(message, "ConstituentMessage", text)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


# --------------------------------------------------------------------------------------- responses and windows

def errors_of(body: bytes | str) -> list[str]:
    """Every <Error> text of a CWC error body (or the start of an unparseable body), emails masked."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        found = [" ".join(re.sub(r"<[^>]+>", " ", text).split())[:200]]
    else:
        found = [" ".join("".join(e.itertext()).split()) for e in root.iter("Error")]
        if not found and root.text and root.text.strip():
            found = [" ".join(root.text.split())]
    return [_EMAIL.sub("<email>", e) for e in found if e]


def classify(status: int, body: bytes, chamber: str, ref: str) -> Outcome:
    """An HTTP answer as an Outcome: 200/201 sent; Senate 409 (DeliveryId already used) sent; 400 and other
    4xx permanent with the server's errors; 401/403 (key or allow-listed IP: an operator's fix), 429 and 5xx
    transient."""
    if status in (200, 201, 202):
        return Outcome.sent(ref)
    if status == 409 and chamber == SENATE:
        return Outcome.sent(ref)
    errors = errors_of(body) if body else []
    if status == 400 and errors and all("deliveryid" in e.lower() for e in errors):
        # Our DeliveryId is well-formed by construction, so a refusal of it alone means the House already took
        # this letter (a worker died after the send and before recording it): sent, not a fall back to a copy.
        return Outcome.sent(ref)
    detail = "; ".join(errors)
    reason = f"cwc {chamber} {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        return Outcome.transient(reason + " (check the API key and the allow-listed IP)")
    if status == 429 or status >= 500:
        return Outcome.transient(reason)
    return Outcome.permanent(reason)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # Monday = 0
    start: dt.time
    end: dt.time


def parse_windows(spec: Optional[str]) -> list[Window]:
    """'Mon-Sun 00:00-06:00;Wed 05:00-07:00' (US Eastern) -> windows; ValueError names the bad part."""
    windows = []
    for part in (spec or "").split(";"):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\w{3})(?:-(\w{3}))?\s+(\d\d):(\d\d)-(\d\d):(\d\d)", part)
        if not match or match.group(1).lower() not in _DAYS or (match.group(2) or "mon").lower() not in _DAYS:
            raise ValueError(f"maintenance window {part!r} is not like 'Sun 00:00-06:00' or 'Mon-Sun 00:00-06:00'")
        first = _DAYS.index(match.group(1).lower())
        last = _DAYS.index(match.group(2).lower()) if match.group(2) else first
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
        h1, m1, h2, m2 = (int(g) for g in match.groups()[2:])
        windows.append(Window(days, dt.time(h1, m1), dt.time(h2, m2)))
    return windows


def maintenance_until(now: dt.datetime, spec: Optional[str]) -> Optional[dt.datetime]:
    """When the maintenance window `now` falls in ends (UTC), or None when the service is open."""
    local = now.astimezone(EASTERN)
    for window in parse_windows(spec):
        if local.weekday() in window.days and window.start <= local.time() < window.end:
            end = dt.datetime.combine(local.date(), window.end, tzinfo=EASTERN)
            return end.astimezone(dt.timezone.utc)
    return None


# ------------------------------------------------------------------------------------------- client, channel

class CwcClient:
    """One chamber's CWC endpoint, with a timeout and classified answers; the API key never appears in logs."""

    def __init__(self, cfg: dict[str, Any], chamber: str, session: Optional[requests.Session] = None) -> None:
        self.chamber = chamber
        self.base = str(cfg[f"{chamber}_url"]).rstrip("/")
        self.key = cfg["api_key" if chamber == HOUSE else "senate_api_key"]
        self.timeout = float(cfg.get("timeout") or 15)
        self.session = session or requests.Session()

    def post(self, xml: bytes, *, ref: str, validate: bool = False) -> Outcome:
        """Deliver (or with validate=True only check) one message."""
        path = "/v2/validate" if validate else "/v2/message"
        try:
            response = self.session.post(self.base + path, params={"apikey": self.key}, data=xml,
                                         headers={"Content-Type": "application/xml"}, timeout=self.timeout)
        except requests.Timeout:
            return Outcome.transient(f"cwc {self.chamber} timeout")
        except requests.RequestException as exc:
            return Outcome.transient(f"cwc {self.chamber} connection error: {type(exc).__name__}")
        return classify(response.status_code, response.content, self.chamber, ref)

    def offices(self) -> list[str]:
        """The chamber's active office codes; raises requests.RequestException or ValueError on failure."""
        return [e.code for e in self.office_list()]

    def office_list(self) -> list[ActiveOffice]:
        """The chamber's active-office list; raises requests.RequestException or ValueError on failure."""
        response = self.session.get(self.base + "/offices", params={"apikey": self.key}, timeout=self.timeout)
        response.raise_for_status()
        return parse_office_list(response.content)


@dataclass(frozen=True)
class ActiveOffice:
    """One entry of a chamber's active-office list (the Senate's may give state, class and bioguide id)."""

    code: str
    state: Optional[str] = None
    seat: Optional[str] = None
    bioguide_id: Optional[str] = None


_CODE = re.compile(r"[HS][A-Z]{2}\d{2}|[A-Z0-9]{4,8}")


def _entry(item: Any) -> Optional[ActiveOffice]:
    if isinstance(item, str):
        code = item.strip()
        return ActiveOffice(code, code[1:3].lower() if re.fullmatch(r"[HS][A-Z]{2}\d{2}", code) else None) \
            if _CODE.fullmatch(code) else None
    if not isinstance(item, dict):
        return None
    code = str(item.get("code") or item.get("office_code") or item.get("OfficeCode") or "").strip()
    if not _CODE.fullmatch(code):
        return None
    state = str(item.get("state") or item.get("state_abbreviation") or (code[1:3] if code[:1] in "HS" else "")
                ).strip().lower() or None
    seat = str(item.get("class") or item.get("senate_class") or "").strip() or None
    bioguide = str(item.get("bioguide") or item.get("bioguide_id") or "").strip() or None
    return ActiveOffice(code, state, seat, bioguide)


def parse_office_list(body: bytes) -> list[ActiveOffice]:
    """Entries of an active-office list: JSON (codes, or objects with code, state, class, bioguide) or XML."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("["):
        items: list[Any] = json.loads(text)
    else:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise ValueError(f"office list is neither JSON nor XML: {exc}") from None
        items = [(e.text or "").strip() for e in root.iter() if len(e) == 0]
    entries = {e.code: e for e in (_entry(i) for i in items) if e is not None}
    if not entries:
        raise ValueError("the office list names no office")
    return [entries[c] for c in sorted(entries)]


def parse_offices(body: bytes) -> list[str]:
    """Office codes of an active-office list."""
    return [e.code for e in parse_office_list(body)]


class CwcChannel:
    """Letters to members of Congress through CWC (House, and the Senate when configured)."""

    channel = Channel.CWC

    def __init__(self, cfg: dict[str, Any], session: Optional[requests.Session] = None) -> None:
        self.cfg = cfg
        self.session = session

    def send(self, letter: Outgoing, now: Optional[dt.datetime] = None) -> Outcome:
        """Build and post one letter; never raises for a delivery problem."""
        chamber = chamber_of(letter.office_type)
        if chamber is None or not self.cfg.get(f"{chamber}_url"):
            return Outcome.permanent(f"cwc: {chamber or 'this office'} is not configured for CWC")
        if not letter.destination:
            return Outcome.permanent("cwc: no office code")
        now = now or dt.datetime.now(dt.timezone.utc)
        until = maintenance_until(now, self.cfg.get(f"{chamber}_maintenance"))
        if until is not None:
            return Outcome.later(f"cwc {chamber} maintenance window", until)
        try:
            xml = build_xml(letter, self.cfg, chamber=chamber, office_code=letter.destination, today=now.date())
        except Undeliverable as exc:
            return Outcome.permanent(str(exc))
        return CwcClient(self.cfg, chamber, self.session).post(xml, ref=delivery_id(letter.id))


def sample_letter(code: str, state: str, delivery: int = 0) -> tuple[Outgoing, str]:
    """A made-up letter for `flask delivery cwc-validate` (no real person's data), and its chamber."""
    chamber = HOUSE if code.startswith("H") else SENATE
    who = Constituent(prefix="Dr.", first_name="Sample", last_name="Constituent", street="1 Example Street",
                      city="Jackson", state=state.upper(), zip="39201", email="sample@example.org")
    return Outgoing(id=delivery, channel=Channel.CWC, destination=code, office_title=code,
                    subject="Validation sample", body="This is a sample message to validate the format.",
                    supporter_email=who.email, supporter_name="", withdrawn=False, campaign_id=0,
                    office_type=(OfficeType.US_REPRESENTATIVE if chamber == HOUSE else OfficeType.US_SENATOR).value,
                    constituent=who), chamber


def codes_for_states(codes: Iterable[str], states: Iterable[str]) -> list[str]:
    """The active codes of these states (H/S + state + two digits)."""
    wanted = {s.upper() for s in states}
    return [c for c in codes if len(c) >= 3 and c[1:3] in wanted]
