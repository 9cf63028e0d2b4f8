"""The supporter's journey as plain functions: find officials for an address, draft the letters, accept the
signature (one encrypted submission row), record it (supporter, action, letters and their deliveries in one
flush, in the worker), resolve targets that waited for the geocoder, and report delivery statuses. Functions
flush and never commit; views and tasks commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from babel import dates as babel_dates
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import String, bindparam, cast, insert, or_, update
from sqlalchemy.orm import selectinload

from actionkit.campaigns.models import Campaign, Personalisation
from actionkit.db import utcnow
from actionkit.delivery import channels as delivery_channels
from actionkit.delivery import services as delivery_services
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.campaigns import sources
from actionkit.letters import labels, rendering
from actionkit.letters.models import (
    Action, Consent, ConsentWording, Letter, MatchAccuracy, Submission, SubmissionStatus, Supporter,
)
from actionkit.officials import geocoders, matching
from actionkit.officials.matching import AddressError
from actionkit.officials.models import (
    OFFICE_DIVISION, Agreement287g, AgreementStatus, Division, DivisionType, Office, OfficeType, Official,
)
from actionkit.officials.services import STATE_NAMES
from actionkit.privacy.crypto import crypto, email_hash

log = logging.getLogger(__name__)

TOKEN_PURPOSE = "action-token"
MAX_PERSONAL_CHARS = 2000
MAX_EDITED_BODY_CHARS = 10_000
SALUTATIONS = {
    OfficeType.SHERIFF: "Sheriff",
    OfficeType.STATE_SENATOR: "Senator",
    OfficeType.STATE_REPRESENTATIVE: "Representative",
    OfficeType.US_REPRESENTATIVE: "Representative",
    OfficeType.US_SENATOR: "Senator",
    OfficeType.GOVERNOR: "Governor",
    OfficeType.LIEUTENANT_GOVERNOR: "Lieutenant Governor",
    OfficeType.ATTORNEY_GENERAL: "Attorney General",
    OfficeType.SECRETARY_OF_STATE: "Secretary",
    OfficeType.POLICE_CHIEF: "Chief",
    OfficeType.FIXED_TARGET: "",  # staff-named offices: the holder's full name, or the office's title
}
# Match warnings that promise the supporter a human check before delivery: the letters they concern are HELD.
HOLD_WARNINGS = {
    "district_recently_redrawn": ((OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE),
                                  "held for review: state legislative district recently redrawn"),
    "boundary_disagreement": ((OfficeType.SHERIFF, OfficeType.US_REPRESENTATIVE),
                              "held for review: geocoder and boundary files disagree"),
}


class DuplicateAction(Exception):
    """This supporter already signed this campaign; nothing new is sent. action_id: their earlier action."""

    def __init__(self, action_id: int | None = None) -> None:
        self.action_id = action_id
        super().__init__(action_id)


class ChoiceError(ValueError):
    """The supporter has not (validly) made a choice the match needs; `code` names which."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


# --- the values carried between steps --------------------------------------------------------------------------

@dataclass(frozen=True)
class Signer:
    """What the supporter typed; lives only in the sealed form state until the signature is recorded."""

    first_name: str
    last_name: str
    email: str
    street: str
    city: str
    state: str  # lower-case postal code
    zip: str
    phone: str | None = None
    opt_in: bool = False
    language: str = "en"
    title: str | None = None  # the CWC title choice (a key of cwc.PREFIX_CHOICES), only for letters via CWC
    source: str | None = None  # campaigns.sources code of the visit, never a URL
    consent_text: str | None = None  # the exact words of the consent box they ticked, in their language

    def address(self) -> dict[str, str]:
        return {"street": self.street, "city": self.city, "state": self.state.upper(), "zip": self.zip}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Signer":
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass
class AddressOption:
    """One of several addresses the geocoder found, with the districts it settles (type -> OCD id)."""

    label: str
    divisions: dict[str, str]


@dataclass
class Plan:
    """Where the address placed the supporter, as OCD ids: settled districts, open choices, pending levels."""

    accuracy: str
    divisions: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    address_options: list[AddressOption] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # OfficeType values whose district is not known yet
    retryable: bool = False
    warnings: list[str] = field(default_factory=list)
    confirmed: bool = False

    @property
    def needs_choice(self) -> bool:
        return bool(self.candidates or self.address_options)

    @property
    def needs_confirmation(self) -> bool:
        """ZIP-level matches are a guess the supporter must confirm; so is any open choice."""
        return self.needs_choice or (self.accuracy == "zip" and not self.confirmed)

    @property
    def waiting(self) -> list[str]:
        """Pending levels that a later retry can resolve (and that the action will record)."""
        return list(self.pending) if self.retryable else []

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Plan":
        values = dict(data)
        values["address_options"] = [AddressOption(**o) for o in values.get("address_options", [])]
        return cls(**values)


@dataclass
class Target:
    """One office the supporter writes to, with its district and current holder (None: vacant/unknown)."""

    office: Office
    holder: Official | None

    @property
    def division(self) -> Division:
        return self.office.division


@dataclass
class AgreementInfo:
    """The 287(g) agreements ICE lists for the supporter's county sheriff (ended agreements left out)."""

    agency: str = ""
    participating: list[tuple[str, dt.date | None]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.participating)

    def first_signed(self) -> dt.date | None:
        dates = [d for _, d in self.participating if d is not None]
        return min(dates) if dates else None

    def context(self) -> dict[str, Any]:
        """The agreement_287g merge field (English: letters go to officials in the campaign's letter language)."""
        signed = self.first_signed()
        parts = [f"287(g) {kind} agreement, signed {d.isoformat()}" if d else f"287(g) {kind} agreement"
                 for kind, d in self.participating]
        parts += [f"287(g) {kind} agreement pending" for kind in self.pending]
        return {
            "active": self.active,
            "pending": bool(self.pending) and not self.active,
            "agency": self.agency,
            "status": "; ".join(parts) if parts else "No 287(g) agreement on ICE's list",
            "signed": f"{signed:%B} {signed.day}, {signed.year}" if signed else "",
            "signed_iso": signed.isoformat() if signed else "",
            "support_types": [k for k, _ in self.participating] or list(self.pending),
        }

    def display(self) -> tuple[str, list[tuple[str, str]], list[str]]:
        """(agency, [(model, signed ISO date)], [pending model]) for labels.agreement_summary."""
        return (self.agency, [(k, d.isoformat() if d else "") for k, d in self.participating], list(self.pending))


@dataclass
class Draft:
    """A letter ready to record (or the reason it cannot be written)."""

    target: Target
    subject: str = ""
    body: str = ""
    error: str | None = None
    translation: tuple[str, str] | None = None  # (subject, body) in the supporter's language, to read only


@dataclass
class Recorded:
    """A recorded signature: the action and the deliveries to queue."""

    action: Action
    delivery_ids: list[int]


@dataclass
class Choices:
    """What the supporter decided on the letters page: the offices kept, their paragraph, their edited bodies."""

    included: list[int]
    personal: str = ""
    bodies: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"included": self.included, "personal": self.personal,
                "bodies": {str(k): v for k, v in self.bodies.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Choices":
        return cls(list(dict.fromkeys(int(i) for i in data.get("included", []))), str(data.get("personal") or ""),
                   {int(k): str(v) for k, v in (data.get("bodies") or {}).items()})


@dataclass
class Accepted:
    """A signature accepted for the worker: its submission id and the raw thank-you token (never stored)."""

    submission_id: int
    token: str


@dataclass
class Processed:
    """What the worker did with a submission: the action it recorded (None for a duplicate) and what to queue;
    repeat_of: for a repeat signature, the e-mail's earlier action (its owner is told by e-mail)."""

    action_id: int | None
    delivery_ids: list[int]
    repeat_of: int | None = None


# --- matching ------------------------------------------------------------------------------------------------

def _address_options(match: matching.Match, signer: Signer, state: str) -> list[AddressOption]:
    """Adapter: Match merges several geocoder matches into per-type candidates; ask the geocoder once more for
    each address's own districts so the supporter can pick their address instead of a district number."""
    if not match.address_candidates:
        return []
    known = {(d.type, d.geoid): d.ocd_id for d in match.divisions.values()}
    known.update({(d.type, d.geoid): d.ocd_id for ds in match.candidates.values() for d in ds})
    try:
        norm = matching.normalise_address(signer.address())
        result = matching.get_geocoder().geocode(norm.query(state))
    except (geocoders.GeocoderError, AddressError):
        return []
    options = []
    for found in result.matches:
        divisions = {}
        for kind, areas in found.geographies.areas.items():
            if kind is not DivisionType.STATE and len(areas) == 1 and (kind, areas[0].geoid) in known:
                divisions[kind.value] = known[(kind, areas[0].geoid)]
        if not {t.value for t in match.candidates} <= set(divisions):
            return []
        options.append(AddressOption(label=found.matched_address, divisions=divisions))
    return options if len(options) > 1 else []


def plan_from_match(match: matching.Match, options: list[AddressOption] | None = None) -> Plan:
    """The parts of a Match the next steps need, as JSON-able OCD ids."""
    return Plan(
        accuracy=match.accuracy.value,
        divisions={t.value: d.ocd_id for t, d in match.divisions.items()},
        candidates={t.value: [d.ocd_id for d in ds] for t, ds in match.candidates.items()},
        address_options=list(options or []),
        pending=[lv.value for lv in match.levels if lv in match.pending],
        retryable=match.retryable,
        warnings=list(match.warnings),
    )


def find_officials(campaign: Campaign, signer: Signer) -> Plan:
    """Match the supporter's address for the campaign's office types; raises AddressError for unusable input."""
    found = matching.match(signer.address(), campaign.office_types, state=campaign.state)
    return plan_from_match(found, _address_options(found, signer, campaign.state))


def choose(plan: Plan, *, address_option: str | None = None, divisions: Mapping[str, str] | None = None,
           confirmed: bool = False) -> Plan:
    """Apply what the supporter picked on the confirmation step; raises ChoiceError when a pick is missing."""
    chosen = Plan.from_dict(plan.to_dict())
    if chosen.address_options:
        try:
            option = chosen.address_options[int(address_option or "")]
        except (ValueError, IndexError):
            raise ChoiceError("address_option") from None
        chosen.divisions.update(option.divisions)
    else:
        for kind, options in chosen.candidates.items():
            pick = (divisions or {}).get(kind)
            if pick not in options:
                raise ChoiceError(kind)
            chosen.divisions[kind] = pick
    chosen.candidates, chosen.address_options = {}, []
    chosen.warnings = [w for w in chosen.warnings if w not in ("zip_spans_districts", "several_addresses",
                                                                "near_district_line")]
    if chosen.accuracy == "zip" and not (confirmed or plan.needs_choice):
        raise ChoiceError("confirm")
    chosen.confirmed = True
    return chosen


# --- officials, districts and agreements ----------------------------------------------------------------------

def _divisions(ocd_ids: Iterable[str]) -> dict[str, Division]:
    ids = [i for i in ocd_ids if i]
    if not ids:
        return {}
    return {d.ocd_id: d for d in db.session.scalars(db.select(Division).where(Division.ocd_id.in_(ids)))}


def _type_order(campaign: Campaign) -> dict[OfficeType, int]:
    return {OfficeType(t): i for i, t in enumerate(campaign.target_types)}


def offices_for(divisions: Iterable[Division], levels: Iterable[OfficeType]) -> list[Office]:
    """Offices of the given types that hang off the given divisions, with holders loaded."""
    by_id = {d.id: d for d in divisions if d.id is not None}
    wanted = list(levels)
    if not by_id or not wanted:
        return []
    rows = db.session.scalars(
        db.select(Office).where(Office.division_id.in_(list(by_id)), Office.type.in_(wanted))
        .options(selectinload(Office.officials), selectinload(Office.division))).all()
    return [o for o in rows if OFFICE_DIVISION[o.type] is by_id[o.division_id].type]


def targets(campaign: Campaign, plan: Plan, divisions: dict[str, Division] | None = None) -> list[Target]:
    """The offices the supporter writes to now (settled districts only), in the campaign's order; `divisions`:
    the plan's divisions by OCD id, when the caller has loaded them already."""
    order = _type_order(campaign)
    levels = [t for t in campaign.office_types if t.value not in plan.pending]
    if divisions is None:
        divisions = _divisions(plan.divisions.values())
    offices = offices_for(divisions.values(), levels)
    offices.sort(key=lambda o: (order.get(o.type, 99), o.seat, o.id))
    return [Target(o, o.holder) for o in offices]


def candidate_groups(campaign: Campaign, plan: Plan) -> list[tuple[DivisionType, list[tuple[Division,
                                                                                             list[Target]]]]]:
    """For each district type the supporter must pick: each candidate district and the officials it means."""
    groups = []
    all_divisions = _divisions(i for ids in plan.candidates.values() for i in ids)
    for kind, ids in plan.candidates.items():
        divisions = [all_divisions[i] for i in ids if i in all_divisions]
        levels = [t for t in campaign.office_types if OFFICE_DIVISION[t].value == kind]
        offices = offices_for(divisions, levels)
        groups.append((DivisionType(kind), [(d, [Target(o, o.holder) for o in offices if o.division_id == d.id])
                                            for d in divisions]))
    return groups


def county_of(plan: Plan) -> Division | None:
    ocd = plan.divisions.get(DivisionType.COUNTY.value)
    return _divisions([ocd]).get(ocd) if ocd else None


def agreement_for(county: Division | None) -> AgreementInfo:
    """ICE's 287(g) rows for the county's sheriff office (participating and pending, not ended)."""
    if county is None or county.id is None:
        return AgreementInfo()
    rows = db.session.execute(
        db.select(Agreement287g).join(Office, Agreement287g.office_id == Office.id)
        .where(Office.division_id == county.id, Office.type == OfficeType.SHERIFF,
               Agreement287g.ended_on.is_(None))
        .order_by(Agreement287g.signed_on, Agreement287g.support_type)).scalars().all()
    info = AgreementInfo(agency=rows[0].agency if rows else "")
    for row in rows:
        if row.status is AgreementStatus.PARTICIPATING:
            info.participating.append((row.support_type, row.signed_on))
        elif row.support_type not in info.pending:
            info.pending.append(row.support_type)
    return info


def salutation(target: Target) -> str:
    """'Sheriff Jones', 'Senator Wicker'; just 'Sheriff' when the holder is unknown."""
    title = SALUTATIONS[target.office.type]
    holder = target.holder
    if not title:
        return holder.name if holder is not None else target.office.title
    if holder is None:
        return title
    last = holder.last_name or holder.name.split()[-1]
    return f"{title} {last}"


def letter_context(campaign: Campaign, target: Target, *, first_name: str, last_name: str, city: str,
                   county: Division | None, agreement: AgreementInfo) -> dict[str, Any]:
    """The merge fields of one letter (see rendering.MERGE_FIELDS)."""
    county_name = county.name if county is not None else ""
    holder = target.holder
    return {
        "supporter": {"first_name": first_name, "last_name": last_name, "city": city, "county": county_name,
                      "state": STATE_NAMES.get(campaign.state, campaign.state.upper())},
        "official": {"title": target.office.title, "name": holder.name if holder else target.office.title,
                     "first_name": (holder.first_name or "") if holder else "",
                     "last_name": (holder.last_name or "") if holder else "",
                     "salutation": salutation(target), "district": target.division.name,
                     "office_type": target.office.type.value},
        "county": county_name,
        "agreement_287g": agreement.context(),
        "campaign": {"title": campaign.text(campaign.letter_language).title},
    }


def draft_letters(campaign: Campaign, plan: Plan, *, first_name: str, last_name: str, city: str,
                  only: Iterable[OfficeType] | None = None, reader_lang: str | None = None) -> list[Draft]:
    """Render each target's letter from the campaign's template for its office type; with reader_lang (a
    language other than the one officials receive), also the campaign's own translation, for the supporter to
    read."""
    divisions = _divisions(plan.divisions.values())  # one query for the county and the targets
    county = divisions.get(plan.divisions.get(DivisionType.COUNTY.value, ""))
    agreement = agreement_for(county)
    wanted = set(only) if only is not None else None
    drafts = []
    for target in targets(campaign, plan, divisions):
        if wanted is not None and target.office.type not in wanted:
            continue
        drafts.append(_draft(campaign, target, reader_lang, first_name=first_name, last_name=last_name,
                             city=city, county=county, agreement=agreement))
    return drafts


def _draft(campaign: Campaign, target: Target, reader_lang: str | None = None, **context: Any) -> Draft:
    template = campaign.template(target.office.type, campaign.letter_language)
    if template is None:
        log.error("campaign %s has no %s template", campaign.id, target.office.type.value)
        return Draft(target, error="no_template")
    try:
        subject, body = rendering.render_letter(template, letter_context(campaign, target, **context))
    except rendering.RenderError as exc:
        log.error("campaign %s template %s failed: %s", campaign.id, template.id, exc.problem.reason)
        return Draft(target, error="render")
    return Draft(target, subject, body, translation=_translation(campaign, target, reader_lang, context))


def _translation(campaign: Campaign, target: Target, lang: str | None,
                 context: dict[str, Any]) -> tuple[str, str] | None:
    """The campaign's own text of this letter in the supporter's language (never a machine translation)."""
    if not lang or lang == campaign.letter_language:
        return None
    template = next((t for t in campaign.templates
                     if t.office_type == target.office.type.value and t.lang == lang), None)
    if template is None:
        return None
    values = letter_context(campaign, target, **context)
    agreement = values["agreement_287g"]
    if agreement.get("signed_iso"):  # the date as the reader's language writes it ("30 de junio de 2025")
        signed = dt.date.fromisoformat(agreement["signed_iso"])
        values["agreement_287g"] = {**agreement, "signed": babel_dates.format_date(signed, "long", locale=lang)}
    try:
        return rendering.render_letter(template, values)
    except rendering.RenderError as exc:
        log.error("campaign %s template %s failed: %s", campaign.id, template.id, exc.problem.reason)
        return None


def clean_supporter_text(text: str | None, limit: int) -> str:
    """Supporter-written plain text: \\n line ends, no control characters, trimmed to the limit."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return rendering.clean_body(text)[:limit]


def add_paragraph(body: str, paragraph: str) -> str:
    """Insert the supporter's paragraph before the closing (the letter's last paragraph)."""
    paragraph = clean_supporter_text(paragraph, MAX_PERSONAL_CHARS)
    if not paragraph:
        return body
    blocks = body.split("\n\n")
    if len(blocks) < 2:
        return f"{body}\n\n{paragraph}"
    return "\n\n".join(blocks[:-1] + [paragraph, blocks[-1]])


def personalise(campaign: Campaign, drafts: list[Draft], *, personal: str = "",
                bodies: Mapping[int, str] | None = None) -> list[Draft]:
    """Apply the supporter's edits as far as the campaign allows (locked / a paragraph / the whole body)."""
    out = []
    for draft in drafts:
        body = draft.body
        if campaign.personalisation is Personalisation.PARAGRAPH:
            body = add_paragraph(body, personal)
        elif campaign.personalisation is Personalisation.EDITABLE:
            edited = clean_supporter_text((bodies or {}).get(draft.target.office.id), MAX_EDITED_BODY_CHARS)
            body = edited or body
        out.append(Draft(draft.target, draft.subject, body, draft.error))
    return out


# --- recording the signature ---------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return crypto().lookup_hash(token, TOKEN_PURPOSE)


def find_supporter(email: str) -> Supporter | None:
    return db.session.scalar(db.select(Supporter).where(Supporter.email_hash == email_hash(email)))


def _holds(warnings: Iterable[str]) -> dict[OfficeType, str]:
    held: dict[OfficeType, str] = {}
    for warning in warnings:
        kinds, reason = HOLD_WARNINGS.get(warning, ((), ""))
        for kind in kinds:
            held.setdefault(kind, reason)
    return held


_LETTERS = Letter.__table__
_DELIVERIES = Delivery.__table__
_INSERT_LETTERS = insert(_LETTERS).returning(_LETTERS.c.id, sort_by_parameter_order=True)
_INSERT_DELIVERIES = insert(_DELIVERIES).returning(_DELIVERIES.c.id, sort_by_parameter_order=True)


def _add_letters(action: Action, drafts: Iterable[Draft], warnings: Iterable[str]) -> list[int]:
    """Letters and one delivery each, written with two bulk INSERTs (the ORM's unit of work for a dozen rows
    cost more than the rest of recording a signature); returns the ids of deliveries to queue now: pending (not
    held) and on a channel sent one at a time (print letters wait for a batch)."""
    held = _holds(warnings)
    sendable = [d for d in drafts if not d.error]
    if not sendable:
        return []
    db.session.flush()  # the action's id
    now = utcnow()
    letter_rows, delivery_rows = [], []
    for draft in sendable:
        office, holder = draft.target.office, draft.target.holder
        letter_rows.append({
            "action_id": action.id, "office_id": office.id, "official_id": holder.id if holder else None,
            "office_type": office.type.value, "addressed_to": (holder.name if holder else office.title)[:255],
            "office_title": office.title[:255], "subject": draft.subject, "body": draft.body,
            "created_at": now, "updated_at": now})
        values = delivery_services.delivery_values(office)
        reason = held.get(office.type)
        if reason:
            values.update(status=DeliveryStatus.HELD, last_error=reason)
        delivery_rows.append({"attempts": 0, "next_attempt_at": now, "last_error": None, "created_at": now,
                              "updated_at": now, **values})
    conn = db.session.connection()
    letter_ids = conn.execute(_INSERT_LETTERS, letter_rows).scalars().all()
    for row, letter_id in zip(delivery_rows, letter_ids):
        row["letter_id"] = letter_id
    delivery_ids = conn.execute(_INSERT_DELIVERIES, delivery_rows).scalars().all()
    db.session.expire(action, ["letters"])  # loaded before these rows were written (resolve_pending)
    return [delivery_id for delivery_id, row in zip(delivery_ids, delivery_rows)
            if row["status"] is DeliveryStatus.PENDING and row["channel"] in delivery_channels.QUEUED_CHANNELS]


GOAL_COUNT_FROM = 5  # the public count is shown from this many signatures up (fewer could point at a person)


def signature_count(campaign_id: int) -> int:
    """Signatures on the campaign, for the public progress bar (recorded actions; a deletion keeps its count)."""
    return db.session.scalar(db.select(db.func.count()).select_from(Action)
                             .where(Action.campaign_id == campaign_id)) or 0


def consent_wording(lang: str, text: str) -> ConsentWording:
    """The stored version of these exact words (a new version when the wording has changed)."""
    digest = hashlib.sha256(f"{lang}\n{text}".encode()).hexdigest()
    wording = db.session.scalar(db.select(ConsentWording).where(ConsentWording.text_hash == digest))
    if wording is None:
        wording = ConsentWording(text_hash=digest, lang=lang, text=text[:1000])
        db.session.add(wording)
        db.session.flush()
    return wording


def _record_consent(supporter: Supporter, campaign: Campaign, signer: Signer) -> None:
    """The supporter ticked "organizers may contact me": a Consent row in the words they saw, and the phone
    they gave with it (their latest), kept while they consent."""
    text = signer.consent_text
    if not text:  # a form state sealed before the words were carried: the words the form showed
        with force_locale(signer.language or "en"):
            text = str(labels.CONSENT_LABEL)
    wording = consent_wording(signer.language, text)
    db.session.add(Consent(supporter=supporter, wording=wording, campaign_id=campaign.id))
    supporter.opt_in = True
    if signer.phone:
        supporter.phone = signer.phone


def record_action(campaign: Campaign, signer: Signer, plan: Plan, drafts: list[Draft], *,
                  token_digest: str, personal: str = "") -> Recorded:
    """Supporter (found by e-mail hash), action, letters and deliveries, flushed together; raises
    DuplicateAction when this e-mail already signed this campaign. token_digest: the thank-you token's HMAC;
    personal: the supporter's paragraph, kept for the letters of office types still waiting for a match."""
    supporter = find_supporter(signer.email)
    if supporter is None:
        supporter = Supporter(email_hash=email_hash(signer.email), email=signer.email.strip())
        db.session.add(supporter)
        returning = False
    else:
        signed = dict(db.session.execute(
            db.select(Action.campaign_id, Action.id).where(Action.supporter_id == supporter.id)).all())
        if campaign.id in signed:
            raise DuplicateAction(signed[campaign.id])
        returning = bool(signed)
    supporter.first_name, supporter.last_name = signer.first_name, signer.last_name
    supporter.language = signer.language
    if signer.opt_in:
        _record_consent(supporter, campaign, signer)
    county = county_of(plan)
    action = Action(campaign=campaign, supporter=supporter, token_hash=token_digest, language=signer.language,
                    street=signer.street, city=signer.city, zip=signer.zip, phone=signer.phone or None,
                    cwc_title=signer.title if signer.title not in (None, "none") else None,
                    state=campaign.state, county_id=county.id if county is not None else None,
                    division_ids=sorted(plan.divisions.values()), accuracy=_accuracy(plan.accuracy),
                    pending_types=plan.waiting, is_returning=returning,
                    personal_paragraph=(personal or None) if plan.waiting else None,
                    source=sources.clean(signer.source))
    db.session.add(action)
    db.session.flush()
    return Recorded(action, _add_letters(action, drafts, plan.warnings))


# --- the signature: accepted in the request, recorded by the worker --------------------------------------------

MAX_SUBMISSION_ATTEMPTS = 5
SUBMISSION_MAX_AGE = dt.timedelta(days=2)  # a signature not recorded by then is given up (and erased)
_submissions = Submission.__table__
_ACCEPT = insert(_submissions).returning(_submissions.c.id)
_CLAIM_SUBMISSION = (update(_submissions)
                     .where(_submissions.c.id == bindparam("s_id"),
                            _submissions.c.status == SubmissionStatus.RECEIVED)
                     .values(updated_at=bindparam("s_now")))


def accept(campaign_id: int, signer: Signer, plan: Plan, choices: Choices, *, email_check: bool = False) -> Accepted:
    """Store the signature as one encrypted row; the caller commits, then queues letters.process_submission (or,
    with email_check, letters.send_email_check: the row waits for the e-mailed link). Every signature takes
    exactly this path, whether or not its e-mail signed before: the worker finds a repeat, so neither the answer
    nor its timing tells anyone whether an address signed."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    payload = json.dumps({"signer": signer.to_dict(), "plan": plan.to_dict(), "choices": choices.to_dict()},
                         separators=(",", ":"))
    submission_id = db.session.execute(_ACCEPT, {
        "campaign_id": campaign_id, "email_hash": email_hash(signer.email), "token_hash": token_hash(token),
        "payload": payload, "status": SubmissionStatus.AWAITING if email_check else SubmissionStatus.RECEIVED,
        "email_check": email_check, "office_ids": list(choices.included), "attempts": 0, "created_at": now,
        "updated_at": now}).scalar_one()
    return Accepted(submission_id, token)


def process_submission(submission_id: int, now: dt.datetime | None = None) -> Processed | None:
    """Record a received signature exactly once: draft the letters from the campaign's templates, apply the
    supporter's choices, write supporter, action, letters and deliveries, and erase the payload. None when
    there is nothing to do (unknown id, or already processed: a duplicate or late task)."""
    now = now or utcnow()
    # A conditional UPDATE first: it takes the row (PostgreSQL row lock; SQLite's write lock) before reading,
    # so two tasks for one id cannot both record it.
    if db.session.execute(_CLAIM_SUBMISSION, {"s_id": submission_id, "s_now": now}).rowcount != 1:
        return None
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission is not None and submission.payload is not None
    data = json.loads(submission.payload)
    signer, plan, choices = (Signer.from_dict(data["signer"]), Plan.from_dict(data["plan"]),
                             Choices.from_dict(data["choices"]))
    campaign = db.session.get(Campaign, submission.campaign_id)
    assert campaign is not None
    drafts = draft_letters(campaign, plan, first_name=signer.first_name, last_name=signer.last_name,
                           city=signer.city)
    sendable = {d.target.office.id: d for d in drafts if not d.error}
    chosen = [sendable[i] for i in choices.included if i in sendable]
    if len(chosen) < len(choices.included):
        log.warning("submission %s: %d chosen letters could not be written", submission_id,
                    len(choices.included) - len(chosen))
    letters = personalise(campaign, chosen, personal=choices.personal, bodies=choices.bodies)
    submission.payload, submission.processed_at = None, now
    try:  # DuplicateAction is raised before anything is written
        recorded = record_action(campaign, signer, plan, letters, token_digest=submission.token_hash,
                                 personal=choices.personal)
    except DuplicateAction as repeat:  # the e-mail's own submission holds the hash; this one lets it go
        submission.status, submission.email_hash = SubmissionStatus.DUPLICATE, None
        log.info("submission %s: this e-mail had already signed campaign %s; nothing recorded", submission_id,
                 campaign.id)
        return Processed(None, [], repeat_of=repeat.action_id)
    submission.status, submission.action_id = SubmissionStatus.RECORDED, recorded.action.id
    db.session.flush()
    return Processed(recorded.action.id, recorded.delivery_ids)


_COUNT_FAILURE = (update(_submissions)
                  .where(_submissions.c.id == bindparam("s_id"), _submissions.c.status == SubmissionStatus.RECEIVED)
                  .values(attempts=_submissions.c.attempts + 1, updated_at=bindparam("s_now"))
                  .returning(_submissions.c.attempts, _submissions.c.created_at))


def submission_failed(submission_id: int, reason: str, now: dt.datetime | None = None) -> bool:
    """Count a failed try (after the caller rolled the try back); after MAX_SUBMISSION_ATTEMPTS tries, or once
    the submission is older than SUBMISSION_MAX_AGE, give up: erase the payload and release the e-mail hash so
    the supporter can sign again. Returns True when it gave up. Conditional UPDATEs: a submission another task
    has recorded meanwhile is left alone."""
    now = now or utcnow()
    row = db.session.execute(_COUNT_FAILURE, {"s_id": submission_id, "s_now": now}).one_or_none()
    if row is None:
        return False
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.timezone.utc)
    if row.attempts < MAX_SUBMISSION_ATTEMPTS and now - created < SUBMISSION_MAX_AGE:
        log.warning("submission %s not recorded (try %d): %s", submission_id, row.attempts, reason)
        return False
    _give_up([submission_id], now)
    log.error("submission %s given up after %d tries: %s", submission_id, row.attempts, reason)
    return True


def _give_up(ids: list[int], now: dt.datetime) -> int:
    """Mark received submissions failed, erasing their payload and releasing their e-mail hash."""
    return db.session.execute(
        update(Submission).where(Submission.id.in_(ids), Submission.status == SubmissionStatus.RECEIVED)
        .values(status=SubmissionStatus.FAILED, payload=None, email_hash=None, processed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount


def expire_submissions(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Give up signatures still unrecorded after SUBMISSION_MAX_AGE (e.g. a task that kills its worker never
    counts its failure): their personal data is not kept waiting for ever."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        db.select(Submission.id).where(Submission.status == SubmissionStatus.RECEIVED,
                                       Submission.created_at < now - SUBMISSION_MAX_AGE)
        .order_by(Submission.id).limit(limit)))
    if not ids:
        return 0
    count = _give_up(ids, now)
    log.error("%d signatures given up unrecorded after %s", count, SUBMISSION_MAX_AGE)
    return count


def submissions_to_requeue(grace: dt.timedelta, limit: int = 500, now: dt.datetime | None = None) -> list[int]:
    """Ids of signatures not recorded yet and untouched for `grace` (their task was lost, the broker was down, or
    a try failed), marked as touched now so that the next sweeps leave them alone for `grace` again: a long
    queue is not filled with copies of tasks still waiting in it."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        db.select(Submission.id).where(Submission.status == SubmissionStatus.RECEIVED,
                                       Submission.updated_at < now - grace)
        .order_by(Submission.id).limit(limit)))
    if ids:
        db.session.execute(update(Submission).where(Submission.id.in_(ids)).values(updated_at=now)
                           .execution_options(synchronize_session=False))
    return ids


def find_submission(token: str) -> Submission | None:
    """The submission a thank-you token (or its e-mail check link's token) belongs to, before (or after) the
    worker recorded it."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    return db.session.scalar(db.select(Submission).where(
        or_(Submission.token_hash == digest, Submission.confirm_token_hash == digest)))


def find_email_check(token: str) -> Submission | None:
    """The submission an e-mail check link's token belongs to (never the sign redirect's token)."""
    if not token or len(token) > 128:
        return None
    return db.session.scalar(db.select(Submission).where(Submission.confirm_token_hash == token_hash(token)))


# --- campaigns that confirm the e-mail address before letters go out -------------------------------------------

def confirmation_max_age() -> dt.timedelta:
    """How long a signature waits for its e-mail link (ACTIONKIT_EMAIL_CONFIRMATION_DAYS, default 3 days)."""
    return dt.timedelta(days=float(current_app.config.get("EMAIL_CONFIRMATION_DAYS") or 3))


@dataclass
class EmailCheck:
    """What the e-mail check message needs, read from a waiting signature's payload (decrypted in the worker)."""

    submission_id: int
    campaign_id: int
    email: str
    first_name: str
    language: str
    token: str
    expires_at: dt.datetime


def claim_email_check(submission_id: int, now: dt.datetime | None = None) -> EmailCheck | int | None:
    """Mint the link token of a waiting signature, once (a conditional UPDATE claims it). The e-mail's earlier
    action id instead when this address already signed the campaign: the signature is then closed as a repeat
    (payload erased) and the owner told, so the answer is the same e-mail flow either way. None: nothing to do."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    claimed = db.session.execute(
        update(Submission).where(Submission.id == submission_id, Submission.status == SubmissionStatus.AWAITING,
                                 Submission.confirm_sent_at.is_(None))
        .values(confirm_sent_at=now, confirm_token_hash=token_hash(token), updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    assert submission is not None and submission.payload is not None
    signer = Signer.from_dict(json.loads(submission.payload)["signer"])
    earlier = db.session.scalar(
        db.select(Action.id).join(Supporter).where(Supporter.email_hash == email_hash(signer.email),
                                                   Action.campaign_id == submission.campaign_id))
    if earlier is not None:
        submission.status, submission.email_hash, submission.payload = SubmissionStatus.DUPLICATE, None, None
        submission.processed_at = now
        db.session.flush()
        return int(earlier)
    created = submission.created_at if submission.created_at.tzinfo else \
        submission.created_at.replace(tzinfo=dt.timezone.utc)
    return EmailCheck(submission.id, submission.campaign_id, signer.email, signer.first_name, signer.language,
                      token, created + confirmation_max_age())


def confirm_email(token: str, now: dt.datetime | None = None) -> Submission | None:
    """The link was opened: a waiting, unexpired signature becomes RECEIVED for the worker (a conditional UPDATE,
    so two clicks queue it once). Returns the submission when this call confirmed it, else None."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    confirmed = db.session.execute(
        update(Submission).where(Submission.confirm_token_hash == digest,
                                 Submission.status == SubmissionStatus.AWAITING,
                                 Submission.created_at > now - confirmation_max_age())
        .values(status=SubmissionStatus.RECEIVED, confirmed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if confirmed != 1:
        return None
    return db.session.scalar(db.select(Submission).where(Submission.confirm_token_hash == digest)
                             .execution_options(populate_existing=True))


def expire_unconfirmed(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Erase signatures whose e-mail link was not opened in time: payload and e-mail hash go, EXPIRED stays
    (a count for the stats, nothing personal)."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        db.select(Submission.id).where(Submission.status == SubmissionStatus.AWAITING,
                                       Submission.created_at < now - confirmation_max_age())
        .order_by(Submission.id).limit(limit)))
    if not ids:
        return 0
    count = db.session.execute(
        update(Submission).where(Submission.id.in_(ids), Submission.status == SubmissionStatus.AWAITING)
        .values(status=SubmissionStatus.EXPIRED, payload=None, email_hash=None, processed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    log.info("%d unconfirmed signatures expired and erased", count)
    return count


def email_checks_to_send(grace: dt.timedelta, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Waiting signatures whose link e-mail was never sent (its task was lost or the broker was down)."""
    now = now or utcnow()
    return list(db.session.scalars(
        db.select(Submission.id).where(Submission.status == SubmissionStatus.AWAITING,
                                       Submission.confirm_sent_at.is_(None), Submission.created_at < now - grace)
        .order_by(Submission.id).limit(limit)))


def claim_repeat_notice(action_id: int, now: dt.datetime | None = None) -> bool:
    """May the owner of this action be told (again) that their address was used to sign again? At most once a
    day, so nobody can flood a supporter's inbox by signing in their name."""
    now = now or utcnow()
    return db.session.execute(
        update(Action).where(Action.id == action_id,
                             or_(Action.repeat_notice_at.is_(None), Action.repeat_notice_at < now - dt.timedelta(days=1)))
        .values(repeat_notice_at=now).execution_options(synchronize_session=False)).rowcount == 1


def submission_preview(submission: Submission) -> tuple[str, list[Office]]:
    """(first name, offices being written to) for the thank-you page while the worker records the signature."""
    if submission.payload is None:
        return "", submission_offices(submission)
    data = json.loads(submission.payload)
    return str(data["signer"].get("first_name") or ""), submission_offices(submission)


def submission_offices(submission: Submission) -> list[Office]:
    """The offices the signer chose, from the submission's snapshot of office ids (in the order chosen), for the
    receipt of a first and a repeat signature alike; nothing once the retention purge erased it."""
    ids = list(submission.office_ids or [])
    if not ids and submission.payload is not None:  # a signature accepted before the snapshot existed
        ids = Choices.from_dict(json.loads(submission.payload)["choices"]).included
    offices = {o.id: o for o in db.session.scalars(
        db.select(Office).where(Office.id.in_(ids)).options(selectinload(Office.officials),
                                                            selectinload(Office.division)))} if ids else {}
    return [offices[i] for i in ids if i in offices]


def _accuracy(value: str) -> MatchAccuracy:
    try:
        return MatchAccuracy(value)
    except ValueError:
        return MatchAccuracy.NONE


def find_action(token: str) -> Action | None:
    """The action an e-mailed token belongs to: the confirmation or repeat notice link, or the e-mail check link
    of the signature it was recorded from. Never the sign redirect's token (Action.token_hash): that page must
    look the same for a first and a repeat signature, so it shows only a receipt (docs/architecture.md,
    "Repeat signatures")."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    checked = db.select(Submission.action_id).where(Submission.confirm_token_hash == digest,
                                                   Submission.action_id.is_not(None))
    return db.session.scalar(
        db.select(Action).where(or_(Action.email_token_hash == digest, Action.id.in_(checked)))
        .options(selectinload(Action.letters).selectinload(Letter.delivery),
                 selectinload(Action.letters).selectinload(Letter.office).selectinload(Office.division),
                 selectinload(Action.campaign)))


# --- targets that waited for the geocoder ----------------------------------------------------------------------

def actions_waiting(max_age: dt.timedelta, limit: int = 500) -> list[int]:
    """Ids of actions with pending office types, young enough to keep retrying."""
    return list(db.session.scalars(
        db.select(Action.id).where(cast(Action.pending_types, String) != "[]",
                                   Action.address_purged_at.is_(None), Action.created_at > utcnow() - max_age)
        .order_by(Action.id).limit(limit)))


def actions_unconfirmed(grace: dt.timedelta, max_age: dt.timedelta, limit: int = 500,
                        every: dt.timedelta | None = None, now: dt.datetime | None = None) -> list[int]:
    """Ids of recent actions whose confirmation e-mail was never sent (e.g. the broker was down at signing).

    With `every` (how often the caller runs), only those whose age crossed grace, 2 x grace, 4 x grace ...
    within the last `every`: each is retried on a doubling schedule without any state kept between runs."""
    now = now or utcnow()
    rows = db.session.execute(
        db.select(Action.id, Action.created_at).where(
            Action.confirmation_sent_at.is_(None), Action.created_at <= now - grace,
            Action.created_at > now - max_age).order_by(Action.id).limit(limit if every is None else 20 * limit))
    due = []
    for action_id, created_at in rows:
        if every is not None:
            age, mark = now - _aware_utc(created_at), grace
            while mark * 2 <= age:
                mark *= 2
            if age - mark >= every:
                continue
        due.append(action_id)
    return due[:limit]


def _aware_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def resolve_pending(action_id: int) -> list[int]:
    """Retry matching for an action's pending office types; when it succeeds, write their letters and
    deliveries and return the delivery ids to queue. A second run finds nothing pending and does nothing."""
    action = db.session.scalar(db.select(Action).where(Action.id == action_id).with_for_update())
    if action is None or not action.pending_types:
        return []
    supporter = action.supporter
    if action.street is None or supporter.deleted_at is not None:
        action.pending_types, action.personal_paragraph = [], None
        return []
    address = {"street": action.street, "city": action.city or "", "state": action.state.upper(),
               "zip": action.zip or ""}
    try:
        found = matching.resolve_pending(address, action.pending_types, state=action.state)
    except AddressError as exc:
        log.warning("action %s: pending targets cannot be matched (%s); giving up", action.id, exc.code)
        action.pending_types, action.personal_paragraph = [], None
        return []
    if found is None:
        return []
    plan = plan_from_match(found)
    campaign = action.campaign
    kinds = [OfficeType(t) for t in action.pending_types]
    done = {letter.office_id for letter in action.letters}
    drafts = [d for d in draft_letters(campaign, plan, first_name=supporter.first_name or "",
                                       last_name=supporter.last_name or "", city=action.city or "", only=kinds)
              if d.target.office.id not in done]
    drafts = personalise(campaign, drafts, personal=action.personal_paragraph or "")
    if action.county_id is None:
        county = county_of(plan)
        action.county_id = county.id if county is not None else None
    action.division_ids = sorted(set(action.division_ids or []) | set(plan.divisions.values()))
    action.pending_types, action.personal_paragraph = [], None
    ids = _add_letters(action, drafts, plan.warnings)
    log.info("action %s: %d pending letters written", action.id, len(drafts))
    return ids


# --- what the supporter sees afterwards ------------------------------------------------------------------------

@dataclass(frozen=True)
class LetterStatus:
    letter_id: int
    office_id: int
    office_type: str
    addressed_to: str
    office_title: str
    status: str  # a key of labels.STATUS_LABELS

    @property
    def final(self) -> bool:
        return self.status in ("sent", "cwc_sent_house", "cwc_sent_senate", "printed", "failed", "cancelled",
                               "expired", "postal_delivered", "fax_delivered")


def delivery_status(delivery: Delivery | None) -> str:
    """The supporter's view of a delivery: a key of labels.STATUS_LABELS."""
    if delivery is None:
        return "cancelled"
    status = delivery.status
    if delivery.channel is Channel.CWC:
        chamber = "senate" if delivery.letter.office_type == "us_senator" else "house"
    if status is DeliveryStatus.PENDING:
        if delivery.attempts:
            return "retrying"
        if delivery.channel is Channel.CWC:
            return f"cwc_queued_{chamber}"
        if delivery.channel in (Channel.POSTAL, Channel.FAX):
            return f"{delivery.channel.value}_queued"
        return "print_queued" if delivery.channel is Channel.PRINT else "queued"
    if status is DeliveryStatus.SENDING:
        return "sending"
    if status is DeliveryStatus.SENT and delivery.channel in (Channel.POSTAL, Channel.FAX):  # tracked by callbacks
        tracking = delivery.tracking if delivery.tracking in ("mailed", "in_transit", "delivered") else "sent"
        if delivery.channel is Channel.FAX and tracking != "delivered":
            tracking = "sent"
        return f"{delivery.channel.value}_{tracking}"
    if status is DeliveryStatus.SENT:  # the channel that delivered it, never "sent" for hand delivery
        return f"cwc_sent_{chamber}" if delivery.channel is Channel.CWC else \
            "printed" if delivery.channel is Channel.PRINT else "sent"
    if status is DeliveryStatus.HELD:
        return "held"
    if status is DeliveryStatus.CANCELLED:
        return "cancelled"
    if status is DeliveryStatus.EXPIRED:
        return "expired"
    return "failed"


def letter_statuses(action: Action) -> list[LetterStatus]:
    return [LetterStatus(letter.id, letter.office_id, letter.office_type, letter.addressed_to, letter.office_title,
                         delivery_status(letter.delivery)) for letter in action.letters]


def campaign_totals(campaign_id: int) -> tuple[int, int]:
    """(supporters who signed, letters they wrote) for a campaign's public page once it has ended."""
    actions = db.session.scalar(db.select(db.func.count(Action.id)).where(Action.campaign_id == campaign_id))
    letters = db.session.scalar(db.select(db.func.count(Letter.id)).join(Action, Letter.action_id == Action.id)
                                .where(Action.campaign_id == campaign_id))
    return int(actions or 0), int(letters or 0)
