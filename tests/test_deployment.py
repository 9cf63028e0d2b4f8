"""The deployment files agree with the code: compose services and commands, the Dockerfile, .env.example."""
from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from flask import Flask

import actionkit
from actionkit import config
from tests.conftest import missing_service

REPO = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
ENV_NAME = re.compile(r"\bACTIONKIT_\w*[A-Za-z0-9]")
REQUIRED = re.compile(r"\b(ACTIONKIT_\w*[A-Za-z0-9]) is required")
# Valid as a Fernet key and as any other secret; for probing start-up only.
PROBE_SECRET = base64.urlsafe_b64encode(bytes(range(32))).decode()
ENV_READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["'](ACTIONKIT_\w+)""")
# Derived from another setting by config.load() and overwritten there, so not a variable of its own.
DERIVED = {"SQLALCHEMY_DATABASE_URI"}
# Nested settings that accept any key of the library behind them, not only the ones the app defaults.
OPEN_ENDED = {"CELERY", "SQLALCHEMY_ENGINE_OPTIONS"}
BACKSLASH = "\\"


@pytest.fixture
def compose() -> dict[str, Any]:
    """docker-compose.yml as PyYAML reads it: anchors and merge keys resolved, variables not interpolated."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: (v if sep else None) for k, sep, v in (item.partition("=") for item in env)}
    return dict(env)


def _condition(service: dict[str, Any], dependency: str) -> str | None:
    depends = service.get("depends_on") or {}
    if dependency not in depends:
        return None
    if isinstance(depends, list):
        return "service_started"
    return (depends[dependency] or {}).get("condition", "service_started")


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current = f"{current} {stripped.removesuffix(BACKSLASH).strip()}".strip()
        if not stripped.endswith(BACKSLASH):
            keyword, _, args = current.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions


def _documented() -> set[str]:
    """Every ACTIONKIT_* name .env.example mentions (commented-out examples included), lower-cased."""
    return {name.lower() for name in ENV_NAME.findall((REPO / ".env.example").read_text(encoding="utf-8"))}


def _production_probe(tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    """A production config config.load() accepts, and the ACTIONKIT_* settings it refused to start without."""
    probe: dict[str, Any] = {"DATABASE_URL": "postgresql://u@db/actionkit", "CELERY": {"broker_url": "redis://r/0"}}
    required: list[str] = []
    while True:
        app = Flask("probe")
        app.instance_path = str(tmp_path / f"production-{len(required)}")
        try:
            config.load(app, {k: dict(v) if isinstance(v, dict) else v for k, v in probe.items()})
        except config.ConfigError as exc:
            match = REQUIRED.search(str(exc))
            assert match and match.group(1) not in required, f"production start-up fails: {exc}"
            required.append(match.group(1))
            name = match.group(1)[len("ACTIONKIT_"):]
            if "__" in name:  # a nested setting, e.g. MAIL__from_address
                top, sub = name.split("__", 1)
                probe[top] = {**probe.get(top, {}), sub: "letters@example.org"}
            else:
                probe[name] = PROBE_SECRET
        else:
            return probe, required


def _settings_with_defaults(tmp_path: Path) -> dict[str, bool]:
    """ACTIONKIT_* name of every setting config.load() defaults, in embedded and production mode.

    The value says whether the name must be documented: a nested setting is documented through its keys.
    """
    names: dict[str, bool] = {}
    for number, probe in enumerate([{}, _production_probe(tmp_path)[0]]):
        app = Flask("probe")
        app.instance_path = str(tmp_path / f"instance-{number}")
        config.load(app, probe)
        for key, value in app.config.items():
            if key in Flask.default_config or key in DERIVED:
                continue
            nested = value if isinstance(value, dict) else {}
            names[f"ACTIONKIT_{key}"] = not nested
            names.update({f"ACTIONKIT_{key}__{sub}": True for sub in nested})
    names["ACTIONKIT_SECRET_KEY"] = True
    return names


def _names_in_code() -> set[str]:
    """ACTIONKIT_* names written in the package, and those the tests and benchmarks read from the environment."""
    names: set[str] = set()
    for path in (REPO / "actionkit").rglob("*.py"):
        names.update(ENV_NAME.findall(path.read_text(encoding="utf-8")))
    for folder in ("tests", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            names.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_compose_defines_the_whole_stack(compose):
    services = compose["services"]
    assert {"postgres", "redis", *APP_SERVICES} <= set(services)
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    assert postgres["healthcheck"]["test"]
    volume = str(postgres["volumes"][0]).split(":")[0]
    assert volume in (compose.get("volumes") or {}), "postgres data needs a named volume"
    assert str(services["redis"]["image"]).startswith("redis:7")


def test_migrate_runs_once_before_the_app(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert _command(migrate) == ["flask", "db", "upgrade"]
    assert str(migrate["restart"]) == "no"
    assert _condition(migrate, "postgres") == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert _condition(services[name], "migrate") == "service_completed_successfully", name
        assert _condition(services[name], "redis") is not None, name


def test_web_serves_the_real_app_factory(compose):
    command = _command(compose["services"]["web"])
    assert command[0] == "gunicorn"
    assert "0.0.0.0:8000" in command
    targets = [arg for arg in command if re.fullmatch(r"[\w.]+:\w+\(\)", arg)]
    assert targets == ["actionkit:create_app()"]
    module, factory = targets[0][: -len("()")].split(":")
    assert getattr(importlib.import_module(module), factory) is actionkit.create_app


def test_worker_and_beat_run_celery_on_the_worker_module(compose):
    services = compose["services"]
    worker, beat = _command(services["worker"]), _command(services["beat"])
    assert worker[:4] == ["celery", "-A", "actionkit.worker", "worker"]
    assert beat[:4] == ["celery", "-A", "actionkit.worker", "beat"]
    assert "--schedule" in beat, "beat must keep its schedule file outside the read-only app tree"
    assert importlib.util.find_spec("actionkit.worker") is not None


def test_celery_app_option_resolves_to_the_celery_app(tmp_path):
    """`celery -A actionkit.worker` must find a Celery instance, the way the celery command looks it up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONKIT_")}
    env.update({name: PROBE_SECRET for name in _production_probe(tmp_path)[1]})
    env.update({
        "ACTIONKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "ACTIONKIT_EMBEDDED": "false",
        "ACTIONKIT_PUBLIC_URL": "https://act.example.org",
        "ACTIONKIT_CELERY__broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
    })
    probe = (
        "from celery import Celery\n"
        "from celery.app.utils import find_app\n"
        "found = find_app('actionkit.worker')\n"
        "assert isinstance(found, Celery), f'celery -A actionkit.worker finds {type(found).__name__}, not Celery'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_app_services_get_production_config(compose):
    services = compose["services"]
    documented = _documented()
    for name in APP_SERVICES:
        env = _environment(services[name])
        database = str(env["ACTIONKIT_DATABASE_URL"])
        assert database.startswith("postgresql+psycopg://"), name
        assert urlsplit(database).hostname == "postgres", name
        broker = str(env["ACTIONKIT_CELERY__broker_url"])
        assert broker.startswith("redis://") and urlsplit(broker).hostname == "redis", name
        assert env["ACTIONKIT_MAIL__backend"] == "smtp", name
        assert str(env.get("ACTIONKIT_EMBEDDED", "false")).lower() == "false", name
        undocumented = {k for k in env if k.startswith("ACTIONKIT_") and k.lower() not in documented}
        assert not undocumented, f"{name} passes variables .env.example does not describe: {sorted(undocumented)}"


def test_no_service_runs_tasks_eagerly(compose):
    for name, service in compose["services"].items():
        settings = [*_environment(service), *_command(service)]
        assert not [s for s in settings if "task_always_eager" in s.lower()], name


def test_secret_key_is_required_and_has_no_default(compose):
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert not re.search(r"\$\{ACTIONKIT_SECRET_KEY:?-", text)
    for name in APP_SERVICES:
        secret = _environment(compose["services"][name])["ACTIONKIT_SECRET_KEY"]
        assert re.fullmatch(r"\$\{ACTIONKIT_SECRET_KEY:\?[^}]+\}", str(secret)), name


def test_every_required_setting_reaches_the_app_without_a_default(compose, tmp_path):
    """Whatever production start-up insists on is passed to each app container, from the host only."""
    required = _production_probe(tmp_path)[1]
    assert "ACTIONKIT_SECRET_KEY" in required
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    for variable in required:
        assert not re.search(rf"\$\{{{variable}:?-", text), f"{variable} has a default in docker-compose.yml"
        for name in APP_SERVICES:
            env = _environment(compose["services"][name])
            assert variable in env, f"{name} does not get {variable}"
            value = env[variable]
            assert value is None or re.fullmatch(rf"\$\{{{variable}:?\?[^}}]+\}}", str(value)), (name, variable)


def _compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose config -q` as on a clean checkout: an empty env file instead of any local .env."""
    executable = shutil.which("docker-compose")
    if executable is None:
        missing_service("docker-compose")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    environ = {k: v for k, v in os.environ.items() if k != "ACTIONKIT_SECRET_KEY"} | env
    return subprocess.run(
        [str(executable), "--env-file", str(empty), "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=120,
    )


def test_docker_compose_config_is_valid(tmp_path):
    result = _compose_config(tmp_path, ACTIONKIT_SECRET_KEY="test-only-not-a-secret")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_run_without_a_secret(tmp_path):
    result = _compose_config(tmp_path)
    assert result.returncode != 0
    assert "ACTIONKIT_SECRET_KEY" in result.stderr


def test_dockerfile_runs_the_app_factory_as_non_root():
    instructions = _dockerfile()
    assert [args for keyword, args in instructions if keyword == "FROM"] == ["python:3.11-slim"]
    cmd = json.loads([args for keyword, args in instructions if keyword == "CMD"][-1])
    assert cmd[0] == "gunicorn" and "actionkit:create_app()" in cmd and "0.0.0.0:8000" in cmd
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    env: dict[str, str] = {}
    for keyword, args in instructions:
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(args))
    assert env.get("FLASK_APP") == "actionkit"
    assert "WEB_CONCURRENCY" in env
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install" in runs and "[test]" not in runs
    healthcheck = " ".join(args for keyword, args in instructions if keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "python" in healthcheck and "curl" not in healthcheck


def test_env_example_documents_every_setting(tmp_path):
    required = {name for name, needed in _settings_with_defaults(tmp_path).items() if needed}
    expected = required | _names_in_code()
    missing = sorted(name for name in expected if name.lower() not in _documented())
    assert not missing, f".env.example does not describe: {missing}"


def test_env_example_names_only_real_settings(tmp_path):
    known = {name.lower() for name in [*_settings_with_defaults(tmp_path), *_names_in_code()]}
    flask_settings = {key.lower() for key in Flask.default_config}
    unknown = []
    for name in _documented():
        top = name[len("actionkit_"):].split("__")[0]
        if name in known or top in flask_settings:
            continue
        if "__" in name and top.upper() in OPEN_ENDED and f"actionkit_{top}" in known:
            continue
        unknown.append(name)
    assert not unknown, f".env.example names variables the app never reads: {sorted(unknown)}"


def test_compose_serves_https_through_caddy_in_front_of_web(compose):
    caddy = compose["services"]["caddy"]
    assert str(caddy["image"]).startswith("caddy:")
    assert {"80:80", "443:443"} <= {str(p) for p in caddy["ports"]}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert "ACTIONKIT_PUBLIC_URL" in _environment(caddy)
    caddyfile = (REPO / "Caddyfile").read_text(encoding="utf-8")
    assert "{$ACTIONKIT_PUBLIC_URL} {" in caddyfile and re.search(r"^\s*reverse_proxy web:8000$", caddyfile, re.M)


def test_web_is_published_on_localhost_only_and_trusts_one_proxy(compose):
    """Behind Caddy the client address comes from X-Forwarded-For; were port 8000 open to all, anyone could forge
    that header and escape every rate limit."""
    web = compose["services"]["web"]
    assert [str(p) for p in web["ports"]] == ["127.0.0.1:8000:8000"]
    for name in APP_SERVICES:
        env = _environment(compose["services"][name])
        assert env["ACTIONKIT_PROXY_FIX_HOPS"] == "${ACTIONKIT_PROXY_FIX_HOPS:-1}", name
        for passed in ("ACTIONKIT_PUBLIC_RATE_LIMIT", "ACTIONKIT_STAFF_LOGIN_RATE_LIMIT",
                       "ACTIONKIT_RATELIMIT_STORAGE_URI", "ACTIONKIT_ALLOW_PLAIN_HTTP"):
            assert passed in env and env[passed] is None, (name, passed)  # from .env when set, else the default


def test_compose_redis_keeps_queued_tasks_across_a_restart(compose):
    redis = compose["services"]["redis"]
    assert _command(redis)[:3] == ["redis-server", "--appendonly", "yes"]
    assert any(str(v).endswith(":/data") for v in redis["volumes"])


def test_webhooks_run_on_their_own_worker(compose):  # type: ignore[no-untyped-def]
    services = compose["services"]
    command = _command(services["webhooks-worker"])
    assert command[:4] == ["celery", "-A", "actionkit.worker", "worker"] and command[command.index("-Q") + 1] == "webhooks"
    assert "-Q" not in _command(services["worker"])  # the letters' worker takes the default queue only
    procfile = (REPO / "deploy" / "Procfile").read_text()
    assert "-Q webhooks" in procfile and (REPO / "deploy" / "systemd" / "actionkit-webhooks.service").exists()
