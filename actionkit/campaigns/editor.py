"""The staff campaign editor as plain functions: check and save a campaign with its texts and letter templates,
clone, publish, close, and preview a template against a sample official exactly as a supporter's letter is
rendered (the same render function and the same context builder). Functions flush and never commit.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Optional

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import selectinload

from actionkit.campaigns.models import LANGUAGES, LOC_TOPICS, CallScript, Campaign, CampaignMode, CampaignStatus, \
    CampaignText, LetterTemplate, Personalisation
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.letters import rendering
from actionkit.officials.models import (
    OFFICE_DIVISION, Agreement287g, AgreementStatus, Division, DivisionType, Office, OfficeType, Official,
)
from actionkit.officials.services import STATE_NAMES, DivisionRecord
from actionkit.staff.models import StaffUser
from actionkit.staff.services import audit

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TEXT_FIELDS = ("title", "summary", "body")
CAMPAIGN_FIELDS = ("slug", "state", "personalisation", "target_types", "letter_language", "goal", "starts_at",
                   "ends_at", "confirm_email", "cwc_topics", "cwc_statement", "cwc_response_requested", "mode")
OFFICE_TYPE_LABELS = {
    OfficeType.SHERIFF: "Sheriff",
    OfficeType.STATE_SENATOR: "State senator",
    OfficeType.STATE_REPRESENTATIVE: "State representative",
    OfficeType.US_REPRESENTATIVE: "U.S. representative",
    OfficeType.US_SENATOR: "U.S. senators",
    OfficeType.GOVERNOR: "Governor",
    OfficeType.LIEUTENANT_GOVERNOR: "Lieutenant governor",
    OfficeType.ATTORNEY_GENERAL: "Attorney general",
    OfficeType.SECRETARY_OF_STATE: "Secretary of state",
    OfficeType.POLICE_CHIEF: "City police chief",
    OfficeType.FIXED_TARGET: "Fixed targets (every supporter, e.g. federal agencies)",
}
LANGUAGE_LABELS = {"en": "English", "es": "Spanish"}
# The sample supporter of every preview (the official and county come from the directory).
SAMPLE_SUPPORTER = {"first_name": "Ana", "last_name": "García", "city": "Gulfport"}
MERGE_FIELD_HELP = {
    "supporter.first_name": "the supporter's first name",
    "supporter.last_name": "the supporter's last name",
    "supporter.city": "the supporter's city",
    "supporter.county": "the supporter's county, e.g. \"Hinds County\" (may be empty)",
    "supporter.state": "the campaign's state, e.g. \"Mississippi\"",
    "official.title": "the office, e.g. \"Sheriff of Hinds County\"",
    "official.name": "the holder's full name (the office title when the holder is unknown)",
    "official.first_name": "the holder's first name (may be empty)",
    "official.last_name": "the holder's last name (may be empty)",
    "official.salutation": "e.g. \"Sheriff Jones\", \"Senator Wicker\"; just \"Sheriff\" when unknown",
    "official.district": "the district, e.g. \"Harrison County\", \"Mississippi State Senate District 49\"",
    "official.office_type": "sheriff, state_senator, state_representative, us_representative, us_senator, "
                            "governor, lieutenant_governor, attorney_general, secretary_of_state, police_chief or "
                            "fixed_target",
    "county": "the supporter's county (same as supporter.county)",
    "agreement_287g.active": "true when the county sheriff has a 287(g) agreement in force",
    "agreement_287g.pending": "true when the only agreements are pending",
    "agreement_287g.status": "one sentence, e.g. \"287(g) Jail Enforcement Model agreement, signed 2025-06-30\"",
    "agreement_287g.signed": "date of the first signature, e.g. \"June 30, 2025\"",
    "agreement_287g.signed_iso": "the same date as 2025-06-30",
    "agreement_287g.support_types": "list of models, e.g. with |join(\", \")",
    "agreement_287g.agency": "e.g. \"Harrison County Sheriff's Office\"",
    "campaign.title": "the campaign's title in the letter language",
}


def template_key(office_type: OfficeType | str, lang: str) -> str:
    """The form prefix of one template: tpl_<office type>_<lang>."""
    return f"tpl_{OfficeType(office_type).value}_{lang}"


TEMPLATE_KEYS = {template_key(t, lang): (t, lang) for t in OfficeType for lang in LANGUAGES}


def script_key(office_type: OfficeType | str, lang: str) -> str:
    """The form field of one call script: script_<office type>_<lang>."""
    return f"script_{OfficeType(office_type).value}_{lang}"


SCRIPT_KEYS = {script_key(t, lang): (t, lang) for t in OfficeType for lang in LANGUAGES}


@dataclass
class TemplateText:
    subject: str = ""
    body: str = ""

    @property
    def blank(self) -> bool:
        return not self.subject.strip() and not self.body.strip()


@dataclass
class CampaignDraft:
    """What the editor form holds: every value of a campaign, before it is checked and saved."""

    slug: str = ""
    state: str = "ms"
    personalisation: Personalisation = Personalisation.PARAGRAPH
    target_types: list[str] = field(default_factory=list)
    letter_language: str = "en"
    goal: Optional[int] = None
    starts_at: Optional[dt.datetime] = None
    ends_at: Optional[dt.datetime] = None
    confirm_email: bool = False
    cwc_topics: list[str] = field(default_factory=lambda: ["Immigration"])  # Library of Congress policy areas
    cwc_statement: Optional[str] = None
    cwc_response_requested: bool = True
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> title/summary/body
    templates: dict[str, TemplateText] = field(default_factory=dict)  # template_key -> subject/body
    mode: CampaignMode = CampaignMode.LETTERS  # letters, calls or both
    scripts: dict[str, str] = field(default_factory=dict)  # script_key -> call script (sandboxed, as letters)


@dataclass(frozen=True)
class Problem:
    """Why a campaign cannot be saved or published: which form field (and template part and line), and why."""

    field: str
    message: str
    part: Optional[str] = None  # "subject" or "body" for template problems
    line: Optional[int] = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return where + self.message


class EditorError(Exception):
    """The campaign was not saved (or published); `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p}" for p in problems))


def _aware(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


# --- reading and checking -------------------------------------------------------------------------------------

def get(campaign_id: int) -> Optional[Campaign]:
    return db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                             .options(selectinload(Campaign.texts), selectinload(Campaign.templates)))


def list_campaigns() -> list[Campaign]:
    """Every campaign, live first, then drafts, then closed; newest first within each."""
    order = {CampaignStatus.LIVE: 0, CampaignStatus.DRAFT: 1, CampaignStatus.CLOSED: 2}
    rows = db.session.scalars(select(Campaign).options(selectinload(Campaign.texts))
                              .order_by(Campaign.updated_at.desc(), Campaign.id.desc())).all()
    return sorted(rows, key=lambda c: order[c.status])


def draft_from(campaign: Campaign) -> CampaignDraft:
    """The editor's values for an existing campaign."""
    return CampaignDraft(
        slug=campaign.slug, state=campaign.state, personalisation=campaign.personalisation,
        target_types=list(campaign.target_types), letter_language=campaign.letter_language, goal=campaign.goal,
        starts_at=_aware(campaign.starts_at), ends_at=_aware(campaign.ends_at),
        confirm_email=bool(campaign.confirm_email),
        cwc_topics=list(campaign.cwc_topics or ["Immigration"]), cwc_statement=campaign.cwc_statement,
        cwc_response_requested=campaign.cwc_response_requested is not False,
        texts={t.lang: {f: getattr(t, f) or "" for f in TEXT_FIELDS} for t in campaign.texts},
        templates={template_key(t.office_type, t.lang): TemplateText(t.subject, t.body) for t in campaign.templates},
        mode=campaign.mode or CampaignMode.LETTERS,
        scripts={script_key(s.office_type, s.lang): s.body for s in campaign.call_scripts},
    )


def template_problems(key: str, text: TemplateText) -> list[Problem]:
    """The sandbox's verdict on one template (syntax, unknown fields, forbidden constructs, size, time)."""
    return [Problem(key, p.reason, p.field, p.line) for p in rendering.validate_template(text.subject, text.body)]


def check(draft: CampaignDraft, campaign: Optional[Campaign] = None) -> list[Problem]:
    """Every reason the draft cannot be saved over `campaign` (None: a new campaign)."""
    problems: list[Problem] = []
    if not SLUG.match(draft.slug or ""):
        problems.append(Problem("slug", "Use lower-case letters, digits and single hyphens, e.g. end-287g-ms."))
    else:
        taken = db.session.scalar(select(Campaign.id).where(Campaign.slug == draft.slug,
                                                            Campaign.id != (campaign.id if campaign else -1)))
        if taken is not None:
            problems.append(Problem("slug", "Another campaign already uses this slug."))
        elif campaign is not None and campaign.status is not CampaignStatus.DRAFT and draft.slug != campaign.slug:
            problems.append(Problem("slug", "The link of a published campaign cannot change; clone it instead."))
    if draft.state not in STATE_NAMES:
        problems.append(Problem("state", "Choose a state."))
    if not draft.target_types:
        problems.append(Problem("target_types", "Choose at least one kind of official to write to."))
    for kind in draft.target_types:
        if kind not in {t.value for t in OfficeType}:
            problems.append(Problem("target_types", f"{kind!r} is not a kind of office."))
    if draft.letter_language not in LANGUAGES:
        problems.append(Problem("letter_language", "Choose the language officials receive."))
    unknown = [t for t in draft.cwc_topics if t not in LOC_TOPICS]
    if unknown or not draft.cwc_topics:
        problems.append(Problem("cwc_topics", "Choose at least one Library of Congress policy area for letters to "
                                              "Congress" + (f" (not {', '.join(unknown)})" if unknown else "") + "."))
    if draft.cwc_statement and len(draft.cwc_statement) > 5000:
        problems.append(Problem("cwc_statement", "Keep the organization statement under 5,000 characters."))
    if draft.goal is not None and draft.goal < 1:
        problems.append(Problem("goal", "The goal must be a positive number (or empty)."))
    if draft.starts_at and draft.ends_at and draft.ends_at <= draft.starts_at:
        problems.append(Problem("ends_at", "The end must be after the start."))

    if not (draft.texts.get("en") or {}).get("title", "").strip():
        problems.append(Problem("text_en-title", "The English title is required."))
    for lang, text in draft.texts.items():
        if lang != "en" and any((text.get(f) or "").strip() for f in TEXT_FIELDS) and \
                not (text.get("title") or "").strip():
            problems.append(Problem(f"text_{lang}-title", f"Give a {LANGUAGE_LABELS.get(lang, lang)} title, or "
                                                          "leave every field of this language empty."))

    for key, text in draft.templates.items():
        if key not in TEMPLATE_KEYS:
            problems.append(Problem(key, "unknown template"))
        elif not text.blank:
            problems.extend(template_problems(key, text))
    for key, text in draft.scripts.items():
        if key not in SCRIPT_KEYS:
            problems.append(Problem(key, "unknown call script"))
        elif text.strip():
            problems.extend(script_problems(key, text))
    if campaign is not None and campaign.status is CampaignStatus.LIVE:
        problems.extend(_missing_for_mode(draft))
    return problems


def script_problems(key: str, text: str) -> list[Problem]:
    """The sandbox's verdict on one call script (the letters' rules and merge fields)."""
    return [Problem(key, p.reason, "body", p.line) for p in rendering.validate_script(text)]


def _missing_for_mode(draft: CampaignDraft) -> list[Problem]:
    """Letters for a campaign that sends them; an English call script for each targeted type if it asks for calls
    (the Spanish one is optional: Spanish-speaking callers read the English script otherwise)."""
    problems = []
    if draft.mode is not CampaignMode.CALLS:
        problems += _missing_templates(draft.target_types, draft.letter_language, draft.templates)
    if draft.mode is not CampaignMode.LETTERS:
        for kind in draft.target_types:
            if kind in {t.value for t in OfficeType} and not draft.scripts.get(script_key(kind, "en"), "").strip():
                problems.append(Problem(script_key(kind, "en"), f"{OFFICE_TYPE_LABELS[OfficeType(kind)]} is "
                                                                 "targeted and supporters are asked to call, so it "
                                                                 "needs a call script in English."))
    return problems


def _missing_templates(target_types: Iterable[str], letter_language: str,
                       templates: dict[str, TemplateText]) -> list[Problem]:
    """A published campaign needs a letter for each targeted office type in the language officials receive."""
    problems = []
    for kind in target_types:
        if kind not in {t.value for t in OfficeType}:
            continue
        key = template_key(kind, letter_language)
        fallback = template_key(kind, "en")
        text = templates.get(key) or templates.get(fallback)
        if text is None or text.blank:
            label = OFFICE_TYPE_LABELS[OfficeType(kind)]
            problems.append(Problem(key, f"{label} is targeted, so it needs a letter in "
                                         f"{LANGUAGE_LABELS.get(letter_language, letter_language)}.", "subject"))
    return problems


def untranslated(draft: CampaignDraft) -> list[str]:
    """Warnings (saving still works): a targeted letter with no text in a supporter language other than the one
    officials receive, so those supporters would sign a letter they cannot read."""
    warnings = []
    for lang in LANGUAGES:
        if lang == draft.letter_language:
            continue
        for kind in draft.target_types:
            if kind not in {t.value for t in OfficeType}:
                continue
            text = draft.templates.get(template_key(kind, lang))
            if text is None or text.blank:
                language = LANGUAGE_LABELS.get(lang, lang)
                warnings.append(f"{OFFICE_TYPE_LABELS[OfficeType(kind)]} letter has no {language} text: "
                                f"{language}-speaking supporters see only the letter officials receive.")
    return warnings


# --- saving ---------------------------------------------------------------------------------------------------

def save(draft: CampaignDraft, campaign: Optional[Campaign], actor: Optional[StaffUser]) -> Campaign:
    """Create or update the campaign with its texts and templates; raise EditorError and change nothing when
    anything is wrong. Each changed template gets its own audit entry."""
    problems = check(draft, campaign)
    if problems:
        raise EditorError(problems)
    creating = campaign is None
    if campaign is None:
        campaign = Campaign(status=CampaignStatus.DRAFT, texts=[], templates=[])
        db.session.add(campaign)
    changed = []
    for name in CAMPAIGN_FIELDS:
        new = getattr(draft, name)
        old = getattr(campaign, name)
        if name in ("starts_at", "ends_at"):
            old = _aware(old)
        if name == "target_types":
            new = list(new)
        if creating or old != new:
            setattr(campaign, name, new)
            changed.append(name)
    changed += _save_texts(campaign, draft.texts)
    db.session.flush()
    template_changes = _save_templates(campaign, draft.templates)
    script_changes = _save_scripts(campaign, draft.scripts)
    db.session.flush()
    if creating or changed:
        audit(actor, "campaign.create" if creating else "campaign.update", "campaign", campaign.id,
              slug=campaign.slug, fields=changed)
    for action, template in template_changes:
        audit(actor, f"template.{action}", "letter_template", template.id, campaign_id=campaign.id,
              office_type=template.office_type, lang=template.lang)
    for action, script in script_changes:
        audit(actor, f"call_script.{action}", "call_script", script.id, campaign_id=campaign.id,
              office_type=script.office_type, lang=script.lang)
    return campaign


def _save_scripts(campaign: Campaign, scripts: dict[str, str]) -> list[tuple[str, CallScript]]:
    changes: list[tuple[str, CallScript]] = []
    existing = {script_key(s.office_type, s.lang): s for s in campaign.call_scripts}
    for key, (kind, lang) in SCRIPT_KEYS.items():
        body = (scripts.get(key) or "").replace("\r\n", "\n").strip()
        row = existing.get(key)
        if not body:
            if row is not None:
                changes.append(("delete", row))
                campaign.call_scripts.remove(row)
            continue
        if row is None:
            row = CallScript(office_type=kind.value, lang=lang, body=body)
            campaign.call_scripts.append(row)
            changes.append(("create", row))
        elif row.body != body:
            row.body = body
            changes.append(("update", row))
    return changes


def _save_texts(campaign: Campaign, texts: dict[str, dict[str, str]]) -> list[str]:
    changed = []
    existing = {t.lang: t for t in campaign.texts}
    for lang in LANGUAGES:
        values = {f: (texts.get(lang) or {}).get(f, "") or "" for f in TEXT_FIELDS}
        row = existing.get(lang)
        if not any(v.strip() for v in values.values()):
            if row is not None:
                campaign.texts.remove(row)
                changed.append(f"text_{lang}")
            continue
        if row is None:
            row = CampaignText(lang=lang, title="")
            campaign.texts.append(row)
        for name, value in values.items():
            value = value.strip() if name == "title" else value.replace("\r\n", "\n").strip()
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.append(f"text_{lang}.{name}")
    return changed


def _save_templates(campaign: Campaign, templates: dict[str, TemplateText]) -> list[tuple[str, LetterTemplate]]:
    changes: list[tuple[str, LetterTemplate]] = []
    existing = {template_key(t.office_type, t.lang): t for t in campaign.templates}
    for key, (kind, lang) in TEMPLATE_KEYS.items():
        text = templates.get(key) or TemplateText()
        row = existing.get(key)
        subject, body = text.subject.strip(), text.body.replace("\r\n", "\n")
        if text.blank:
            if row is not None:
                changes.append(("delete", row))
                campaign.templates.remove(row)
            continue
        if row is None:
            row = LetterTemplate(office_type=kind.value, lang=lang, subject=subject, body=body)
            campaign.templates.append(row)
            changes.append(("create", row))
        elif row.subject != subject or row.body != body:
            row.subject, row.body = subject, body
            changes.append(("update", row))
    return changes


def unique_slug(base: str) -> str:
    base = base[:70].strip("-") or "campaign"
    slug, n = base, 1
    while db.session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def clone(campaign: Campaign, actor: Optional[StaffUser]) -> Campaign:
    """A draft copy (texts and templates, no dates) under a new slug, for next month's variant."""
    copy = Campaign(slug=unique_slug(f"{campaign.slug}-copy"), state=campaign.state, status=CampaignStatus.DRAFT,
                    personalisation=campaign.personalisation, target_types=list(campaign.target_types),
                    letter_language=campaign.letter_language, goal=campaign.goal,
                    confirm_email=campaign.confirm_email, mode=campaign.mode)
    copy.texts = [CampaignText(lang=t.lang, title=(t.title + " (copy)" if t.lang == "en" else t.title)[:200],
                               summary=t.summary, body=t.body) for t in campaign.texts]
    copy.templates = [LetterTemplate(office_type=t.office_type, lang=t.lang, subject=t.subject, body=t.body)
                      for t in campaign.templates]
    copy.call_scripts = [CallScript(office_type=s.office_type, lang=s.lang, body=s.body) for s in campaign.call_scripts]
    db.session.add(copy)
    db.session.flush()
    audit(actor, "campaign.clone", "campaign", copy.id, source_id=campaign.id, slug=copy.slug)
    return copy


def publish_problems(campaign: Campaign) -> list[Problem]:
    """What stops the campaign going live: no targets, a missing or broken letter, no title, already ended."""
    draft = draft_from(campaign)
    problems = [p for p in check(draft, campaign) if p.field != "slug"]
    if campaign.status is not CampaignStatus.LIVE:
        problems += _missing_for_mode(draft)
    if draft.ends_at is not None and draft.ends_at <= utcnow():
        problems.append(Problem("ends_at", "The end date has passed; change it before publishing."))
    if OfficeType.FIXED_TARGET.value in draft.target_types:
        problems += _fixed_target_problems()
    return problems


def _fixed_target_problems() -> list[Problem]:
    """A campaign writing to fixed targets needs at least one, and each must be able to receive letters."""
    offices = list(db.session.scalars(select(Office).where(Office.type == OfficeType.FIXED_TARGET)
                                      .order_by(Office.title)))
    if not offices:
        return [Problem("target_types", "There are no fixed targets yet: create them under Officials → Fixed "
                                        "targets, or untick fixed targets.")]
    return [Problem("target_types", f"{o.title} has no way to receive letters (no email, postal address, fax or "
                                    "web form link); add one in the officials admin before publishing.")
            for o in offices if not any((o.email, o.postal_address, o.fax, o.web_form_url))]


def publish(campaign: Campaign, actor: Optional[StaffUser]) -> None:
    """Draft or closed -> live; refused (EditorError) while anything would break a supporter's letter."""
    problems = publish_problems(campaign)
    if problems:
        raise EditorError(problems)
    old = campaign.status
    campaign.status = CampaignStatus.LIVE
    db.session.flush()
    audit(actor, "campaign.publish", "campaign", campaign.id, slug=campaign.slug, was=old.value)


def close(campaign: Campaign, actor: Optional[StaffUser]) -> None:
    """Live -> closed: the public page answers 404 from now on; letters already signed are still delivered."""
    if campaign.status is not CampaignStatus.LIVE:
        raise EditorError([Problem("status", "Only a live campaign can be closed.")])
    campaign.status = CampaignStatus.CLOSED
    db.session.flush()
    audit(actor, "campaign.close", "campaign", campaign.id, slug=campaign.slug)


# --- previews -------------------------------------------------------------------------------------------------

def transient(draft: CampaignDraft) -> Campaign:
    """An unsaved Campaign carrying the draft's values, for previews (never added to the session)."""
    campaign = Campaign(slug=draft.slug, state=draft.state if draft.state in STATE_NAMES else "ms",
                        status=CampaignStatus.DRAFT, personalisation=draft.personalisation,
                        target_types=list(draft.target_types), letter_language=draft.letter_language, goal=draft.goal)
    texts = [CampaignText(lang=lang, **{f: (draft.texts.get(lang) or {}).get(f, "") for f in TEXT_FIELDS})
             for lang in LANGUAGES if any((draft.texts.get(lang) or {}).get(f) for f in TEXT_FIELDS)]
    campaign.texts = texts or [CampaignText(lang="en", title="", summary="", body="")]
    return campaign


@dataclass
class Sample:
    """Who a preview is written to and from: a real office of the directory when there is one."""

    office: Office
    holder: Optional[Official]
    county: Optional[Division]
    agreement: Any  # letters.services.AgreementInfo
    real: bool

    def describe(self) -> str:
        who = self.holder.name if self.holder is not None else "holder unknown"
        where = f"; supporter {SAMPLE_SUPPORTER['first_name']} {SAMPLE_SUPPORTER['last_name']}, " \
                f"{SAMPLE_SUPPORTER['city']}" + (f", {self.county.name}" if self.county is not None else "")
        status = self.agreement.context()["status"] if self.county is not None else ""
        source = "from the directory" if self.real else "made up (the directory has none of this kind)"
        return f"{self.office.title} ({who}), {source}{where}" + (f". {status}" if status else "")


def _with_agreement(state: str) -> Select[tuple[Office]]:
    """Sheriff seats of the state with a 287(g) agreement in force."""
    return (select(Office).join(Division, Office.division_id == Division.id)
            .where(Division.state == state, Office.type == OfficeType.SHERIFF,
                   exists(select(Agreement287g.id).where(Agreement287g.office_id == Office.id,
                                                         Agreement287g.ended_on.is_(None),
                                                         Agreement287g.status == AgreementStatus.PARTICIPATING)))
            .order_by(Division.name))


def _sample_county(state: str) -> Optional[Division]:
    """A county whose sheriff has a 287(g) agreement (so conditionals show their 'active' branch), else any."""
    office = db.session.scalars(_with_agreement(state).limit(1)).first()
    if office is not None:
        return office.division
    return db.session.scalars(select(Division).where(Division.state == state, Division.type == DivisionType.COUNTY)
                              .order_by(Division.name).limit(1)).first()


def _sample_office(state: str, office_type: OfficeType, county: Optional[Division]) -> Optional[Office]:
    if office_type is OfficeType.SHERIFF and county is not None:
        found = db.session.scalars(select(Office).where(Office.division_id == county.id,
                                                        Office.type == OfficeType.SHERIFF)).first()
        if found is not None:
            return found
    has_holder = exists(select(Official.id).where(Official.office_id == Office.id, Official.left_on.is_(None)))
    return db.session.scalars(
        select(Office).join(Division, Office.division_id == Division.id)
        .where(Division.state == state, Office.type == office_type)
        .options(selectinload(Office.officials))
        .order_by(has_holder.desc(), Division.geoid, Division.name, Office.seat).limit(1)).first()


def _made_up_office(state: str, office_type: OfficeType) -> tuple[Office, Official, Division]:
    """Transient rows for a directory without this kind of office (never added to the session)."""
    state_name = STATE_NAMES.get(state, state.upper())
    county = DivisionRecord.for_county(state, "Harrison")
    kinds = {OfficeType.SHERIFF: (county, f"Sheriff of {county.name}"),
             OfficeType.STATE_SENATOR: (DivisionRecord.for_district(state, DivisionType.SLDU, 49), "State Senator"),
             OfficeType.STATE_REPRESENTATIVE: (DivisionRecord.for_district(state, DivisionType.SLDL, 121),
                                               "State Representative"),
             OfficeType.US_REPRESENTATIVE: (DivisionRecord.for_district(state, DivisionType.CD, 4),
                                            "U.S. Representative"),
             OfficeType.US_SENATOR: (DivisionRecord.for_state(state), f"U.S. Senator for {state_name}"),
             OfficeType.GOVERNOR: (DivisionRecord.for_state(state), f"Governor of {state_name}"),
             OfficeType.LIEUTENANT_GOVERNOR: (DivisionRecord.for_state(state), f"Lieutenant Governor of {state_name}"),
             OfficeType.ATTORNEY_GENERAL: (DivisionRecord.for_state(state), f"Attorney General of {state_name}"),
             OfficeType.SECRETARY_OF_STATE: (DivisionRecord.for_state(state), f"Secretary of State of {state_name}"),
             OfficeType.POLICE_CHIEF: (DivisionRecord.for_place(state, "Gulfport"), "Chief of Police of Gulfport"),
             OfficeType.FIXED_TARGET: (DivisionRecord.for_country(), "Director of a federal agency")}
    record, title = kinds[office_type]
    division = Division(ocd_id=record.ocd_id, name=record.name, type=record.type, state=state, geoid=record.geoid,
                        source="sample")
    if OFFICE_DIVISION[office_type] not in (DivisionType.COUNTY, DivisionType.STATE, DivisionType.PLACE,
                                            DivisionType.COUNTRY):
        title = f"{title}, {record.name}"
    office = Office(type=office_type, title=title, seat="", division=division, source="sample")
    holder = Official(person_key="sample:pat-doe", name="Pat Doe", first_name="Pat", last_name="Doe",
                      source="sample")
    county_division = division if office_type is OfficeType.SHERIFF else Division(
        ocd_id=county.ocd_id, name=county.name, type=DivisionType.COUNTY, state=state, source="sample")
    return office, holder, county_division


def sample_for(state: str, office_type: OfficeType | str) -> Sample:
    """The official and county a preview of this office type is rendered for."""
    from actionkit.letters.services import AgreementInfo, agreement_for

    kind = OfficeType(office_type)
    county = _sample_county(state)
    office = _sample_office(state, kind, county)
    if office is not None:
        return Sample(office, office.holder, county, agreement_for(county), True)
    made_up, holder, made_up_county = _made_up_office(state, kind)
    real_county = county is not None
    agreement = agreement_for(county) if real_county else AgreementInfo(
        agency=f"{made_up_county.name} Sheriff's Office",
        participating=[("Jail Enforcement Model", dt.date(2025, 6, 30))])
    return Sample(made_up, holder, county if real_county else made_up_county, agreement, False)


@dataclass
class Preview:
    """One template rendered for the sample, or the problems that stop it."""

    key: str
    subject: str = ""
    body: str = ""
    problems: list[Problem] = field(default_factory=list)
    sample: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "subject": self.subject, "body": self.body, "sample": self.sample,
                "ok": not self.problems,
                "problems": [{"part": p.part, "line": p.line, "message": p.message, "text": f"{p.part}, {p}"}
                             for p in self.problems]}


def render_for(campaign: Campaign, office_type: OfficeType | str, text: TemplateText,
               sample: Optional[Sample] = None) -> Preview:
    """Render a template the way letters.services drafts a supporter's letter (same context builder, same
    sandboxed render), for the sample official and the sample supporter."""
    from actionkit.letters.services import Target, letter_context

    kind = OfficeType(office_type)
    key = template_key(kind, "en")
    sample = sample or sample_for(campaign.state, kind)
    problems = template_problems(key, text)
    if problems:
        return Preview(key, problems=problems, sample=sample.describe())
    context = letter_context(campaign, Target(sample.office, sample.holder), county=sample.county,
                             agreement=sample.agreement, **SAMPLE_SUPPORTER)
    try:
        subject, body = rendering.render_letter(SimpleNamespace(subject=text.subject, body=text.body), context)
    except rendering.RenderError as exc:
        p = exc.problem
        return Preview(key, problems=[Problem(key, p.reason, p.field, p.line)], sample=sample.describe())
    return Preview(key, subject, body, sample=sample.describe())


def script_for(campaign: Campaign, office_type: OfficeType | str, text: str, sample: Sample) -> Preview:
    """Render a call script the way the call page does, for the sample official and supporter."""
    from actionkit.letters.services import Target, letter_context

    key = script_key(office_type, "en")
    problems = script_problems(key, text)
    if problems:
        return Preview(key, problems=problems, sample=sample.describe())
    context = letter_context(campaign, Target(sample.office, sample.holder), county=sample.county,
                             agreement=sample.agreement, **SAMPLE_SUPPORTER)
    try:
        body = rendering.render_script(text, context)
    except rendering.RenderError as exc:
        p = exc.problem
        return Preview(key, problems=[Problem(key, p.reason, "body", p.line)], sample=sample.describe())
    return Preview(key, "", body, sample=sample.describe())


def preview(draft: CampaignDraft, keys: Iterable[str]) -> dict[str, Preview]:
    """Previews of the draft's templates and call scripts named by keys (blank ones are skipped)."""
    campaign = transient(draft)
    samples: dict[OfficeType, Sample] = {}
    out = {}
    for key in keys:
        if key in SCRIPT_KEYS:
            kind, _lang = SCRIPT_KEYS[key]
            if not (draft.scripts.get(key) or "").strip():
                continue
            if kind not in samples:
                samples[kind] = sample_for(campaign.state, kind)
            result = script_for(campaign, kind, draft.scripts[key], samples[kind])
            result.key = key
            result.problems = [Problem(key, p.message, p.part, p.line) for p in result.problems]
            out[key] = result
            continue
        if key not in TEMPLATE_KEYS:
            continue
        text = draft.templates.get(key) or TemplateText()
        if text.blank:
            continue
        kind, _lang = TEMPLATE_KEYS[key]
        if kind not in samples:
            samples[kind] = sample_for(campaign.state, kind)
        result = render_for(campaign, kind, text, samples[kind])
        result.key = key
        result.problems = [Problem(key, p.message, p.part, p.line) for p in result.problems]
        out[key] = result
    return out


def merge_fields() -> list[tuple[str, str]]:
    """(field, what it holds) for every merge field the sandbox accepts, for the editor's reference list."""
    out = []
    for name, attrs in rendering.MERGE_FIELDS.items():
        for full in ([name] if attrs is None else [f"{name}.{a}" for a in sorted(attrs)]):
            out.append((full, MERGE_FIELD_HELP.get(full, "")))
    return out
