"""Stories: the public form (/act/<slug>/story), the published stories, deletion by code; and moderation under
/staff/stories. Views are thin: validate, call one service, commit once, render or redirect."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from actionkit.campaigns import services as campaigns
from actionkit.campaigns.models import Campaign
from actionkit.extensions import db, limiter
from actionkit.i18n import choose_request_language
from actionkit.letters import guards
from actionkit.letters.confirmation import public_url
from actionkit.letters.tasks import publish
from actionkit.letters.views import form_error_list, offer_paragraph, offers_paragraph
from actionkit.staff.auth import role_required
from actionkit.staff.models import Role
from actionkit.staff.services import audit
from actionkit.stories import receipt, services, tasks
from actionkit.stories.forms import ApproveForm, DeleteStoryForm, ModerationActionForm, StoryForm
from actionkit.stories.models import Consent, Story, StoryStatus

log = logging.getLogger(__name__)
bp = Blueprint("stories", __name__)
bp.before_request(choose_request_language)
staff_bp = Blueprint("stories_staff", __name__, url_prefix="/staff/stories")
DEFAULT_STORY_RATE_LIMIT = "5/hour;20/day"


def story_rate_limit() -> str:
    """Stories per client (an HMAC of the IP, never the IP) per hour; ACTIONKIT_STORY_RATE_LIMIT overrides it."""
    return str(current_app.config.get("STORY_RATE_LIMIT") or DEFAULT_STORY_RATE_LIMIT)


def _lang() -> str:
    return str(get_locale() or "en")


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("signed", _signed())
    return render_template(template, lang=_lang(), **context), status


def _problem(status: int, title: str, message: str, campaign: Campaign | None = None) -> tuple[str, int]:
    return _page("letters/problem.html", status, title=title, message=message, campaign=campaign)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"form_error_list": form_error_list}


@bp.after_request
def _headers(resp: Any) -> Any:
    """Published stories are public and the same for everyone in a language: cacheable for a few minutes.
    Forms and the page showing a deletion code are never cached."""
    if request.endpoint in ("stories.published", "stories.one") and resp.status_code == 200:
        resp.headers["Cache-Control"] = "public, max-age=300"
        resp.headers["Vary"] = "Accept-Language"
        resp.headers["Referrer-Policy"] = "same-origin"
        return resp
    return guards.private_page(resp)


@bp.errorhandler(404)
def _not_found(exc: Exception) -> tuple[str, int]:
    return _problem(404, _("Page not found"),
                    _("This page does not exist, or the campaign is not open. Check the link you were given."))


@bp.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> tuple[str, int]:
    # What they wrote is still on the page they came from: going back keeps it in the browser.
    return _problem(400, _("Your session has expired"),
                    _("For your safety this page only works for a while. Go back, copy your story, reload the page "
                      "and send it again."))


@bp.errorhandler(429)
def _too_many(exc: Exception) -> tuple[str, int]:
    """Too many stories from one network: the form comes back with everything typed, nothing is lost."""
    if request.endpoint == "stories.write" and request.method == "POST":
        campaign = campaigns.live_or_404(request.view_args["slug"])  # type: ignore[index]
        form = StoryForm(counties=services.counties(campaign.state))
        return _page("stories/write.html", 429, campaign=campaign, form=form, too_many=True)
    return _problem(429, _("Too many tries"), _("Please wait a minute and try again."))


def _form(campaign: Campaign, **kwargs: Any) -> StoryForm:
    form = StoryForm(counties=services.counties(campaign.state), **kwargs)
    if not offers_paragraph(campaign) or _signed():  # letters that take no paragraph, or already sent
        del form.use_in_letters
    return form


def _signed() -> int | None:
    """1 when the story form was opened from the letters' thank-you page: those letters are already on their way,
    so the story is not offered as their paragraph (it would only start a second signature)."""
    return 1 if request.args.get("signed") == "1" else None


@bp.route("/act/<slug>/story", methods=["GET", "POST"])
@limiter.limit(story_rate_limit, methods=["POST"], exempt_when=lambda: "set_lang" in request.form)
def write(slug: str) -> Any:
    campaign = campaigns.live_or_404(slug)
    if request.method == "GET":
        return _page("stories/write.html", campaign=campaign, form=_form(campaign, formdata=None))
    form = _form(campaign)
    if "set_lang" in request.form:  # the language switch re-posts the form: keep what was typed
        form.validate()
        return _page("stories/write.html", campaign=campaign, form=form, switching=True)
    if guards.cross_origin():
        return _problem(403, _("This form was sent from another website"),
                        _("For your safety we only accept this form from our own pages."), campaign)
    if guards.honeypot_filled():
        return _problem(400, _("Your form could not be sent"), _("Please go back and try again."), campaign)
    if not form.validate_on_submit():
        return _page("stories/write.html", 422, campaign=campaign, form=form)
    story, code = services.submit(campaign, text=form.text.data, consent=Consent(form.consent.data),
                                  language=_lang(), name=form.name.data or "", county_id=form.county_id(),
                                  email=form.email.data or "", contact_ok=bool(form.contact_ok.data))
    db.session.commit()
    if story.email:
        publish(tasks.send_receipt, story.id)  # after commit: the row exists; only its id travels
    # The code is shown once, on this response (never cached, never in a URL we redirect to).
    delete_url = f"{public_url()}{url_for('stories.delete', lang=_lang())}"
    use_in_letters = "use_in_letters" in form and bool(form.use_in_letters.data)
    html, status = _page("stories/thanks.html", campaign=campaign, code=code, story=story, delete_url=delete_url,
                         for_letters=use_in_letters)
    resp = current_app.make_response((html, status))
    if use_in_letters:  # their explicit choice: the text rides in a sealed cookie to the letters page, not a URL
        offer_paragraph(resp, campaign, story.text or "")
    return resp


@bp.get("/act/<slug>/stories")
def published(slug: str) -> Any:
    campaign = campaigns.live_or_404(slug)
    return _page("stories/list.html", campaign=campaign, stories=services.published(campaign))


@bp.get("/act/<slug>/stories/<int:story_id>")
def one(slug: str, story_id: int) -> Any:
    campaign = campaigns.live_or_404(slug)
    story = services.published_story(campaign, story_id)
    if story is None:
        abort(404)
    share_url = f"{public_url()}{url_for('stories.one', slug=slug, story_id=story.id)}"
    return _page("stories/one.html", campaign=campaign, story=story, share_url=share_url)


@bp.route("/stories/delete", methods=["GET", "POST"])
@limiter.limit(guards.public_rate_limit, methods=["POST"])
def delete() -> Any:
    """Delete one's story with the code: the story is gone from the pages and the database."""
    form = DeleteStoryForm(formdata=request.form if request.method == "POST" else None,
                           data={"code": request.args.get("code", "")} if request.method == "GET" else None)
    if request.method == "POST" and "set_lang" not in request.form:
        if guards.cross_origin():
            return _problem(403, _("This form was sent from another website"),
                            _("For your safety we only accept this form from our own pages."))
        if form.validate_on_submit():
            story = services.find_by_code(form.code.data)
            if story is None:
                form.code.errors.append(_("We found no story with this code. Check it and try again."))
                return _page("stories/delete.html", 422, form=form)
            services.delete_by_storyteller(story)
            db.session.commit()
            return _page("stories/deleted.html")
        return _page("stories/delete.html", 422, form=form)
    return _page("stories/delete.html", form=form)


@bp.route("/stories/delete/<token>", methods=["GET", "POST"])
@limiter.limit(guards.public_rate_limit, methods=["POST"])
def delete_link(token: str) -> Any:
    """The e-mailed link: a confirmation page whose POST button deletes the story."""
    story = receipt.find_by_token(token)
    form = ModerationActionForm()
    if request.method == "POST" and "set_lang" not in request.form:
        if guards.cross_origin():
            return _problem(403, _("This form was sent from another website"),
                            _("For your safety we only accept this form from our own pages."))
        if story is not None and form.validate_on_submit():
            services.delete_by_storyteller(story)
            db.session.commit()
            return _page("stories/deleted.html")
    if story is None:
        return _problem(404, _("Your story has been deleted"),
                        _("This link no longer leads to a story: it was deleted, or the link is incomplete."))
    return _page("stories/delete_link.html", form=form, token=token)


# --- staff moderation ------------------------------------------------------------------------------------------


def _actor() -> Any:
    return current_user._get_current_object()


def _story_or_404(story_id: int) -> Story:
    story = db.session.get(Story, story_id)
    if story is None:
        abort(404)
    return story


@staff_bp.get("")
@role_required(Role.EDITOR)
def index() -> Any:
    status = request.args.get("status", StoryStatus.NEW.value)
    chosen = StoryStatus(status) if status in {s.value for s in StoryStatus} else None
    return render_template("stories/staff_index.html", stories=services.moderation_queue(chosen),
                           status=chosen.value if chosen else "all", counts=services.counts_by_status(),
                           statuses=[s.value for s in StoryStatus], page_title="Stories")


def _can_read_original(story: Story) -> bool:
    """Editors moderate what is waiting; once a story is published or rejected only admins read the original."""
    return story.status is StoryStatus.NEW or current_user.role.allows(Role.ADMIN)


def _detail(story: Story, form: ApproveForm | None = None, status: int = 200) -> tuple[str, int]:
    original = story.text if _can_read_original(story) else None
    if form is None:
        form = ApproveForm(formdata=None, data={
            "published_text": story.published_text or original or "",
            "level": (story.published_consent or (Consent.ANONYMOUS if story.consent is not Consent.NAMED
                                                  else Consent.NAMED)).value})
    levels = services.allowed_levels(story)
    form.level.choices = [c for c in form.level.choices if c[0] in {lv.value for lv in levels}]
    return render_template("stories/staff_story.html", story=story, form=form, original=original,
                           hints=services.hints(original or story.published_text or ""),
                           action_form=ModerationActionForm(), levels=levels, Consent=Consent,
                           StoryStatus=StoryStatus, page_title=f"Story #{story.id}"), status


@staff_bp.get("/<int:story_id>")
@role_required(Role.EDITOR)
def show(story_id: int) -> Any:
    return _detail(_story_or_404(story_id))


@staff_bp.post("/<int:story_id>/approve")
@role_required(Role.EDITOR)
def approve(story_id: int) -> Any:
    story = _story_or_404(story_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        return _detail(story, form, 422)
    try:
        details = services.approve(story, Consent(form.level.data), form.published_text.data, current_user.id)
    except services.StoryError as exc:
        db.session.rollback()
        form.published_text.errors = [str(exc)]
        return _detail(_story_or_404(story_id), form, 422)
    if details:
        audit(_actor(), "story.approve", "story", story.id, campaign_id=story.campaign_id, **details)
    db.session.commit()
    flash("Published." if details else "Nothing changed.", "info")
    return redirect(url_for(".show", story_id=story.id))


@staff_bp.post("/<int:story_id>/<step>")
@role_required(Role.EDITOR)
def step(story_id: int, step: str) -> Any:
    """Reject, feature, unfeature (editors); keep or release past the retention period (admins)."""
    story = _story_or_404(story_id)
    if not ModerationActionForm().validate_on_submit():
        abort(400)
    try:
        if step == "reject":
            services.reject(story, current_user.id)
        elif step in ("feature", "unfeature"):
            services.set_featured(story, step == "feature")
        elif step in ("keep", "release"):
            if not current_user.role.allows(Role.ADMIN):
                abort(403)
            services.set_kept(story, step == "keep")
        else:
            abort(404)
    except services.StoryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".show", story_id=story_id))
    audit(_actor(), f"story.{step}", "story", story.id, campaign_id=story.campaign_id)
    db.session.commit()
    flash("Done.", "info")
    return redirect(url_for(".show", story_id=story.id))


def _featured_stories(campaign: Campaign) -> list[Story]:
    return services.published(campaign, featured_only=True, limit=services.FEATURED_ON_CAMPAIGN_PAGE)


def init_app(app: Flask) -> None:
    """Blueprints, and the template helper the campaign page uses to show a few featured stories (so the
    letters domain needs no import of this one)."""
    app.register_blueprint(bp)
    app.register_blueprint(staff_bp)
    app.add_template_global(_featured_stories, "featured_stories")
