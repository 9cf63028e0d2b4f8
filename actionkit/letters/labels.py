"""What supporters read about offices, districts, 287(g) agreements and delivery statuses, in their language.

Directory rows are in English ("Sheriff of Hinds County"); these build the supporter-facing names from the
office type and district number instead, so the Spanish pages are Spanish throughout.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from actionkit.officials import matching
from actionkit.officials.models import AgreementStatus, Division, DivisionType, Office, OfficeType
from actionkit.officials.services import STATE_NAMES

# The consent box; its exact words, in the supporter's language, are stored with each consent (ConsentWording).
CONSENT_LABEL = _l("Yes, the organizers may contact me again about this campaign and related work.")

OFFICE_TYPE_NAMES = {
    OfficeType.SHERIFF: _l("your sheriff"),
    OfficeType.STATE_SENATOR: _l("your state senator"),
    OfficeType.STATE_REPRESENTATIVE: _l("your state representative"),
    OfficeType.US_REPRESENTATIVE: _l("your U.S. representative"),
    OfficeType.US_SENATOR: _l("your two U.S. senators"),
    OfficeType.GOVERNOR: _l("your governor"),
    OfficeType.LIEUTENANT_GOVERNOR: _l("your lieutenant governor"),
    OfficeType.ATTORNEY_GENERAL: _l("your attorney general"),
    OfficeType.SECRETARY_OF_STATE: _l("your secretary of state"),
    OfficeType.POLICE_CHIEF: _l("your city's police chief"),
    OfficeType.FIXED_TARGET: _l("the federal officials this campaign writes to"),
}

DIVISION_QUESTIONS = {
    DivisionType.COUNTY: _l("Which county do you live in?"),
    DivisionType.CD: _l("Which congressional district do you live in?"),
    DivisionType.SLDU: _l("Which state senate district do you live in?"),
    DivisionType.SLDL: _l("Which state house district do you live in?"),
}

SUPPORT_TYPES = {
    "jail enforcement model": _l("Jail Enforcement Model"),
    "task force model": _l("Task Force Model"),
    "warrant service officer": _l("Warrant Service Officer"),
}

STATUS_LABELS = {
    "preparing": _l("Being prepared"),
    "queued": _l("Queued"),
    "print_queued": _l("Waiting to be printed for hand delivery"),
    "sending": _l("Sending"),
    "sent": _l("Sent by email"),
    "printed": _l("Printed for hand delivery"),
    "retrying": _l("Not delivered yet; trying again"),
    "held": _l("Held for review"),
    "failed": _l("Not delivered; our team is looking into it"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Not delivered in time; no longer sent"),
    # Letters to Congress through "Communicating with Congress" (CWC), per chamber.
    "cwc_queued_house": _l("Queued for the House's Communicating with Congress system"),
    "cwc_queued_senate": _l("Queued for the Senate's Communicating with Congress system"),
    "cwc_sent_house": _l("Sent through the House's Communicating with Congress system"),
    "cwc_sent_senate": _l("Sent through the Senate's Communicating with Congress system"),
    # Postal mail through the print-and-mail service, and fax through the organisation's provider.
    "postal_queued": _l("Waiting to be mailed"),
    "postal_sent": _l("Handed to the postal mail service for printing"),
    "postal_mailed": _l("Mailed"),
    "postal_in_transit": _l("Mailed, in transit"),
    "postal_delivered": _l("Delivered by mail"),
    "fax_queued": _l("Waiting to be faxed"),
    "fax_sent": _l("Sent to the fax service"),
    "fax_delivered": _l("Faxed to the office"),
}

LANGUAGE_NAMES = {"en": _l("English"), "es": _l("Spanish")}  # inside a sentence: "… in English", "… en inglés"


def language_name(code: str) -> str:
    name = LANGUAGE_NAMES.get(code)
    return str(name) if name is not None else code


def office_type_name(kind: OfficeType | str) -> str:
    return str(OFFICE_TYPE_NAMES[OfficeType(kind)])


def list_names(kinds: list[str]) -> str:
    """'your sheriff and your state senator' from office type values."""
    names = [office_type_name(k) for k in kinds]
    if len(names) <= 1:
        return "".join(names)
    return _("%(items)s and %(last)s", items=", ".join(names[:-1]), last=names[-1])


def pending_sentence(kinds: list[str], *, from_campaign: bool = False) -> str:
    """What happens to letters whose officials are not matched yet (singular or plural)."""
    who, count = list_names(kinds), len(kinds)
    if from_campaign:
        return ngettext("Your letter to %(who)s will be written from the campaign's letter and sent as soon as we "
                        "have matched your address. You do not need to do anything else.",
                        "Your letters to %(who)s will be written from the campaign's letter and sent as soon as "
                        "we have matched your address. You do not need to do anything else.", count, who=who)
    return ngettext("Your letter to %(who)s will be written and sent as soon as we have matched your address.",
                    "Your letters to %(who)s will be written and sent as soon as we have matched your address.",
                    count, who=who)


def _number(division: Division) -> str:
    if division.geoid and len(division.geoid) > 2:
        return str(int(division.geoid[2:]))
    return division.ocd_id.rsplit(":", 1)[-1]


def county_basename(division: Division) -> str:
    name = division.name
    return name[: -len(" County")] if name.endswith(" County") else name


def division_label(division: Division) -> str:
    """'Hinds County', 'Congressional District 2', … in the page's language."""
    if division.type is DivisionType.COUNTY:
        return _("%(name)s County", name=county_basename(division))
    if division.type is DivisionType.CD:
        return _("Congressional District %(number)s", number=_number(division))
    if division.type is DivisionType.SLDU:
        return _("State Senate District %(number)s", number=_number(division))
    if division.type is DivisionType.SLDL:
        return _("State House District %(number)s", number=_number(division))
    if division.type is DivisionType.PLACE:
        return division.name
    return STATE_NAMES.get(division.state, division.name)


def office_label(office: Office) -> str:
    """'Sheriff of Hinds County', 'U.S. Senator for Mississippi', … in the page's language."""
    division = office.division
    if office.type is OfficeType.SHERIFF:
        return _("Sheriff of %(county)s", county=division_label(division))
    if office.type is OfficeType.POLICE_CHIEF:
        return _("Chief of Police of %(place)s", place=division.name)
    if office.type is OfficeType.FIXED_TARGET:
        return office.title  # named by staff (e.g. "Secretary of Homeland Security"), as letters address it
    if office.type is OfficeType.STATE_SENATOR:
        return _("State Senator, District %(number)s", number=_number(division))
    if office.type is OfficeType.STATE_REPRESENTATIVE:
        return _("State Representative, District %(number)s", number=_number(division))
    if office.type is OfficeType.US_REPRESENTATIVE:
        return _("U.S. Representative, Congressional District %(number)s", number=_number(division))
    state = STATE_NAMES.get(division.state, division.name)
    if office.type is OfficeType.GOVERNOR:
        return _("Governor of %(state)s", state=state)
    if office.type is OfficeType.LIEUTENANT_GOVERNOR:
        return _("Lieutenant Governor of %(state)s", state=state)
    if office.type is OfficeType.ATTORNEY_GENERAL:
        return _("Attorney General of %(state)s", state=state)
    if office.type is OfficeType.SECRETARY_OF_STATE:
        return _("Secretary of State of %(state)s", state=state)
    return _("U.S. Senator for %(state)s", state=state)


def support_type_label(support_type: str) -> str:
    label = SUPPORT_TYPES.get(support_type.strip().lower())
    return str(label) if label is not None else support_type


def long_date(iso: str) -> str:
    """An ISO date as the page's language writes it: 'June 30, 2025', '30 de junio de 2025'."""
    try:
        return format_date(dt.date.fromisoformat(iso), "long")
    except ValueError:
        return iso


def agreement_summary(agency: str, participating: list[tuple[str, str]], pending: list[str]) -> str:
    """"Harrison County Sheriff's Office: 287(g) Jail Enforcement Model agreement, signed June 30, 2025"."""
    parts = [_("287(g) %(model)s agreement, signed %(date)s", model=support_type_label(kind), date=long_date(signed))
             if signed else _("287(g) %(model)s agreement", model=support_type_label(kind))
             for kind, signed in participating]
    parts += [_("287(g) %(model)s agreement requested (pending)", model=support_type_label(kind))
              for kind in pending]
    if not parts:
        return _("No 287(g) agreement on ICE's list")
    return _("%(agency)s: %(agreements)s", agency=agency, agreements="; ".join(parts))


def office_agreement_summary(office: Office) -> str | None:
    """ICE's 287(g) agreements held by the office itself (e.g. a state attorney general's task force), or None."""
    rows = sorted((a for a in office.agreements if a.ended_on is None),
                  key=lambda a: (a.signed_on is None, a.signed_on, a.support_type))
    if not rows:
        return None
    participating = [(a.support_type, a.signed_on.isoformat() if a.signed_on else "") for a in rows
                     if a.status is AgreementStatus.PARTICIPATING]
    pending = [a.support_type for a in rows if a.status is AgreementStatus.PENDING]
    return agreement_summary(rows[0].agency, participating, pending)


# Letters page groups: officials elected where the supporter lives, and those in Washington (Congress and the
# federal agencies the campaign writes to).
WASHINGTON = (OfficeType.US_REPRESENTATIVE, OfficeType.US_SENATOR, OfficeType.FIXED_TARGET)


def target_groups(drafts: list) -> list[tuple[str, list]]:
    """[(heading, drafts)] in order, empty groups left out; each draft has .target.office."""
    local = [d for d in drafts if d.target.office.type not in WASHINGTON]
    federal = [d for d in drafts if d.target.office.type in WASHINGTON]
    return [(heading, items) for heading, items in ((_("Your local and state officials"), local),
                                                    (_("In Washington"), federal)) if items]


def status_label(status: str) -> str:
    return str(STATUS_LABELS[status])


def address_message(code: str, params: dict[str, object] | None = None) -> str:
    """A matching message id (AddressError.code or a Match warning) in the page's language."""
    text = matching.MESSAGES.get(code)
    if text is None:
        return _("We could not use this address. Please check it and try again.")
    return _(text, **(params or {}))
