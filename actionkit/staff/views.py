"""Staff log-in and log-out, the dashboard, staff accounts, the audit log and settings (under /staff)."""
from __future__ import annotations

import time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BuildError

from actionkit.extensions import db, limiter
from actionkit.paging import page_arg
from actionkit.staff import passwords, services
from actionkit.staff.auth import LOGIN_AT, role_required
from actionkit.staff.forms import LoginForm, NewUserForm, PasswordChangeForm, RetentionForm, UserForm
from actionkit.staff.models import Role, StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")

DEFAULT_LOGIN_RATE_LIMIT = "10/minute;100/hour"
DEVICE_COOKIE = "staff_device"  # marks a browser that logged in before: it may pass an account's lockout
# The one answer to every failed log-in (wrong password, unknown e-mail, locked, inactive, paused): it must not
# tell which accounts exist or are locked.
LOGIN_FAILED = ("Wrong email or password, or too many attempts. Check them and try again in a few minutes; if "
                "you keep being refused, ask an admin to unlock your account.")
# (label, endpoint, least role, what it is for) for the navigation bar and the dashboard, in order; the stats
# endpoint is looked up (it belongs to the stats blueprint).
SECTIONS = (
    ("Campaigns", "campaigns.index", Role.EDITOR, "Write, preview and publish campaigns and their letters."),
    ("Officials", "officials.index", Role.EDITOR, "Search and correct the directory; import the sheriffs CSV."),
    ("Deliveries", "delivery.index", Role.EDITOR, "Queues, failures, retries and print batches."),
    ("Stories", "stories_staff.index", Role.EDITOR, "Supporters' stories: redact, approve, reject, feature."),
    ("Stats", None, Role.VIEWER, "Participation: supporters, letters and deliveries."),
    ("Staff accounts", "staff.users", Role.ADMIN, "Create accounts, change roles, deactivate."),
    ("Audit log", "staff.audit", Role.ADMIN, "Who changed what, and who exported what."),
    ("Settings", "staff.settings", Role.ADMIN, "How long addresses are kept after delivery."),
)


# Callables other domains register (e.g. officials: delivery-channel changes) whose (text, link) notices every
# admin sees on /staff/: how admins are told about changes that need their eyes.
ADMIN_NOTICES: list[Callable[[], list[tuple[str, Optional[str]]]]] = []


def register_admin_notice(source: Callable[[], list[tuple[str, Optional[str]]]]) -> Callable[
        [], list[tuple[str, Optional[str]]]]:
    ADMIN_NOTICES.append(source)
    return source


def login_rate_limit() -> str:
    """Log-in POSTs per client (an HMAC of the IP); ACTIONKIT_STAFF_LOGIN_RATE_LIMIT overrides it."""
    return str(current_app.config.get("STAFF_LOGIN_RATE_LIMIT") or DEFAULT_LOGIN_RATE_LIMIT)


def _login_client() -> str:
    """The client a log-in comes from, as a keyed hash of its IP (no address is stored)."""
    return current_app.extensions["crypto"].lookup_hash(request.remote_addr or "unknown", "staff-login-client")[:32]


def _stats_url() -> str | None:
    """The stats section's index, whatever the stats blueprint named it (a GET rule at /staff/stats/)."""
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("stats.") and rule.rule.rstrip("/") == "/staff/stats" and \
                "GET" in (rule.methods or ()) and not rule.arguments:
            return url_for(rule.endpoint)
    return None


def sections(user: Any) -> list[dict[str, str]]:
    """The sections this user may open, with their URLs."""
    out = []
    if not getattr(user, "is_authenticated", False):
        return out
    for label, endpoint, role, blurb in SECTIONS:
        if not user.role.allows(role):
            continue
        try:
            url = url_for(endpoint) if endpoint else _stats_url()
        except BuildError:
            url = None
        if url:
            out.append({"label": label, "url": url, "blurb": blurb,
                        "current": request.path.startswith(url) and url != url_for("staff.dashboard")})
    return out


@bp.app_context_processor
def _staff_helpers() -> dict[str, Any]:
    return {"staff_sections": lambda: sections(current_user)}


@bp.before_app_request
def _fresh_user() -> None:
    """Load the user from this request's session: an app context shared by several requests (tests, CLI-driven
    requests) must not hand one request's user to the next."""
    g.pop("_login_user", None)


@bp.after_app_request
def _staff_headers(resp: Response) -> Response:
    """Staff pages are never cached; same-origin referrers let Flask-WTF's HTTPS referrer check pass."""
    if request.path.startswith("/staff"):
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "same-origin"
    return resp


@bp.app_errorhandler(403)
def _forbidden(exc: HTTPException) -> Any:
    if request.path.startswith("/staff"):
        return render_template("staff/forbidden.html", page_title="Not allowed"), 403
    return exc


@bp.errorhandler(429)
def _too_many(exc: HTTPException) -> tuple[str, int]:
    form = LoginForm(formdata=None)
    return render_template("staff/login.html", form=form, page_title="Log in",
                           error="Too many log-in attempts from this network. Wait a minute and try again."), 429


def safe_next(target: str | None) -> str | None:
    """Only our own /staff pages are valid destinations after log-in (no open redirect)."""
    if not target:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in target):  # CR/LF would split the Location header
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not target.startswith("/staff") or \
            target.startswith("/staff/login"):
        return None
    return target


def _start(user: StaffUser) -> None:
    """A new session for the user: nothing from the old session survives; the nonce is new."""
    session.clear()
    login_user(user)
    session[LOGIN_AT] = time.time()


# --- log-in, log-out, own password ----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for(".dashboard"))
        form.next.data = safe_next(request.args.get("next")) or ""
        return render_template("staff/login.html", form=form, page_title="Log in")
    if not form.validate_on_submit():
        return render_template("staff/login.html", form=form, page_title="Log in"), 422
    result = services.authenticate(form.email.data, form.password.data, client=_login_client(),
                                   device=request.cookies.get(DEVICE_COOKIE))
    if result.ok:
        assert result.user is not None
        services.start_session(result.user)
        db.session.commit()
        _start(result.user)
        response = redirect(safe_next(form.next.data) or url_for(".dashboard"))
        response.set_cookie(DEVICE_COOKIE, services.device_token(result.user),
                            max_age=int(services.DEVICE_MAX_AGE.total_seconds()), path="/staff", httponly=True,
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Lax")
        return response
    db.session.commit()  # the failure counts, any lock or pause
    form.password.data = ""
    return render_template("staff/login.html", form=form, page_title="Log in", error=LOGIN_FAILED), 401


@bp.post("/logout")
@role_required(Role.VIEWER)
def logout() -> Any:
    services.end_session(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for(".login"))


@bp.route("/account", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def account() -> Any:
    form = PasswordChangeForm()
    user: StaffUser = current_user._get_current_object()
    if form.validate_on_submit():
        if not passwords.verify(user.password_hash, form.current.data):
            form.current.errors.append("This is not your current password.")
        else:
            services.set_password(user, form.new.data, actor=user)
            db.session.commit()
            _start(user)  # other sessions of this account ended with the new nonce; this one goes on
            flash("Your password is changed. Other sessions of your account are logged out.", "info")
            return redirect(url_for(".dashboard"))
    status = 422 if form.errors else 200
    return render_template("staff/account.html", form=form, page_title="Your account"), status


@bp.get("/")
@role_required(Role.VIEWER)
def dashboard() -> str:
    notices = [n for source in ADMIN_NOTICES for n in source()] if current_user.role.allows(Role.ADMIN) else []
    return render_template("staff/dashboard.html", notices=notices, page_title="Staff")


# --- staff accounts (admins) ----------------------------------------------------------------------------------

def _users_page(form: NewUserForm, status: int = 200) -> tuple[str, int]:
    users = services.list_users()
    forms = {}
    for user in users:
        edit = UserForm(formdata=None, prefix=f"u{user.id}", role=user.role.value, active=user.active)
        forms[user.id] = edit
    return render_template("staff/users.html", users=users, forms=forms, form=form, page_title="Staff accounts",
                           is_locked=services.is_locked), status


@bp.get("/users")
@role_required(Role.ADMIN)
def users() -> tuple[str, int]:
    return _users_page(NewUserForm(formdata=None))


@bp.post("/users")
@role_required(Role.ADMIN)
def create_user() -> Any:
    form = NewUserForm()
    if not form.validate_on_submit():
        return _users_page(form, 422)
    generated = not form.password.data
    password = form.password.data or passwords.generate_password()
    try:
        user = services.create_user(form.email.data, form.role.data, password, name=form.name.data or "",
                                    actor=current_user._get_current_object())
    except services.StaffError as exc:
        form.email.errors.append(str(exc))
        return _users_page(form, 422)
    db.session.commit()
    if generated:
        return render_template("staff/password_once.html", user=user, password=password,
                               page_title="New account")
    flash(f"Account {user.email} created.", "info")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>")
@role_required(Role.ADMIN)
def update_user(user_id: int) -> Any:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    form = UserForm(prefix=f"u{user_id}")  # CSRF is checked app-wide before any POST view runs
    actor = current_user._get_current_object()
    try:
        if form.reset_password.data:
            password = passwords.generate_password()
            services.set_password(user, password, actor=actor)
            db.session.commit()
            return render_template("staff/password_once.html", user=user, password=password,
                                   page_title="New password")
        if form.unlock.data:
            services.unlock(actor, user)
            message = f"{user.email} is unlocked."
        elif not form.validate_on_submit():
            flash("Choose a valid role.", "error")
            return redirect(url_for(".users"))
        else:
            changes = services.update_user(actor, user, role=form.role.data, active=form.active.data)
            message = f"{user.email}: " + (", ".join(changes) + " changed" if changes else "nothing changed")
    except services.StaffError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".users"))
    db.session.commit()
    flash(message, "info")
    return redirect(url_for(".users"))


# --- audit log and settings (admins) --------------------------------------------------------------------------

@bp.get("/audit")
@role_required(Role.ADMIN)
def audit() -> str:
    page = page_arg()
    action = request.args.get("action") or None
    per_page = 50
    entries, total = services.audit_log(page, per_page, action=action)
    return render_template("staff/audit.html", entries=entries, total=total, page=page, per_page=per_page,
                           action=action, actions=services.audit_actions(), page_title="Audit log")


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def settings() -> Any:
    form = RetentionForm()
    if request.method == "GET":
        form.days.data = int(services.retention_days())
    elif form.validate_on_submit():
        try:
            services.set_retention_days(current_user._get_current_object(), form.days.data)
        except services.StaffError as exc:
            form.days.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Addresses are now kept {form.days.data} days after the last delivery.", "info")
            return redirect(url_for(".settings"))
    status = 422 if form.errors else 200
    return render_template("staff/settings.html", form=form, page_title="Settings"), status
