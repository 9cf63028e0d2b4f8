"""'Delete my data': the link in the confirmation e-mail (and on the page it opens) opens a confirmation page;
its POST button erases the supporter's personal data. Reached by the action's e-mailed token, never by an id.

The sign redirect's token (in the browser's history, and the same page for a first and a repeat signature) never
deletes: it gets "please use the link in your email" whether or not its signature was recorded, so it cannot
tell anyone whether the address had signed before."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from actionkit.campaigns.models import Campaign
from actionkit.extensions import db, limiter
from actionkit.i18n import choose_request_language
from actionkit.letters import guards
from actionkit.letters import services as letters
from actionkit.privacy import services
from actionkit.privacy import tasks as _tasks  # noqa: F401  (registers privacy.purge_expired with Celery)
from actionkit.privacy.forms import DeleteForm

bp = Blueprint("privacy", __name__)
bp.before_request(choose_request_language)  # as on the letters pages
bp.after_request(guards.private_page)


def _page(template: str, status: int = 200, **context: object) -> tuple[str, int]:
    return render_template(template, lang=str(get_locale() or "en"), **context), status


@bp.route("/privacy/delete/<token>", methods=["GET", "POST"])
@limiter.limit(guards.public_rate_limit, methods=["POST"])
def delete(token: str) -> tuple[str, int]:
    action = letters.find_action(token)
    if action is None:
        submission = letters.find_submission(token)
        if submission is None:
            abort(404)
        return _page("privacy/use_email.html", 403, campaign=db.session.get(Campaign, submission.campaign_id))
    supporter = action.supporter
    form = DeleteForm()
    if request.method == "POST" and "set_lang" not in request.form:
        if guards.cross_origin():
            return _page("letters/problem.html", 403, title=_("This form was sent from another website"),
                         message=_("For your safety we only accept this form from our own pages."))
        if form.validate_on_submit() and supporter.deleted_at is None:
            services.delete_supporter(supporter)
            db.session.commit()
            return _page("privacy/deleted.html", campaign=action.campaign)
    return _page("privacy/delete.html", campaign=action.campaign, form=form, token=token,
                 deleted=supporter.deleted_at is not None)
