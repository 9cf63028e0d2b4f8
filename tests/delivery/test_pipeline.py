"""The whole pipeline with real processes: outbox rows -> broker (Redis when ACTIONKIT_TEST_BROKER_URL is set, else
the SQLite broker) -> `celery worker` processes -> SMTP sink (aiosmtpd in this process) -> rows marked sent."""
from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections import Counter

import pytest
from amqp.exceptions import ChannelError

from actionkit import create_app
from actionkit.delivery import channels, services
from actionkit.delivery.channels import cwc
from actionkit.delivery.channels import fax as fax_channel
from actionkit.delivery.fake_cwc import FakeCwc
from actionkit.delivery.fake_lob import FakeLob
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Letter
from tests.conftest import BROKER_URL, _config
from tests.delivery.conftest import free_port, seed_deliveries, status_counts, wait_for
from tests.factories import make_action, make_campaign, make_office

pytestmark = pytest.mark.services

# Worker settings for the crash tests: a short lease (above the task time limit, as config requires) and a
# sweeper every second, so expired leases come back within seconds instead of minutes.
SHORT_LEASE = {"lease_seconds": 6, "sweep_seconds": 1, "requeue_after_seconds": 20}
SHORT_LIMITS = {"task_time_limit": 5, "task_soft_time_limit": 4}


def expected_ids(ids: list[int], sink) -> set[str]:  # type: ignore[no-untyped-def]
    return {channels.message_id(i, sink.mail_config()["from_address"]) for i in ids}


def queue_size(app) -> int:  # type: ignore[no-untyped-def]
    celery = app.extensions["celery"]
    with celery.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=app.config["CELERY"]["task_default_queue"],
                                                      passive=True).message_count
        except ChannelError:  # Redis forgets an empty queue
            return 0


def purge(app) -> None:  # type: ignore[no-untyped-def]
    celery = app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.config["CELERY"]["task_default_queue"])


def test_a_thousand_deliveries_each_arrive_exactly_once(app, smtp_sink, start_worker):
    ids = seed_deliveries(1000, offices=50)  # 20 letters per office: under the default pacing of 30 an hour
    db.session.commit()
    worker = start_worker(concurrency=3, mail=smtp_sink.mail_config())
    started = time.monotonic()
    assert services.enqueue(ids) == 1000

    assert wait_for(lambda: len(smtp_sink.handler.messages) >= 1000, timeout=120), worker.log()
    assert wait_for(lambda: status_counts() == Counter(sent=1000), timeout=30), (status_counts(), worker.log())
    elapsed = time.monotonic() - started
    seen = smtp_sink.handler.message_ids()
    assert set(seen) == expected_ids(ids, smtp_sink)
    assert max(seen.values()) == 1, [m for m, n in seen.items() if n > 1]
    refs = set(db.session.scalars(db.select(Delivery.provider_ref)))
    assert refs == set(seen)
    assert smtp_sink.handler.connections <= 6  # one reused connection per pool process (plus reconnects)
    print(f"1000 deliveries in {elapsed:.1f}s")


def test_kill_9_mid_run_loses_nothing_and_duplicates_at_most_once_per_kill(app, smtp_sink, start_worker):
    ids = seed_deliveries(500, offices=25)
    db.session.commit()
    options = dict(mail=smtp_sink.mail_config(), delivery=SHORT_LEASE, celery=SHORT_LIMITS)
    assert services.enqueue(ids) == 500

    kills = 0
    for reached in (100, 250):
        worker = start_worker(beat=kills > 0, **options)
        assert wait_for(lambda: len(smtp_sink.handler.messages) >= reached, timeout=120), worker.log()
        worker.kill()
        kills += 1
    assert status_counts()["sent"] < 500

    # Its beat runs the sweeper, which recovers the leases (and the messages the SQLite broker lost with the
    # killed worker). More pool processes here cannot add duplicates: only a kill can.
    survivor = start_worker(beat=True, concurrency=2, **options)
    assert wait_for(lambda: status_counts() == Counter(sent=500), timeout=150), (status_counts(), survivor.log())
    seen = smtp_sink.handler.message_ids()
    assert set(seen) == expected_ids(ids, smtp_sink)  # every letter arrived at least once
    duplicates = sum(n - 1 for n in seen.values())
    assert duplicates <= kills, seen.most_common(3)


def test_broker_down_at_submission_then_back(app, smtp_sink, start_worker, caplog, tmp_path):
    down = (BROKER_URL.rsplit("/", 1)[0].replace(":6379", ":1") + "/0" if BROKER_URL
            else f"sqla+sqlite:///{tmp_path}/no-such-dir/broker.sqlite")
    down_app = create_app(_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "down-instance",
                                  CELERY={"broker_url": down,
                                          "task_default_queue": app.config["CELERY"]["task_default_queue"]}))
    caplog.set_level(logging.INFO)
    durations = []
    with down_app.app_context():
        campaign = make_campaign()
        office = make_office(email="sheriff@hinds.example")
        db.session.commit()
        for _ in range(100):  # a "request": record the action, commit, then enqueue
            started = time.monotonic()
            action = make_action(campaign, offices=[office])
            db.session.commit()
            services.enqueue([letter.delivery.id for letter in action.letters])
            durations.append(time.monotonic() - started)
        db.session.remove()
        db.engine.dispose()
    assert max(durations) < 3 and sum(durations) < 30, (max(durations), sum(durations))
    assert status_counts() == Counter(pending=100)
    assert caplog.text.count("broker unavailable") == 100 and "@" not in caplog.text

    worker = start_worker(beat=True, mail=smtp_sink.mail_config(),
                          delivery={"sweep_seconds": 1, "requeue_after_seconds": 0, "per_destination_per_hour": 0})
    assert wait_for(lambda: status_counts() == Counter(sent=100), timeout=90), (status_counts(), worker.log())
    assert len(smtp_sink.handler.message_ids()) == 100


def test_the_same_id_published_three_times_is_sent_once(app, smtp_sink, start_worker):
    [delivery_id] = seed_deliveries(1, offices=1)
    db.session.commit()
    worker = start_worker(concurrency=2, mail=smtp_sink.mail_config())
    assert services.enqueue([delivery_id, delivery_id, delivery_id]) == 3
    finished = re.compile(r"Task delivery\.send\[[^\]]+\] succeeded")
    assert wait_for(lambda: len(finished.findall(worker.log(1_000_000))) >= 3, timeout=60), worker.log()
    assert wait_for(lambda: status_counts() == Counter(sent=1), timeout=10), worker.log()
    assert list(smtp_sink.handler.message_ids().values()) == [1]
    assert db.session.get(Delivery, delivery_id).attempts == 1


def test_a_rollback_after_writing_deliveries_publishes_nothing(app):
    before = queue_size(app)
    action = make_action()
    services.enqueue_on_commit([action.letters[0].delivery.id])
    db.session.rollback()
    assert queue_size(app) == before and status_counts() == Counter()

    action = make_action()
    services.enqueue_on_commit([action.letters[0].delivery.id])
    assert queue_size(app) == before  # not before the commit either
    db.session.commit()
    assert queue_size(app) == before + 1
    purge(app)
    assert db.session.get(Delivery, action.letters[0].delivery.id).status is DeliveryStatus.PENDING


def test_a_lob_outage_delays_postal_letters_and_loses_none(app, start_worker):
    """Postal letters during a Lob outage wait and retry; once Lob is back each is mailed exactly once."""
    address = "2 Capitol St, Jackson, MS 39201"
    ids = seed_deliveries(20, offices=4)
    for delivery in db.session.scalars(db.select(Delivery).where(Delivery.id.in_(ids))):
        delivery.channel, delivery.destination = Channel.POSTAL, address
    db.session.commit()
    with FakeLob(api_key="test_k", mode="500") as lob:
        lob_env = {"ACTIONKIT_LOB": json.dumps({"api_key": "test_k", "base_url": lob.url + "/v1",
                                                "webhook_secret": "s", "from_name": "Org",
                                                "from_address": "1 Example St, Jackson, MS 39201"})}
        delivery_cfg = {**SHORT_LEASE, "backoff_base_seconds": 1, "backoff_cap_seconds": 2,
                        "per_destination_per_hour": 0, "requeue_after_seconds": 1}
        worker = start_worker(beat=True, delivery=delivery_cfg, celery=SHORT_LIMITS, env_extra=lob_env)
        assert services.enqueue(ids) == 20

        def retried() -> bool:
            db.session.rollback()
            return all(a > 0 for a in db.session.scalars(db.select(Delivery.attempts).where(Delivery.id.in_(ids))))

        assert wait_for(retried, timeout=60), (status_counts(), worker.log())
        assert status_counts() == Counter(pending=20) or set(status_counts()) <= {"pending", "sending"}
        assert lob.letters == {}
        lob.mode = "ok"
        assert wait_for(lambda: status_counts() == Counter(sent=20), timeout=90), (status_counts(), worker.log())
    assert len(lob.letters) == 20  # every letter once, none lost, none twice
    refs = set(db.session.scalars(db.select(Delivery.provider_ref).where(Delivery.id.in_(ids))))
    assert refs == set(lob.letters)


# ---------------------------------------------------------------- the new channels: kill -9 and outages
FAX_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CWC_AGENT = {"delivery_agent": "actionkit test", "delivery_agent_ack_email": "ack@example.org",
             "delivery_agent_contact_name": "Ops Person", "delivery_agent_contact_email": "ops@example.org",
             "delivery_agent_contact_phone": "601-555-0199"}
FAST = {**SHORT_LEASE, "per_destination_per_hour": 0, "backoff_base_seconds": 1, "backoff_cap_seconds": 2}


def seed_channel(n: int, channel: Channel, destination: str) -> list[int]:
    """n pending deliveries on `channel`; CWC ones are letters to a House office from supporters with a title."""
    ids = seed_deliveries(n, offices=4)
    for delivery in db.session.scalars(db.select(Delivery).where(Delivery.id.in_(ids))):
        delivery.channel, delivery.destination = channel, destination
        if channel is Channel.CWC:
            delivery.letter.office_type = "us_representative"
            delivery.letter.action.cwc_title = "ms"
    db.session.commit()
    return ids


def _kill_twice_then_survive(start_worker, received, ids: list[int], env: dict[str, str]) -> int:
    """Kill -9 a worker twice mid-run (a third, lasting worker's beat recovers the leases); the kills."""
    options = dict(delivery=FAST, celery=SHORT_LIMITS, env_extra=env)
    assert services.enqueue(ids) == len(ids)
    kills = 0
    for reached in (len(ids) // 4, len(ids) // 2):
        worker = start_worker(beat=kills > 0, **options)
        assert wait_for(lambda: received() >= reached, timeout=60), worker.log()
        worker.kill()
        kills += 1
    assert status_counts()["sent"] < len(ids)
    survivor = start_worker(beat=True, **options)
    assert wait_for(lambda: status_counts() == Counter(sent=len(ids)), timeout=90), (status_counts(), survivor.log())
    return kills


def test_kill_9_mid_run_cwc_loses_nothing_and_duplicates_at_most_once_per_kill(app, start_worker):
    ids = seed_channel(120, Channel.CWC, "HMS02")
    with FakeCwc(chamber="house", api_key="k-house", agent=CWC_AGENT["delivery_agent"], offices=["HMS02"]) as fake:
        env = {"ACTIONKIT_CWC": json.dumps({**CWC_AGENT, "house_url": fake.url, "api_key": "k-house",
                                            "house_maintenance": ""})}
        kills = _kill_twice_then_survive(start_worker, lambda: len(fake.delivered), ids, env)
    assert set(fake.delivered) == {cwc.delivery_id(i) for i in ids}  # every letter reached the House
    assert sum(n - 1 for n in fake.received.values()) <= kills, fake.received.most_common(3)
    # A DeliveryId posted again after a kill is recorded as sent through CWC, not moved to another channel.
    rows = db.session.execute(db.select(Delivery.channel, Delivery.provider_ref).where(Delivery.id.in_(ids))).all()
    assert {(c, ref) for c, ref in rows} == {(Channel.CWC, cwc.delivery_id(i)) for i in ids}


def test_kill_9_mid_run_postal_mails_each_letter_once(app, start_worker):
    """A postal retry after a kill carries the same Idempotency-Key: Lob answers with the first letter, so a
    kill never mails a letter twice."""
    ids = seed_channel(120, Channel.POSTAL, "2 Capitol St, Jackson, MS 39201")
    with FakeLob(api_key="test_k") as lob:
        env = {"ACTIONKIT_LOB": json.dumps({"api_key": "test_k", "base_url": lob.url + "/v1", "webhook_secret": "s",
                                            "from_name": "Org", "from_address": "1 Example St, Jackson, MS 39201"})}
        _kill_twice_then_survive(start_worker, lambda: len(lob.letters), ids, env)
    assert len(lob.letters) == 120 and len(lob.requested) == 120  # one key per delivery, one mailing per key
    refs = set(db.session.scalars(db.select(Delivery.provider_ref).where(Delivery.id.in_(ids))))
    assert refs == set(lob.letters)


def test_kill_9_mid_run_fax_loses_nothing_and_duplicates_at_most_once_per_kill(app, start_worker):
    ids = seed_channel(120, Channel.FAX, "601-555-0123")
    with FakeLob(api_key="test_k", fax_secret=FAX_SECRET) as provider:
        env = {"ACTIONKIT_FAX": json.dumps({"url": provider.url + "/fax", "secret": FAX_SECRET})}
        kills = _kill_twice_then_survive(start_worker, lambda: len(provider.faxes), ids, env)
    seen = Counter(fax["delivery"] for fax in provider.faxes)
    assert set(seen) == {fax_channel.reference(i) for i in ids}
    assert sum(n - 1 for n in seen.values()) <= kills, seen.most_common(3)


def test_a_fax_provider_outage_delays_letters_and_loses_none(app, start_worker):
    """The provider is down (nothing listens on its port): letters wait and retry; once it is up, each is
    faxed exactly once."""
    ids = seed_channel(20, Channel.FAX, "601-555-0123")
    port = free_port()
    env = {"ACTIONKIT_FAX": json.dumps({"url": f"http://127.0.0.1:{port}/fax", "secret": FAX_SECRET,
                                        "timeout": 2})}
    worker = start_worker(beat=True, delivery={**FAST, "requeue_after_seconds": 1}, celery=SHORT_LIMITS, env_extra=env)
    assert services.enqueue(ids) == 20

    def retried() -> bool:
        db.session.rollback()
        return all(a > 0 for a in db.session.scalars(db.select(Delivery.attempts).where(Delivery.id.in_(ids))))

    assert wait_for(retried, timeout=40), (status_counts(), worker.log())
    assert set(status_counts()) <= {"pending", "sending"}
    with FakeLob(api_key="test_k", fax_secret=FAX_SECRET, port=port) as provider:
        assert wait_for(lambda: status_counts() == Counter(sent=20), timeout=60), (status_counts(), worker.log())
    seen = Counter(fax["delivery"] for fax in provider.faxes)
    assert seen == Counter({fax_channel.reference(i): 1 for i in ids})  # every letter once, none lost, none twice


def test_the_senate_rate_ceiling_holds_across_worker_processes(app, start_worker):
    """Two workers of two processes each send 24 Senate letters at once: never more than the ceiling (3) in
    any one second at the stand-in, none lost, no attempt spent on waiting."""
    ids = seed_channel(24, Channel.CWC, "SMS01")
    for letter in db.session.scalars(db.select(Letter).join(Delivery).where(Delivery.id.in_(ids))):
        letter.office_type = "us_senator"
    db.session.commit()
    with FakeCwc(chamber="senate", api_key="k-senate", agent=CWC_AGENT["delivery_agent"], offices=["SMS01"]) as fake:
        env = {"ACTIONKIT_CWC": json.dumps({**CWC_AGENT, "senate_url": fake.url, "senate_api_key": "k-senate",
                                            "senate_maintenance": "", "senate_max_per_second": 3})}
        workers = [start_worker(concurrency=2, beat=i == 0, delivery=FAST, celery=SHORT_LIMITS, env_extra=env)
                   for i in range(2)]
        assert services.enqueue(ids) == 24
        assert wait_for(lambda: status_counts() == Counter(sent=24), timeout=40), (status_counts(), workers[0].log())
    times = sorted(fake.accepted_at)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 3, times
    assert times[-1] - times[0] >= 24 / 3 - 1.5  # the ceiling, not the workers, set the pace
    assert set(db.session.scalars(db.select(Delivery.attempts).where(Delivery.id.in_(ids)))) == {1}
