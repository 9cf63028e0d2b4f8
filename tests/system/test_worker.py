"""A real worker process consumes the queue: the heartbeat travels app -> broker -> worker -> database."""
import time

from actionkit.extensions import db
from actionkit.system.models import WorkerHeartbeat
from actionkit.system.tasks import heartbeat


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_real_worker_consumes_heartbeat(app, client, worker_process):
    heartbeat.apply_async(kwargs={"hostname": "sent-by-test"})

    def arrived() -> bool:
        db.session.rollback()  # see the worker's commits
        return db.session.get(WorkerHeartbeat, "sent-by-test") is not None

    assert _wait_for(arrived), worker_process.log_path.read_text()[-3000:]
    assert client.get("/healthz").json["worker"]["connected"] is True
