from actionkit.extensions import db
from actionkit.system import services


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200, resp.json
    assert resp.json["database"]["ok"] is True
    assert resp.json["broker"]["ok"] is True
    assert resp.json["worker"]["connected"] is False


def test_healthz_broker_down_is_503(app, client):
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/0"
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["broker"]["ok"] is False
    assert resp.json["database"]["ok"] is True


def test_healthz_database_down_is_503(app, client, monkeypatch):
    def broken(*a, **k):
        raise ConnectionError("db gone")

    monkeypatch.setattr(db.session, "execute", broken)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["database"] == {"ok": False, "error": "ConnectionError"}


def test_heartbeat_marks_worker_connected(app, client):
    services.record_heartbeat("worker-1")
    db.session.commit()
    body = client.get("/healthz").json
    assert body["worker"]["connected"] is True
