"""Flask extensions, created unbound and initialised in create_app()."""
from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from actionkit.db import Base


def _client_key() -> str:
    """Rate-limit key: a keyed hash of the client IP, so no IP address is ever stored, even in Redis."""
    crypto = current_app.extensions["crypto"]
    return crypto.lookup_hash(request.remote_addr or "unknown", "ratelimit-ip")[:32]


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=_client_key, default_limits=[])
babel = Babel()

login_manager.login_view = "staff.login"
login_manager.session_protection = "strong"
