"""Configuration: defaults for the embedded mode, overridden only by ACTIONKIT_* environment variables."""
from __future__ import annotations

import re

import secrets
from pathlib import Path
from typing import Any

from flask import Flask


MIN_SECRET_LENGTH = 32  # characters of ACTIONKIT_SECRET_KEY and ACTIONKIT_HMAC_KEY in production


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; raised at start-up with a readable message."""


# Where `flask officials sync` downloads from when no --from path is given.
DEFAULT_SOURCES = {
    "congress_legislators": "https://theunitedstates.io/congress-legislators/legislators-current.json",
    "congress_district_offices": "https://theunitedstates.io/congress-legislators/legislators-district-offices.json",
    "openstates_csv": "https://data.openstates.org/people/current/{state}.csv",
    "census_counties": "https://www2.census.gov/geo/docs/reference/codes2020/cou/st{state_fips}_{state}_cou2020.txt",
    "ice_287g_page": "https://www.ice.gov/identify-and-arrest/287g",
}


def _instance_secret(instance: Path, name: str, nbytes: int = 32) -> str:
    """Read a generated secret from instance/, creating it on first use (embedded demo only)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def _instance_fernet_key(instance: Path) -> str:
    """The embedded demo's encryption key, generated once under instance/."""
    path = instance / "encryption_key"
    if not path.exists():
        from cryptography.fernet import Fernet

        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill app.config: defaults, then ACTIONKIT_* env vars (or test_config), then derived values."""
    instance = Path(app.instance_path)
    cfg = app.config
    cfg.update(
        DATABASE_URL=None,
        SECRET_KEY=None,
        EMBEDDED=None,
        CELERY={},
        MAIL={},
        DELIVERY={},
        CWC={},
        LOB={},
        FAX={},
        WEBHOOKS={},
        GEOCODER={},
        SOURCES=dict(DEFAULT_SOURCES),
        HTTP_TIMEOUT=30,
        LOG_LEVEL="INFO",
        WORKER_HEARTBEAT_SECONDS=30,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=None,
        PROXY_FIX_HOPS=0,
        PUBLIC_URL=None,
        ALLOW_PLAIN_HTTP=False,  # production over http:// for a local trial only: no Secure cookies, no HSTS
        RETENTION_DAYS=30,
        PENDING_MAX_AGE_DAYS=7,
        SUBMISSION_SWEEP_SECONDS=60,  # beat: how often the submissions sweep runs
        EMAIL_CONFIRMATION_DAYS=3,  # campaigns that confirm e-mail: unconfirmed signatures are erased after this
        SUBMISSION_REQUEUE_SECONDS=120,  # an unrecorded signature untouched this long is queued again
        CONFIRMATION_REQUEUE_SECONDS=120,  # an unsent confirmation is queued again at this age, then at 2x, 4x ...
        PENDING_SWEEP_SECONDS=600,  # beat: how often targets that waited for the geocoder are matched again
        # Request bodies: larger ones get 413 before they are read (see actionkit/bodylimits.py).
        PUBLIC_MAX_REQUEST_BYTES=256 * 1024,  # six edited letters of 10,000 characters fit with room to spare
        PUBLIC_MAX_FIELD_BYTES=64 * 1024,  # any one field of a multipart form on a public page
        STAFF_MAX_REQUEST_BYTES=2 * 1024 * 1024,  # the campaign editor: ten templates of 20,000 characters
        STAFF_MAX_FIELD_BYTES=256 * 1024,
        UPLOAD_MAX_REQUEST_BYTES=2 * 1024 * 1024 + 64 * 1024,  # the officials CSV (2 MB) and the form around it
        PUBLIC_RATE_LIMIT="120/minute;600/hour;2000/day",  # per address and form: see letters/guards.py
        STAFF_LOGIN_RATE_LIMIT="10/minute;100/hour",
        STORY_RATE_LIMIT="5/hour;20/day",
        STAFF_SESSION_HOURS=12,
        PASSWORD_HASH={},
        SQLALCHEMY_ENGINE_OPTIONS={},
    )
    if test_config is None:
        cfg.from_prefixed_env("ACTIONKIT")
    else:
        cfg.update(test_config)
    _limiter_settings(cfg)

    # from_prefixed_env parses JSON-looking values: an all-digit secret would arrive as an int.
    for key in ("SECRET_KEY", "HMAC_KEY", "ENCRYPTION_KEY", "ENCRYPTION_KEYS"):
        if cfg.get(key) is not None and not isinstance(cfg[key], (str, list)):
            cfg[key] = str(cfg[key])

    embedded = cfg["EMBEDDED"]
    if embedded is None:
        embedded = not cfg["DATABASE_URL"]
    cfg["EMBEDDED"] = bool(embedded)
    cfg["ALLOW_PLAIN_HTTP"] = bool(cfg["ALLOW_PLAIN_HTTP"])
    if test_config is None and cfg["DATABASE_URL"] and not app.testing:
        _refuse_weak_production_settings(cfg)  # before anything is written into instance/

    db_url = cfg["DATABASE_URL"] or f"sqlite:///{instance / 'actionkit.sqlite'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://"):]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    cfg["SQLALCHEMY_DATABASE_URI"] = db_url
    # hide_parameters: a database error's text (logged, or shown by a debugger) never carries a row's values.
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "hide_parameters": True,
                                        **(cfg["SQLALCHEMY_ENGINE_OPTIONS"] or {})}

    if not cfg["SECRET_KEY"]:
        if not cfg["EMBEDDED"]:
            raise ConfigError(
                "ACTIONKIT_SECRET_KEY is required when ACTIONKIT_DATABASE_URL is set (production). "
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        cfg["SECRET_KEY"] = _instance_secret(instance, "secret_key")
    cfg["PASSWORD_HASH"] = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1,
                            **{k.lower(): v for k, v in (cfg["PASSWORD_HASH"] or {}).items()}}
    if not cfg["PUBLIC_URL"]:
        if not cfg["EMBEDDED"]:
            raise ConfigError("ACTIONKIT_PUBLIC_URL is required in production: the https:// address supporters "
                              "use, for links in confirmation emails and share links.")
    else:
        cfg["PUBLIC_URL"] = str(cfg["PUBLIC_URL"]).rstrip("/")
    if cfg["SESSION_COOKIE_SECURE"] is None:
        cfg["SESSION_COOKIE_SECURE"] = not (cfg["EMBEDDED"] or cfg["ALLOW_PLAIN_HTTP"])

    # Personal data at rest: Fernet keys (comma-separated, newest first, for rotation) and an HMAC key.
    keys = cfg.get("ENCRYPTION_KEYS") or cfg.get("ENCRYPTION_KEY")
    if not keys:
        if not cfg["EMBEDDED"]:
            raise ConfigError(
                "ACTIONKIT_ENCRYPTION_KEY is required in production. Generate one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        keys = _instance_fernet_key(instance)
    cfg["ENCRYPTION_KEYS"] = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else list(keys)
    if not cfg.get("HMAC_KEY"):
        if not cfg["EMBEDDED"]:
            raise ConfigError("ACTIONKIT_HMAC_KEY is required in production (any long random string).")
        cfg["HMAC_KEY"] = _instance_secret(instance, "hmac_key")

    celery = {
        "broker_url": f"sqla+sqlite:///{instance / 'celery-broker.sqlite'}",
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": 300,
        "task_soft_time_limit": 240,
        "broker_connection_retry_on_startup": True,
        "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        # A pool process is replaced after this many tasks or once its resident memory grows past this (KiB):
        # during a database outage every failing task leaves tracebacks and pool state behind (about 85 MB per
        # process was measured, never returned to the OS); a fresh process starts at about 100 MB.
        "worker_max_tasks_per_child": 1000,
        "worker_max_memory_per_child": 300_000,
    }
    celery.update({k.lower(): v for k, v in (cfg["CELERY"] or {}).items()})
    if str(celery["broker_url"]).startswith(("redis://", "rediss://")):
        # Unacked tasks are redelivered after this; keep it above task_time_limit (the SQL broker has none).
        celery.setdefault("broker_transport_options", {"visibility_timeout": 3600})
    if celery.get("task_always_eager") and not app.testing:
        raise ConfigError("task_always_eager is for unit tests only; remove ACTIONKIT_CELERY__task_always_eager")
    cfg["CELERY"] = celery
    # Rate-limit counters: shared Redis when the broker is Redis (several web processes), else in-process.
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        broker = str(celery["broker_url"])
        cfg["RATELIMIT_STORAGE_URI"] = broker if broker.startswith(("redis://", "rediss://")) else "memory://"

    mail = {
        "backend": "file",
        "outbox": str(instance / "outbox"),
        "from_address": "letters@actionkit.localhost",
        "smtp_host": "localhost",
        "smtp_port": 25,
        "smtp_username": None,
        "smtp_password": None,
        "smtp_starttls": False,
        "smtp_ssl": False,
        "smtp_timeout": 30,
    }
    mail.update({k.lower(): v for k, v in (cfg["MAIL"] or {}).items()})
    if mail["backend"] not in {"file", "smtp"}:
        raise ConfigError(f"ACTIONKIT_MAIL__backend must be 'file' or 'smtp', not {mail['backend']!r}")
    for key in ("smtp_username", "smtp_password"):
        mail[key] = str(mail[key]) if mail[key] not in (None, "") else None
    if not cfg["EMBEDDED"] and mail["from_address"].endswith(".localhost"):
        raise ConfigError("ACTIONKIT_MAIL__from_address is required in production: an address on your own "
                          "domain (letters to officials are sent From it).")
    cfg["MAIL"] = mail

    # The delivery outbox: retry schedule, dead-lettering, leases, pacing and the sweeper (see delivery/services).
    delivery = {
        "max_attempts": 10,  # after this many failed attempts a delivery is dead
        "deadline_hours": 48,  # ... or once this long has passed since its first attempt
        "backoff_base_seconds": 60,  # retry n waits a random time in [0, min(cap, base * 2**(n-1))]
        "backoff_cap_seconds": 21600,
        "lease_seconds": 360,  # a claimed row is re-sent after this; must exceed CELERY task_time_limit
        "per_destination_per_hour": 30,  # most emails one inbox receives per hour; 0 turns pacing off
        "digest_hour": 13,  # UTC hour after which offices on a daily digest get it (13 = 7 or 8 a.m. Central)
        "sweep_seconds": 60,  # how often beat runs delivery.sweep
        "sweep_batch": 500,
        "requeue_after_seconds": 120,  # a published task not yet claimed after this is published again
        "publish_timeout": 2.0,  # seconds to wait for the broker when publishing; then the sweeper takes over
        "print_output": str(instance / "print-batches"),
        "print_font": None,  # path to a TrueType font for print batches; None = built-in Helvetica (Latin-1)
    }
    delivery.update({k.lower(): v for k, v in (cfg.get("DELIVERY") or {}).items()})
    for key in ("max_attempts", "deadline_hours", "backoff_base_seconds", "backoff_cap_seconds", "lease_seconds",
                "per_destination_per_hour", "digest_hour", "sweep_seconds", "sweep_batch", "requeue_after_seconds",
                "publish_timeout"):
        if not isinstance(delivery[key], (int, float)) or delivery[key] < 0:
            raise ConfigError(f"ACTIONKIT_DELIVERY__{key} must be a number >= 0, not {delivery[key]!r}")
    if delivery["digest_hour"] > 23:
        raise ConfigError(f"ACTIONKIT_DELIVERY__digest_hour must be an hour from 0 to 23, not {delivery['digest_hour']!r}")
    if delivery["lease_seconds"] <= float(celery.get("task_time_limit") or 0):
        raise ConfigError("ACTIONKIT_DELIVERY__lease_seconds must be greater than ACTIONKIT_CELERY__task_time_limit, "
                          "or a slow send could lose its row to a second worker and be sent twice")
    visibility = (celery.get("broker_transport_options") or {}).get("visibility_timeout")
    if visibility is not None and float(celery.get("task_time_limit") or 0) >= float(visibility):
        raise ConfigError("ACTIONKIT_CELERY__task_time_limit must be below the broker visibility_timeout")
    cfg["DELIVERY"] = delivery
    cfg["CWC"] = _cwc(cfg.get("CWC") or {})
    cfg["LOB"] = _lob(cfg.get("LOB") or {})
    cfg["FAX"] = _fax(cfg.get("FAX") or {})

    # Webhooks and the Action Network sync (actionkit/webhooks): short timeouts, retries with backoff, dead letter.
    webhooks: dict[str, Any] = {
        "connect_timeout": 3.0,
        "read_timeout": 5.0,
        "max_attempts": 8,
        "deadline_hours": 48,
        "backoff_base_seconds": 30,
        "backoff_cap_seconds": 3600,
        "lease_seconds": 60,
        "allow_private_hosts": [],  # tests and the demo's stand-in only: hosts let past the SSRF check
    }
    webhooks.update({k.lower(): v for k, v in (cfg.get("WEBHOOKS") or {}).items()})
    for key in ("connect_timeout", "read_timeout", "max_attempts", "deadline_hours", "backoff_base_seconds",
                "backoff_cap_seconds", "lease_seconds"):
        if not isinstance(webhooks[key], (int, float)) or webhooks[key] < 0:
            raise ConfigError(f"ACTIONKIT_WEBHOOKS__{key} must be a number >= 0, not {webhooks[key]!r}")
    if not isinstance(webhooks["allow_private_hosts"], list):
        raise ConfigError("ACTIONKIT_WEBHOOKS__allow_private_hosts must be a JSON list of host names")
    cfg["WEBHOOKS"] = webhooks

    # Layer names are those of benchmark Public_AR_Current / vintage Current_Current (2025); names change with
    # each Congress and map year, so responses are matched by suffix and a renamed layer degrades to the
    # ZIP fallback for that level (with a logged warning) until this setting is updated.
    geocoder = {
        "backend": "census",
        "census_url": "https://geocoding.geo.census.gov/geocoder",
        "benchmark": "Public_AR_Current",
        "vintage": "Current_Current",
        "layers": "Counties,119th Congressional Districts,2024 State Legislative Districts - Upper,"
                  "2024 State Legislative Districts - Lower,Incorporated Places",
        "connect_timeout": 3.0,
        "read_timeout": 10.0,
        "retries": 2,
        "backoff": 0.5,
        "total_timeout": 15.0,
        "breaker_failures": 5,
        "breaker_reset_seconds": 60.0,
        "cache_days": 30,
        "boundary_tolerance_m": 750.0,
    }
    geocoder.update({k.lower(): v for k, v in (cfg["GEOCODER"] or {}).items()})
    if geocoder["backend"] not in {"census", "none"}:
        raise ConfigError(f"ACTIONKIT_GEOCODER__backend must be 'census' or 'none', not {geocoder['backend']!r}")
    cfg["GEOCODER"] = geocoder

    sources = dict(DEFAULT_SOURCES)
    sources.update({k.lower(): v for k, v in (cfg["SOURCES"] or {}).items()})
    cfg["SOURCES"] = sources

    if cfg["EMBEDDED"]:
        instance.mkdir(parents=True, exist_ok=True)


def _limiter_settings(cfg: dict[str, Any]) -> None:
    """Rate-limit store defaults: never fail a supporter's request because the counters' store is down; fall
    back to per-process counters (logged once) while Flask-Limiter checks the store again at growing intervals."""
    cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    cfg.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # A dead Redis must cost a request milliseconds, not the client library's default (no timeout).
    cfg.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})


def _refuse_weak_production_settings(cfg: dict[str, Any]) -> None:
    """Production (a database URL is set) refuses settings that are only safe on a developer's machine."""
    problems = []
    if cfg["EMBEDDED"]:
        problems.append("ACTIONKIT_EMBEDDED=true turns off HSTS and Secure cookies and writes secrets into "
                        "instance/; remove it")
    if cfg.get("DEBUG"):
        problems.append("ACTIONKIT_DEBUG=true shows tracebacks to anyone; remove it")
    if cfg.get("WTF_CSRF_ENABLED") is False:
        problems.append("ACTIONKIT_WTF_CSRF_ENABLED=false turns off CSRF protection on every form; remove it")
    if cfg.get("SESSION_COOKIE_SECURE") is False and not (cfg["ALLOW_PLAIN_HTTP"] or cfg["EMBEDDED"]):
        problems.append("ACTIONKIT_SESSION_COOKIE_SECURE=false sends session cookies over plain HTTP; remove it")
    for name, key in (("ACTIONKIT_SECRET_KEY", "SECRET_KEY"), ("ACTIONKIT_HMAC_KEY", "HMAC_KEY")):
        if cfg.get(key) and len(str(cfg[key])) < MIN_SECRET_LENGTH:  # a missing one is reported below
            problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters; generate one with: "
                            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if cfg.get("PUBLIC_URL") and not str(cfg["PUBLIC_URL"]).startswith("https://") and not cfg["ALLOW_PLAIN_HTTP"]:
        problems.append("ACTIONKIT_PUBLIC_URL must start with https:// (the address supporters use, served over "
                        "TLS); only for a local trial over plain HTTP set ACTIONKIT_ALLOW_PLAIN_HTTP=true")
    if problems:
        raise ConfigError("Refusing to start in production:\n  - " + "\n  - ".join(problems))
_DAY = "(?:mon|tue|wed|thu|fri|sat|sun)"
CWC_WINDOW = re.compile(rf"{_DAY}(?:-{_DAY})?\s+\d\d:\d\d-\d\d:\d\d", re.I)
CWC_PHONE = re.compile(r"^\d{3}-\d{3}-\d{4}$")
CWC_AGENT_KEYS = ("delivery_agent", "delivery_agent_ack_email", "delivery_agent_contact_name",
                  "delivery_agent_contact_email", "delivery_agent_contact_phone")


def _cwc(given: dict[str, Any]) -> dict[str, Any]:
    """Congress's Communicating with Congress service: off until a chamber's URL and key are set; every value
    the public facts leave uncertain (Senate codes, windows, rates) is configuration, not code."""
    cwc: dict[str, Any] = {
        "house_url": None,  # https://cwc.house.gov in production; the House gives a test base on approval
        "api_key": None,
        "senate_url": None,  # the Senate's message endpoint base (test or production)
        "senate_api_key": None,
        **{key: None for key in CWC_AGENT_KEYS},  # DeliveryAgent must match the API key's owner
        "organization_statement": None,
        "organization": None, "organization_contact_name": None, "organization_contact_email": None,
        "organization_contact_phone": None, "organization_about": None,
        "topics": "Immigration",  # LibraryOfCongressTopic values, separated by ";" (a campaign may override)
        "response_requested": True,
        "timeout": 15.0,
        "offices_refresh_hours": 24,  # the active-office lists are cached; never fetched per letter
        "house_maintenance": "Mon-Sun 00:00-06:00",  # US Eastern
        "senate_maintenance": "Sun 00:00-06:00;Wed 05:00-07:00",
        # Most letters a chamber's service receives a second, across all workers (None or 0: no ceiling); the
        # Senate reportedly suggests 5-10. Letters over the ceiling wait a moment; that is not an attempt.
        "house_max_per_second": None,
        "senate_max_per_second": 5,
    }
    cwc.update({k.lower(): v for k, v in given.items()})
    for key, value in list(cwc.items()):
        if isinstance(value, str):
            cwc[key] = value.strip() or None
    for chamber, url, key in (("House", "house_url", "api_key"), ("Senate", "senate_url", "senate_api_key")):
        if cwc[url] and not cwc[key]:
            raise ConfigError(f"ACTIONKIT_CWC__{key} is required when ACTIONKIT_CWC__{url} is set ({chamber})")
        if cwc[url] and not str(cwc[url]).startswith(("https://", "http://")):
            raise ConfigError(f"ACTIONKIT_CWC__{url} must be an http(s) URL, not {cwc[url]!r}")
    if cwc["house_url"] or cwc["senate_url"]:
        missing = [k for k in CWC_AGENT_KEYS if not cwc[k]]
        if missing:
            raise ConfigError("CWC needs the delivery agent's details: set "
                              + ", ".join(f"ACTIONKIT_CWC__{k}" for k in missing))
        if not CWC_PHONE.match(str(cwc["delivery_agent_contact_phone"])):
            raise ConfigError("ACTIONKIT_CWC__delivery_agent_contact_phone must look like 601-555-0100")
    for key in ("house_maintenance", "senate_maintenance"):
        for part in str(cwc[key] or "").split(";"):
            if part.strip() and not CWC_WINDOW.fullmatch(part.strip()):
                raise ConfigError(f"ACTIONKIT_CWC__{key}: {part.strip()!r} is not like 'Sun 00:00-06:00' or "
                                  "'Mon-Sun 00:00-06:00' (US Eastern)")
    if isinstance(cwc["response_requested"], str):
        cwc["response_requested"] = cwc["response_requested"].lower() in ("1", "true", "yes", "y")
    for key in ("timeout", "offices_refresh_hours"):
        try:
            cwc[key] = float(cwc[key])
        except (TypeError, ValueError):
            raise ConfigError(f"ACTIONKIT_CWC__{key} must be a number, not {cwc[key]!r}") from None
    for key in ("house_max_per_second", "senate_max_per_second"):
        value = cwc[key]
        try:
            cwc[key] = int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            cwc[key] = -1
        if cwc[key] is not None and cwc[key] < 0:
            raise ConfigError(f"ACTIONKIT_CWC__{key} must be a whole number of letters a second (0 or empty: no "
                              f"ceiling), not {value!r}")
        cwc[key] = cwc[key] or None
    return cwc


def _strip(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}


def _lob(given: dict[str, Any]) -> dict[str, Any]:
    """Postal mail through Lob's letters API: off until an API key is set."""
    lob: dict[str, Any] = {"api_key": None, "base_url": "https://api.lob.com/v1", "webhook_secret": None,
                           "from_name": None, "from_address": None, "use_type": "operational", "timeout": 15.0}
    lob.update({k.lower(): v for k, v in given.items()})
    lob = _strip(lob)
    if lob["api_key"]:
        missing = [k for k in ("from_name", "from_address", "webhook_secret") if not lob[k]]
        if missing:
            raise ConfigError("Lob needs " + ", ".join(f"ACTIONKIT_LOB__{k}" for k in missing)
                              + " (the return address as one line with a ZIP; the webhook signing secret)")
    if lob["use_type"] not in ("operational", "marketing"):
        raise ConfigError(f"ACTIONKIT_LOB__use_type must be operational or marketing, not {lob['use_type']!r}")
    return lob


def _fax(given: dict[str, Any]) -> dict[str, Any]:
    """Fax through the organisation's provider, as a Standard Webhooks-signed POST; off until a URL is set."""
    fax: dict[str, Any] = {"url": None, "secret": None, "timeout": 15.0}
    fax.update({k.lower(): v for k, v in given.items()})
    fax = _strip(fax)
    if fax["url"] and not str(fax["secret"] or "").startswith("whsec_"):
        raise ConfigError("ACTIONKIT_FAX__secret is required with ACTIONKIT_FAX__url: a Standard Webhooks "
                          "secret, 'whsec_' followed by base64")
    return fax
