"""actionkit: supporters write to the officials who can end ICE detainer and 287(g) agreements."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config -> extensions -> celery -> blueprints -> cli."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates",
                static_folder="static")
    if test_config is not None:
        app.testing = bool(test_config.get("TESTING"))
        if test_config.get("INSTANCE_PATH"):
            app.instance_path = str(test_config["INSTANCE_PATH"])

    from actionkit import config

    config.load(app, test_config)
    if app.config["PROXY_FIX_HOPS"]:
        # Behind a TLS-terminating proxy: trust its X-Forwarded-* so rate limits key on the real client.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from actionkit.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    csrf.init_app(app)

    from actionkit.privacy import crypto

    crypto.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from actionkit import bodylimits, errors, i18n, security, static_files

    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    bodylimits.init_app(app)
    static_files.init_app(app)

    from actionkit.celery_app import celery_init_app

    celery_init_app(app)

    # Import every domain's models so metadata (and Alembic autogenerate) sees all tables.
    from actionkit.campaigns import models as _campaigns_models  # noqa: F401
    from actionkit.delivery import models as _delivery_models  # noqa: F401
    from actionkit.letters import models as _letters_models  # noqa: F401
    from actionkit.officials import models as _officials_models  # noqa: F401
    from actionkit.staff import models as _staff_models  # noqa: F401
    from actionkit.system import models as _system_models  # noqa: F401
    from actionkit.stats import models as _stats_models  # noqa: F401
    from actionkit.stories import models as _stories_models  # noqa: F401

    # Register every Celery task in every process (web publishes them, the worker runs them).
    from actionkit.delivery import tasks as _delivery_tasks  # noqa: F401
    from actionkit.letters import tasks as _letters_tasks  # noqa: F401
    from actionkit.privacy import tasks as _privacy_tasks  # noqa: F401
    from actionkit.stats import tasks as _stats_tasks  # noqa: F401
    from actionkit.system import tasks as _system_tasks  # noqa: F401

    from actionkit.campaigns.views import bp as campaigns_bp
    from actionkit.delivery.hooks import bp as delivery_hooks_bp
    from actionkit.delivery.views import bp as delivery_bp
    from actionkit.letters.views import bp as letters_bp
    from actionkit.officials.views import bp as officials_bp
    from actionkit.staff import auth as _staff_auth  # noqa: F401  (registers the user loader)
    from actionkit.privacy.views import bp as privacy_bp
    from actionkit.staff.views import bp as staff_bp
    from actionkit.stats.public import bp as progress_bp
    from actionkit.stats.views import bp as stats_bp
    from actionkit.system.views import bp as system_bp

    for bp in (system_bp, letters_bp, privacy_bp, staff_bp, campaigns_bp, officials_bp, delivery_bp, delivery_hooks_bp,
               stats_bp, progress_bp):
        app.register_blueprint(bp)
    security.redact_logs(app)  # no URL token or client address in any log line

    from actionkit.stories import views as stories_views

    stories_views.init_app(app)

    from actionkit.campaigns.cli import campaigns_cli
    from actionkit.delivery.cli import delivery_cli
    from actionkit.officials.cli import officials_cli
    from actionkit.staff.cli import staff_cli
    from actionkit.stats.cli import stats_cli

    for group in (officials_cli, campaigns_cli, delivery_cli, staff_cli, stats_cli):
        app.cli.add_command(group)
    return app


def _migrations_dir():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
