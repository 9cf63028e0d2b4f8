"""GET /healthz: database and broker status as JSON (503 when either is down)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify

from actionkit.system import services

bp = Blueprint("system", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    database = services.check_database()
    broker = services.check_broker()
    max_age = dt.timedelta(seconds=3 * current_app.config["WORKER_HEARTBEAT_SECONDS"])
    worker = services.worker_status(max_age) if database["ok"] else {"connected": False}
    ok = database["ok"] and broker["ok"]
    body = {"status": "ok" if ok else "unavailable", "database": database, "broker": broker, "worker": worker}
    return jsonify(body), 200 if ok else 503
