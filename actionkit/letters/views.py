"""The supporter's journey: campaign page and form -> officials (confirm or choose when unsure) -> letters ->
one signature -> a receipt (the live delivery statuses are on the page the e-mailed link opens). Every step works
without JavaScript; state moves between steps in a sealed hidden field (and, for the GET page a step redirects to,
a sealed HttpOnly cookie scoped to the campaign), never in the URL and never in the database before the signature.

The signature itself is one INSERT (an encrypted submission) and one task: the worker drafts and records the
letters, so a surge of supporters queues work instead of queueing requests. The thank-you page shows the letters
being prepared until the worker has recorded them (usually well under a second).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError

from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign, CampaignMode, Personalisation
from actionkit.db import utcnow
from actionkit.delivery import services as delivery_services
from actionkit.delivery.models import Channel
from actionkit.extensions import db, limiter
from actionkit.i18n import choose_request_language
from actionkit.campaigns import sources
from actionkit.letters import calls, guards, labels, services, tasks
from actionkit.letters.confirmation import public_url
from actionkit.letters.forms import STATE_MAX_AGE_SECONDS, STATE_MAX_CHARS, CallReportForm, ComposeForm, \
    ConfirmEmailForm, ExpiredState, StepForm, paragraph_fits, seal, seal_paragraph, signup_form, unseal, \
    unseal_paragraph
from actionkit.letters.models import CallOutcome, SubmissionStatus
from actionkit.letters.services import ChoiceError, Choices, Plan, Signer
from actionkit.officials.matching import AddressError
from actionkit.officials.models import DivisionType
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role

log = logging.getLogger(__name__)
bp = Blueprint("letters", __name__)
bp.before_request(choose_request_language)
bp.after_request(guards.private_page)


def lang() -> str:
    return str(get_locale() or "en")


def form_error_list(form: Any) -> list[tuple[str, str]]:
    """(field id, first message) for the error summary, in the order the fields appear."""
    return [(f.id, str(f.errors[0])) for f in form if f.errors and f.type not in ("CSRFTokenField", "HiddenField")]


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"labels": labels, "DivisionType": DivisionType, "form_error_list": form_error_list}


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, lang=lang(), **context), status


def _problem(status: int, title: str, message: str, campaign: Campaign | None = None) -> tuple[str, int]:
    return _page("letters/problem.html", status, title=title, message=message, campaign=campaign)


def _guard(campaign: Campaign) -> tuple[str, int] | None:
    """Origin check and honeypot for every public POST."""
    if guards.cross_origin():
        log.warning("rejected a cross-origin POST to %s", request.endpoint)
        return _problem(403, _("This form was sent from another website"),
                        _("For your safety we only accept this form from our own pages. Please open the campaign "
                          "page and try again."), campaign)
    if guards.honeypot_filled():
        log.info("honeypot filled on %s", request.endpoint)
        return _problem(400, _("Your form could not be sent"),
                        _("Please go back to the campaign page and try again."), campaign)
    return None


def _carried_source() -> str:
    """The source code a step form posted back (kept when the sealed state has expired)."""
    return sources.clean(request.form.get("source")) or "" if request.method == "POST" else ""


def _open_state(campaign: Campaign, form: Any) -> dict[str, Any] | None:
    """The state a step form carries, or None when it is missing, tampered with, expired or another campaign's."""
    try:
        return unseal(form.state.data, campaign.id)
    except ExpiredState:
        return None


def _expired(campaign: Campaign) -> tuple[str, int]:
    form = signup_form(campaign, formdata=None, state=campaign.state.upper(), source=_carried_source())
    return _page("letters/campaign.html", 400, campaign=campaign, form=form, expired=True)


@bp.errorhandler(404)
def _not_found(exc: Exception) -> tuple[str, int]:
    return _problem(404, _("Page not found"),
                    _("This page does not exist, or the campaign is not open. Check the link you were given."))


@bp.errorhandler(429)
def _too_many(exc: Exception) -> Any:
    """Rate limited: say when to try again, keep the language switch, and keep what was typed (the form's fields
    come back as hidden inputs that "Try again" re-sends)."""
    choose_request_language()  # the limit is checked before the blueprint's hooks; a language button still works
    seconds = guards.retry_after_seconds()
    minutes = max(1, (seconds + 30) // 60)
    wait = (_("Please wait a minute, then try again.") if minutes <= 1 else
            ngettext("Please wait %(num)d minute, then try again.", "Please wait %(num)d minutes, then try again.",
                     minutes))
    retry = None
    if request.method == "POST":
        retry = [(name, value) for name, value in request.form.items(multi=True)
                 if name != "set_lang" and len(value) <= STATE_MAX_CHARS]
        retry = [(n, lang() if n == "lang" else v) for n, v in retry]
    body, status = _page("letters/too_many.html", 429, campaign=_open_campaign_of_request(), wait=wait,
                         retry_fields=retry)
    return body, status, {"Retry-After": str(seconds)}


def _open_campaign_of_request() -> Campaign | None:
    """The open campaign the refused request was for (error pages link back to it and keep the language
    switch), or None."""
    slug = (request.view_args or {}).get("slug")
    campaign = campaigns.by_slug(slug) if isinstance(slug, str) else None
    return campaign if campaign is not None and campaigns.is_open(campaign) else None


@bp.errorhandler(413)
def _too_large(exc: Exception) -> tuple[str, int]:
    return _problem(413, _("Too much was sent"),
                    _("What you sent is larger than this form accepts, so none of it was read. Please go back, "
                      "shorten what you typed and try again."), _open_campaign_of_request())


@bp.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> tuple[str, int]:
    return _problem(400, _("Your session has expired"),
                    _("For your safety this page only works for a while. Please open the campaign page and try "
                      "again."))


# --- step 1: the campaign page and the form --------------------------------------------------------------------

@bp.get("/act/<slug>")
def campaign(slug: str) -> tuple[str, int]:
    campaign = campaigns.by_slug(slug)
    if campaign is not None and campaigns.has_ended(campaign):
        return _ended(campaign)  # links already shared keep working
    if campaign is None or not campaigns.is_open(campaign):
        abort(404)
    form = signup_form(campaign, formdata=None, state=campaign.state.upper(),
                       source=sources.from_args(request.args) or "")
    return _page("letters/campaign.html", campaign=campaign, form=form, progress=_progress(campaign))


def _progress(campaign: Campaign) -> dict[str, int] | None:
    """The public goal: the count (None below GOAL_COUNT_FROM) and the goal, when the campaign has one."""
    if not campaign.goal:
        return None
    count = services.signature_count(campaign.id)
    return {"goal": campaign.goal, "count": count if count >= services.GOAL_COUNT_FROM else None}


SMALL_COUNT = 5  # below this a count is shown as "fewer than 5", as in the stats: no one is singled out


def _ended(campaign: Campaign) -> tuple[str, int]:
    """What a campaign that has ended achieved, and the campaigns supporters can act on now."""
    supporters, letters = services.campaign_totals(campaign.id)
    totals = [
        ngettext("%(num)s supporter wrote to their officials.", "%(num)s supporters wrote to their officials.",
                 supporters) if supporters >= SMALL_COUNT else _("Fewer than 5 supporters wrote to their officials."),
        ngettext("%(num)s letter was sent.", "%(num)s letters were sent.", letters)
        if letters >= SMALL_COUNT else _("Fewer than 5 letters were sent."),
    ]
    live = [c for c in campaigns.open_campaigns() if c.id != campaign.id]
    return _page("letters/ended.html", campaign=campaign, totals=totals, live=live)


@bp.get("/act/<slug>/preview")
@role_required(Role.EDITOR)
def preview(slug: str) -> tuple[str, int]:
    """Staff see a draft's page exactly as supporters will (the form cannot be sent from here)."""
    campaign = campaigns.by_slug(slug)
    if campaign is None:
        abort(404)
    form = signup_form(campaign, formdata=None, state=campaign.state.upper())
    return _page("letters/campaign.html", campaign=campaign, form=form, preview=True, progress=_progress(campaign))


@bp.post("/act/<slug>")
@limiter.limit(guards.public_rate_limit)
def find(slug: str) -> Any:
    campaign = campaigns.live_or_404(slug)
    if (refused := _guard(campaign)) is not None:
        return refused
    form = signup_form(campaign)
    if "set_lang" in request.form:
        return _page("letters/campaign.html", campaign=campaign, form=form)
    if not form.validate_on_submit():
        return _page("letters/campaign.html", 422, campaign=campaign, form=form)
    signer = form.signer(lang())
    try:
        plan = services.find_officials(campaign, signer)
    except AddressError as exc:
        db.session.rollback()
        form.street.errors = [*form.street.errors, labels.address_message(exc.code, exc.params)]
        return _page("letters/campaign.html", 422, campaign=campaign, form=form)
    db.session.commit()  # the geocode cache entry (districts under an HMAC key; no address)
    return _to_step(campaign, signer, plan)


@bp.post("/act/<slug>/edit")
@limiter.limit(guards.public_rate_limit)
def edit(slug: str) -> Any:
    """'Correct my address': back to the form, filled in from the sealed state."""
    campaign = campaigns.live_or_404(slug)
    if (refused := _guard(campaign)) is not None:
        return refused
    step = StepForm()
    if not step.validate_on_submit() or (data := _open_state(campaign, step)) is None:
        return _expired(campaign)
    form = signup_form(campaign, formdata=None)
    form.fill(Signer.from_dict(data["signer"]))
    return _page("letters/campaign.html", campaign=campaign, form=form)


def _sealed(campaign: Campaign, signer: Signer, plan: Plan, letters: list[int] | None = None) -> str:
    """The step state; the letters page adds the offices it offered, so the signature needs no drafting."""
    data: dict[str, Any] = {"campaign": campaign.id, "signer": signer.to_dict(), "plan": plan.to_dict()}
    if letters is not None:
        data["letters"] = letters
    return seal(data)


def _next_step(campaign: Campaign, signer: Signer, plan: Plan) -> tuple[str, int]:
    if plan.needs_confirmation:
        return _confirm_page(campaign, signer, plan)
    if campaign.mode is CampaignMode.CALLS:
        return _call_page(campaign, signer, plan)
    return _compose_page(campaign, signer, plan)


# Post/Redirect/Get: a step that succeeded redirects to its next page, fetched with GET, so Back and Reload
# never ask to send a form again. The sealed state (encrypted, expiring) rides in an HttpOnly cookie scoped to
# the campaign's pages, never in the URL; the signature clears it.
STEP_COOKIE = "actionkit_step"
MAX_STEP_COOKIE = 3500  # bytes; browsers keep 4 KB per cookie. A larger state is shown in place, as before


def _step_path(campaign: Campaign) -> str:
    return url_for("letters.campaign", slug=campaign.slug)


def _to_step(campaign: Campaign, signer: Signer, plan: Plan) -> Any:
    state = _sealed(campaign, signer, plan)
    if len(state) > MAX_STEP_COOKIE:
        return _next_step(campaign, signer, plan)
    endpoint = ("letters.officials" if plan.needs_confirmation else
                "letters.call_page" if campaign.mode is CampaignMode.CALLS else "letters.letters_page")
    resp = redirect(url_for(endpoint, slug=campaign.slug, lang=lang()), 303)
    _set_step_cookie(resp, campaign, state)
    return resp


def _set_step_cookie(resp: Any, campaign: Campaign | campaigns.Brief, state: str) -> None:
    resp.set_cookie(STEP_COOKIE, state, max_age=STATE_MAX_AGE_SECONDS,
                    path=url_for("letters.campaign", slug=campaign.slug),
                    secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), httponly=True, samesite="Lax")


# A paragraph the supporter chose on another page to add to their letters (the story form's "also add my story to
# my letters"): sealed in its own HttpOnly cookie scoped to the campaign, never the URL; it only pre-fills the
# paragraph field of the letters page, where they read, change or delete it before sending. The signature clears it.
PARAGRAPH_COOKIE = "actionkit_paragraph"


def offers_paragraph(campaign: Campaign) -> bool:
    """Whether this campaign's letters take a supporter's own paragraph."""
    return campaign.personalisation is Personalisation.PARAGRAPH and bool(campaign.target_types)


def offer_paragraph(resp: Any, campaign: Campaign, text: str) -> bool:
    """Keep `text` for this campaign's letters page; False (nothing kept) when the campaign takes no paragraph or
    the text does not fit a paragraph (the story form checks paragraph_fits first and says so)."""
    if not offers_paragraph(campaign) or not text.strip() or not paragraph_fits(text):
        return False
    sealed = seal_paragraph(campaign.id, text)
    resp.set_cookie(PARAGRAPH_COOKIE, sealed, max_age=STATE_MAX_AGE_SECONDS, path=_step_path(campaign),
                    secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), httponly=True, samesite="Lax")
    return True


def _offered_paragraph(campaign: Campaign) -> str | None:
    if not offers_paragraph(campaign):
        return None
    return unseal_paragraph(request.cookies.get(PARAGRAPH_COOKIE), campaign.id)


def _step_data(campaign: Campaign) -> dict[str, Any] | None:
    try:
        return unseal(request.cookies.get(STEP_COOKIE), campaign.id)
    except ExpiredState:
        return None


def _step_state(campaign: Campaign) -> tuple[Signer, Plan] | None:
    """The journey's state before the signature (after it, only the call page reads what is left)."""
    data = _step_data(campaign)
    if data is None or data.get("signed"):
        return None
    return Signer.from_dict(data["signer"]), Plan.from_dict(data["plan"])


@bp.get("/act/<slug>/officials")
def officials(slug: str) -> Any:
    """The officials to confirm (or choose), shown again on Back or Reload."""
    campaign = campaigns.live_or_404(slug)
    if (state := _step_state(campaign)) is None:
        return redirect(url_for("letters.campaign", slug=slug, lang=lang()), 303)
    return _next_step(campaign, *state)


@bp.get("/act/<slug>/letters")
def letters_page(slug: str) -> Any:
    """The letters page, shown again on Back or Reload; after the signature, the campaign page."""
    campaign = campaigns.live_or_404(slug)
    if (state := _step_state(campaign)) is None:
        return redirect(url_for("letters.campaign", slug=slug, lang=lang()), 303)
    return _next_step(campaign, *state)


def _confirm_page(campaign: Campaign, signer: Signer, plan: Plan, errors: dict[str, str] | None = None,
                  status: int = 200) -> tuple[str, int]:
    form = StepForm(formdata=None, state=_sealed(campaign, signer, plan))
    summary = [(f"division-{code}" if code in {t.value for t in DivisionType} else code, message)
               for code, message in (errors or {}).items()]
    return _page("letters/confirm.html", status, campaign=campaign, form=form, plan=plan, summary=summary,
                 targets=services.targets(campaign, plan), groups=services.candidate_groups(campaign, plan),
                 agreement=services.agreement_for(services.county_of(plan)), errors=errors or {},
                 selected=request.form if errors else {})


def _compose_page(campaign: Campaign, signer: Signer, plan: Plan, form: ComposeForm | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    drafts = services.draft_letters(campaign, plan, first_name=signer.first_name, last_name=signer.last_name,
                                    city=signer.city, reader_lang=lang())
    offered = None
    if form is None:
        form = ComposeForm(formdata=None)
        if (offered := _offered_paragraph(campaign)) is not None:
            form.personal.data = offered  # their choice on the story form; they see it and may change it here
        included = {d.target.office.id for d in drafts if not d.error}
        bodies = {d.target.office.id: d.body for d in drafts}
    else:
        included = {int(v) for v in request.form.getlist("include") if v.isdigit()}
        # A letter longer than the limit is shown cut to it (with its error), never echoed in full.
        bodies = {d.target.office.id: request.form.get(f"body-{d.target.office.id}", d.body)[
            :services.MAX_EDITED_BODY_CHARS] for d in drafts}
    form.state.data = _sealed(campaign, signer, plan, [d.target.office.id for d in drafts if not d.error])
    # Congress's CWC system needs a title: ask only when one of these letters goes through it.
    via_cwc = any(delivery_services.channel_for(d.target.office) is Channel.CWC for d in drafts if not d.error)
    return _page("letters/compose.html", status, campaign=campaign, form=form, plan=plan, drafts=drafts,
                 via_cwc=via_cwc,
                 included=included, bodies=bodies, errors=errors or {},
                 agreement=services.agreement_for(services.county_of(plan)), Personalisation=Personalisation,
                 paragraph_offered=offered is not None)


# --- step 2: confirm a ZIP-level match, or choose among candidates ---------------------------------------------

@bp.post("/act/<slug>/confirm")
@limiter.limit(guards.public_rate_limit)
def confirm(slug: str) -> Any:
    campaign = campaigns.live_or_404(slug)
    if (refused := _guard(campaign)) is not None:
        return refused
    step = StepForm()
    if not step.validate_on_submit() or (data := _open_state(campaign, step)) is None:
        return _expired(campaign)
    signer, plan = Signer.from_dict(data["signer"]), Plan.from_dict(data["plan"])
    if "set_lang" in request.form:
        return _confirm_page(campaign, signer, plan)
    picks = {t.value: request.form.get(f"division-{t.value}", "") for t in DivisionType}
    try:
        chosen = services.choose(plan, address_option=request.form.get("address_option"), divisions=picks,
                                 confirmed=request.form.get("confirm") == "yes")
    except ChoiceError as exc:
        return _confirm_page(campaign, signer, plan, errors={exc.code: _choice_message(exc.code)}, status=422)
    return _to_step(campaign, signer, chosen)


def _choice_message(code: str) -> str:
    if code == "address_option":
        return _("Choose your address from the list.")
    if code == "confirm":
        return _("Please confirm that these are your officials, or correct your address.")
    return str(labels.DIVISION_QUESTIONS.get(DivisionType(code), _("Please make a choice.")))


# --- step 3: the letters, and the one signature ------------------------------------------------------------------

def _compose_input(personalisation: Personalisation, sendable: list[int], form: ComposeForm,
                   plan: Plan) -> tuple[Choices, dict[str, str]]:
    """The supporter's choices (offices kept among those offered, their paragraph and edits); errors keyed by
    field id."""
    errors: dict[str, str] = {}
    offered = set(sendable)
    included = list(dict.fromkeys(int(v) for v in request.form.getlist("include") if v.isdigit() and int(v) in offered))
    if not included and not plan.waiting:
        errors["letters"] = _("Choose at least one official to write to.")
    bodies: dict[int, str] = {}
    if personalisation is Personalisation.EDITABLE:
        for office_id in included:
            text = request.form.get(f"body-{office_id}")
            if text is None:  # not sent at all: the letter stays as the campaign wrote it
                continue
            if not text.strip():
                errors[f"body-{office_id}"] = _("This letter is empty. Write your letter or leave this official "
                                                "out.")
            elif len(text) > services.MAX_EDITED_BODY_CHARS:
                errors[f"body-{office_id}"] = _("This letter is too long.")
            bodies[office_id] = text
    for field, messages in form.errors.items():
        errors[field] = str(messages[0])
    personal = form.personal.data or "" if personalisation is Personalisation.PARAGRAPH else ""
    return Choices(included, personal, bodies), errors


@bp.post("/act/<slug>/sign")
@limiter.limit(guards.public_rate_limit)
def sign(slug: str) -> Any:
    """The hot path: checks, then one INSERT and one task; the letters are drafted and recorded by the worker."""
    brief = campaigns.live_brief_or_404(slug)
    if guards.cross_origin() or guards.honeypot_filled():
        return _guard(campaigns.live_or_404(slug))
    if brief.mode is CampaignMode.CALLS:  # a calls-only campaign sends no letters
        return redirect(url_for("letters.call_page", slug=slug, lang=lang()), 303)
    form = ComposeForm()
    valid = form.validate_on_submit()
    try:
        data = unseal(form.state.data, brief.id)
    except ExpiredState:
        return _expired(campaigns.live_or_404(slug))
    signer, plan = Signer.from_dict(data["signer"]), Plan.from_dict(data["plan"])
    if plan.needs_confirmation:
        return _expired(campaigns.live_or_404(slug))
    sendable = data.get("letters")
    if "set_lang" in request.form or sendable is None:  # a language switch; or a state minted before "letters"
        campaign = campaigns.live_or_404(slug)
        if "set_lang" in request.form:
            return _compose_page(campaign, signer, plan, form=form)
        sendable = [d.target.office.id for d in services.draft_letters(
            campaign, plan, first_name=signer.first_name, last_name=signer.last_name, city=signer.city)
            if not d.error]
    choices, errors = _compose_input(brief.personalisation, sendable, form, plan)
    if errors or not valid:
        return _compose_page(campaigns.live_or_404(slug), signer, plan, form=form, errors=errors, status=422)
    if form.title.data and form.title.data != "none":
        signer = dataclasses.replace(signer, title=form.title.data)
    # The same INSERT, commit, task and redirect for every signature: whether this e-mail signed before is found
    # by the worker, which tells the address's owner by e-mail (docs/architecture.md, "Repeat signatures").
    accepted = services.accept(brief.id, signer, plan, choices, email_check=brief.confirm_email)
    db.session.commit()
    if brief.confirm_email:
        tasks.publish(tasks.send_email_check, accepted.submission_id)
    else:
        tasks.publish(tasks.process_submission, accepted.submission_id)
    log.info("submission %s accepted", accepted.submission_id)
    resp = redirect(url_for("letters.thanks", slug=brief.slug, token=accepted.token, lang=lang()), 303)
    if brief.mode is CampaignMode.BOTH:  # the receipt offers the call page: keep only what its scripts need
        _set_step_cookie(resp, brief, seal(_call_state(brief.id, signer, plan)))
    else:
        resp.delete_cookie(STEP_COOKIE, path=url_for("letters.campaign", slug=brief.slug))
    resp.delete_cookie(PARAGRAPH_COOKIE, path=url_for("letters.campaign", slug=brief.slug))
    return resp


# --- the thank-you page ------------------------------------------------------------------------------------------

def _status_payload(action: services.Action) -> dict[str, Any]:
    if action.supporter.deleted_at is not None:
        return {"letters": [], "pending": [], "final": True, "deleted": True}
    statuses = services.letter_statuses(action)
    return {
        "deleted": False,
        "letters": [{"id": s.letter_id, "status": s.status, "label": labels.status_label(s.status)}
                    for s in statuses],
        "pending": list(action.pending_types or []),
        "final": all(s.final for s in statuses) and not action.pending_types,
    }


def _submission_or_404(slug: str, token: str) -> tuple[services.Submission, Campaign]:
    """A signature the worker has not recorded (yet) for this campaign, or 404."""
    submission = services.find_submission(token)
    campaign = campaigns.by_slug(slug)
    if submission is None or campaign is None or submission.campaign_id != campaign.id:
        abort(404)
    return submission, campaign


def _recorded(slug: str, token: str) -> tuple[services.Action | None, services.Submission | None, Campaign | None]:
    """(action, None, None) for an e-mailed token of a recorded action; else (None, submission, campaign): the
    sign redirect's token, or an e-mail check link not recorded yet; 404 for unknown tokens."""
    action = services.find_action(token)
    if action is None:
        submission, campaign = _submission_or_404(slug, token)
        return None, submission, campaign
    if action.campaign.slug != slug:
        abort(404)
    return action, None, None


def _share_url(campaign: Campaign) -> str:
    return public_url() + url_for("letters.campaign", slug=campaign.slug)


@bp.get("/act/<slug>/thanks/<token>")
def thanks(slug: str, token: str) -> tuple[str, int]:
    """The sign redirect's page (a receipt), or, opened from an e-mailed link, the action's letters and live
    statuses with the deletion link."""
    action, submission, campaign = _recorded(slug, token)
    if action is None:
        assert submission is not None and campaign is not None
        return _received(submission, campaign, token)
    campaign = action.campaign
    deleted = action.supporter.deleted_at is not None
    statuses = [] if deleted else services.letter_statuses(action)  # after a deletion: not even whom they wrote to
    return _page("letters/thanks.html", campaign=campaign, action=action, token=token, statuses=statuses,
                 items=list(zip(action.letters, statuses)), payload=_status_payload(action),
                 share_url=_share_url(campaign), deleted=deleted)


def _check_expired(submission: services.Submission) -> bool:
    created = submission.created_at if submission.created_at.tzinfo else \
        submission.created_at.replace(tzinfo=dt.timezone.utc)
    return submission.status is SubmissionStatus.EXPIRED or created < utcnow() - services.confirmation_max_age()


def _received(submission: services.Submission, campaign: Campaign, token: str) -> tuple[str, int]:
    """The page a submission's own token opens. It must look the same for a first and a repeat signature at
    every point in time and say nothing about an earlier one: "being prepared" until the worker has run, then a
    receipt of the officials this signer chose with "we have e-mailed you a link" (a first signature's owner
    gets the confirmation, a repeat's owner the notice; only those links show statuses). On a campaign that
    checks e-mail both wait for the link ("check your email")."""
    if submission.email_check and submission.status in CHECK_STATUSES:
        if _check_expired(submission):
            return _expired_check(campaign)
        return _page("letters/check_email.html", campaign=campaign, days=services.confirmation_max_age().days)
    if submission.status in (SubmissionStatus.RECORDED, SubmissionStatus.DUPLICATE):
        return _page("letters/received.html", campaign=campaign, offices=services.submission_offices(submission),
                     share_url=_share_url(campaign))
    if submission.status is not SubmissionStatus.RECEIVED:  # failed: nothing was recorded, nothing will be sent
        return _problem(500, _("Your letters could not be recorded"),
                        _("Something went wrong on our side and your letters were not sent. We are sorry. Please "
                          "open the campaign page and try again."), campaign)
    first_name, offices = services.submission_preview(submission)
    return _page("letters/preparing.html", campaign=campaign, token=token, first_name=first_name,
                 offices=offices)


@bp.get("/act/<slug>/thanks/<token>/status")
def status(slug: str, token: str) -> Response:
    """The same statuses as JSON, for static/js/status.js to refresh the page ("preparing" until the worker has
    recorded the signature; the script then reloads the page). The sign redirect's token never gets statuses."""
    action, submission, _campaign = _recorded(slug, token)
    if action is None:
        assert submission is not None
        preparing = submission.status is SubmissionStatus.RECEIVED
        return jsonify({"letters": [], "pending": [], "final": not preparing and submission.status is not
                        SubmissionStatus.FAILED, "preparing": preparing})
    return jsonify({**_status_payload(action), "preparing": False})


# --- campaigns that confirm the e-mail address: the link in the e-mail ----------------------------------------

CHECK_STATUSES = (SubmissionStatus.AWAITING, SubmissionStatus.DUPLICATE, SubmissionStatus.EXPIRED)


def _expired_check(campaign: Campaign) -> tuple[str, int]:
    return _problem(410, _("This link has expired"),
                    _("Your email address was not confirmed in time, so we erased your signature and sent "
                      "nothing. You are welcome to sign again from the campaign page."), campaign)


@bp.route("/act/<slug>/confirm-email/<token>", methods=["GET", "POST"])
@limiter.limit(guards.public_rate_limit, methods=["POST"])
def confirm_email(slug: str, token: str) -> Any:
    """The link e-mailed on campaigns that confirm addresses. GET shows a button (mail scanners open links;
    they must not confirm anything); its POST releases the letters to the worker."""
    submission, campaign = _submission_or_404(slug, token)
    if services.find_email_check(token) is None:  # the sign redirect's token: this page's answer would tell a
        abort(404)  # recorded first signature (a redirect) from a repeat ("expired")
    if submission.status in (SubmissionStatus.RECEIVED, SubmissionStatus.RECORDED):
        return redirect(url_for("letters.thanks", slug=slug, token=token, lang=lang()), 303)
    if submission.status is not SubmissionStatus.AWAITING or _check_expired(submission):
        return _expired_check(campaign)
    form = ConfirmEmailForm()
    if request.method == "GET":
        return _page("letters/confirm_email.html", campaign=campaign, form=form, token=token)
    if (refused := _guard(campaign)) is not None:
        return refused
    if not form.validate_on_submit():
        return _page("letters/confirm_email.html", 400, campaign=campaign, form=form, token=token)
    confirmed = services.confirm_email(token)
    db.session.commit()
    if confirmed is not None:
        tasks.publish(tasks.process_submission, confirmed.id)
        log.info("submission %s confirmed by e-mail", confirmed.id)
    return redirect(url_for("letters.thanks", slug=slug, token=token, lang=lang()), 303)


# --- calls: instead of letters, or as well ------------------------------------------------------------------------

def _call_state(campaign_id: int, signer: Signer, plan: Plan, called: list[int] | None = None) -> dict[str, Any]:
    """What the call page needs after a signature: the plan and the names its scripts use (no e-mail, street,
    ZIP or phone), and the offices already reported from this browser."""
    kept = Signer(first_name=signer.first_name, last_name=signer.last_name, email="", street="", city=signer.city,
                  state=signer.state, zip="", language=signer.language)
    return {"campaign": campaign_id, "signer": kept.to_dict(), "plan": plan.to_dict(), "signed": True,
            "called": called or []}


def _call_page(campaign: Campaign, signer: Signer, plan: Plan, called: list[int] | None = None,
               error: str | None = None, status: int = 200) -> tuple[str, int]:
    cards = calls.call_cards(campaign, plan, first_name=signer.first_name, last_name=signer.last_name,
                             city=signer.city, lang=lang())
    return _page("letters/call.html", status, campaign=campaign, plan=plan, cards=cards, form=CallReportForm(),
                 called=set(called or []), error=error, Outcome=CallOutcome,
                 agreement=services.agreement_for(services.county_of(plan)),
                 reported=request.args.get("reported", type=int))


@bp.get("/act/<slug>/call")
def call_page(slug: str) -> Any:
    """One card per official: the number to dial, the script, and one tap to report how the call went."""
    campaign = campaigns.live_or_404(slug)
    data = _step_data(campaign)
    if not campaign.takes_calls or data is None:
        return redirect(url_for("letters.campaign", slug=slug, lang=lang()), 303)
    plan = Plan.from_dict(data["plan"])
    if plan.needs_confirmation:
        return redirect(url_for("letters.officials", slug=slug, lang=lang()), 303)
    return _call_page(campaign, Signer.from_dict(data["signer"]), plan, data.get("called"))


@bp.post("/act/<slug>/call/report")
@limiter.limit(guards.public_rate_limit)
def report_call(slug: str) -> Any:
    """Count one call's outcome: only (campaign, office, outcome, day, language) is stored."""
    campaign = campaigns.live_or_404(slug)
    if (refused := _guard(campaign)) is not None:
        return refused
    data = _step_data(campaign)
    if not campaign.takes_calls or data is None:
        return _expired(campaign)
    signer, plan = Signer.from_dict(data["signer"]), Plan.from_dict(data["plan"])
    called = [int(i) for i in data.get("called") or []]
    form = CallReportForm()
    if not form.validate_on_submit():
        return _call_page(campaign, signer, plan, called, error=_("Choose how your call went."), status=422)
    office_id = form.office.data
    if office_id in called:
        return redirect(url_for("letters.call_page", slug=slug, lang=lang(), reported=office_id,
                                _anchor=f"card-{office_id}"), 303)
    callable_ids = [t.office.id for t in services.targets(campaign, plan)]
    try:
        calls.record_call(campaign, office_id, form.outcome.data, lang(), callable_ids)
    except calls.CallError:
        db.session.rollback()
        return _call_page(campaign, signer, plan, called, error=_("That call could not be counted. Please use the "
                                                                   "buttons under the official you called."),
                          status=422)
    db.session.commit()
    resp = redirect(url_for("letters.call_page", slug=slug, lang=lang(), reported=office_id,
                            _anchor=f"card-{office_id}"), 303)
    _set_step_cookie(resp, campaign, seal({**data, "called": [*called, office_id]}))
    return resp
