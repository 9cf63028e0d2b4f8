"""The outbox services called directly: claim and lease, outcomes, backoff, dead-lettering, pacing, the sweeper,
retries, publishing after commit and the staff queries."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actionkit.celery_app import Publisher
from actionkit.db import utcnow
from actionkit.delivery import channels, services
from actionkit.delivery.channels import Outcome
from actionkit.delivery.models import Channel, Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.officials.models import OfficeType
from tests.factories import make_action, make_office

MIN = dt.timedelta(minutes=1)


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def one_delivery(**values) -> Delivery:
    action = make_action()
    delivery = action.letters[0].delivery
    for key, value in values.items():
        setattr(delivery, key, value)
    db.session.commit()
    return delivery


def fresh(delivery_id: int) -> Delivery:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


@pytest.fixture
def published(monkeypatch):
    """The ids enqueue() would publish, instead of publishing them."""
    ids: list[int] = []
    monkeypatch.setattr(services, "enqueue", lambda batch: ids.extend(batch) or len(ids))
    return ids


# ------------------------------------------------------------------------------------------------------ claim

def test_two_claims_of_one_row_one_wins(app):
    delivery_id = one_delivery().id
    first = services.claim(delivery_id)
    db.session.commit()
    second = services.claim(delivery_id)
    db.session.commit()
    assert first is not None and second is None
    row = fresh(delivery_id)
    assert row.status is DeliveryStatus.SENDING and row.attempts == 1
    assert aware(row.lease_expires_at) > utcnow() + dt.timedelta(seconds=300)


def test_concurrent_claims_from_two_connections_one_wins(app):
    delivery_id = one_delivery().id
    barrier = threading.Barrier(2)
    results: list[object] = []

    def contender() -> None:
        with app.app_context():
            barrier.wait()
            claimed = services.claim(delivery_id)
            db.session.commit()
            results.append(claimed is not None)
            db.session.remove()

    threads = [threading.Thread(target=contender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    assert fresh(delivery_id).attempts == 1


def test_claim_skips_rows_not_due_final_or_printed(app):
    later = one_delivery(next_attempt_at=utcnow() + MIN)
    sent = one_delivery(status=DeliveryStatus.SENT)
    printed = one_delivery(channel=Channel.PRINT, destination=None)
    for delivery in (later, sent, printed):
        assert services.claim(delivery.id) is None
    assert services.claim(later.id, now=utcnow() + 2 * MIN) is not None


def test_an_expired_lease_can_be_claimed_again(app):
    delivery = one_delivery(status=DeliveryStatus.SENDING, attempts=1,
                            lease_expires_at=utcnow() - dt.timedelta(seconds=1))
    claimed = services.claim(delivery.id)
    assert claimed is not None and claimed.attempts == 2


def test_a_row_that_keeps_killing_workers_is_dead_lettered(app):
    app.config["DELIVERY"]["max_attempts"] = 3
    delivery = one_delivery(status=DeliveryStatus.SENDING, attempts=3, lease_expires_at=utcnow() - MIN)
    assert services.claim(delivery.id) is None
    row = fresh(delivery.id)
    assert row.status is DeliveryStatus.DEAD and "worker was lost" in row.last_error


# -------------------------------------------------------------------------------------------------- outcomes

def claimed(**values) -> services.Claim:
    delivery = one_delivery(**values)
    result = services.claim(delivery.id)
    db.session.commit()
    assert result is not None
    return result


def test_sent_records_the_provider_reference(app):
    delivery = claimed()
    assert services.record(delivery, Outcome.sent("<delivery-1.abc@x>")) is DeliveryStatus.SENT
    row = fresh(delivery.id)
    assert (row.status, row.provider_ref, row.lease_expires_at) == (DeliveryStatus.SENT, "<delivery-1.abc@x>", None)
    assert row.sent_at is not None and row.final_at is not None


def test_permanent_error_moves_to_the_next_channel_of_the_chain(app, published):
    delivery = claimed()  # a sheriff with an email: email -> print
    assert services.record(delivery, Outcome.permanent("smtp 550 recipient refused")) is DeliveryStatus.PENDING
    db.session.commit()
    row = fresh(delivery.id)
    assert (row.channel, row.destination, row.attempts, row.final_at) == (Channel.PRINT, None, 0, None)
    assert row.last_error == "smtp 550 recipient refused"
    assert row.channel_notes.splitlines() == [
        "email: failed: smtp 550 recipient refused", "fax: no fax provider is configured (ACTIONKIT_FAX__url)",
        "postal: Lob is not configured (ACTIONKIT_LOB__api_key)", "moved to print"]
    assert published == []  # print letters wait for a batch
    assert [r.office_id for r in services.print_queue()] == [row.letter.office_id]


def test_permanent_error_on_the_last_channel_fails_at_once(app, monkeypatch):
    monkeypatch.setitem(channels.CHAIN_ORDER, OfficeType.SHERIFF, (Channel.EMAIL,))  # nothing after email
    delivery = claimed()
    assert services.record(delivery, Outcome.permanent("smtp 550 recipient refused")) is DeliveryStatus.FAILED
    row = fresh(delivery.id)
    assert row.last_error == "smtp 550 recipient refused" and row.final_at is not None
    assert row.channel is Channel.EMAIL


def test_a_withdrawn_letter_does_not_fall_back(app):
    delivery = claimed()
    db.session.get(Delivery, delivery.id).letter.action.supporter.deleted_at = utcnow()
    db.session.commit()
    outcome = Outcome.permanent("withdrawn: the supporter deleted their data")
    assert services.record(delivery, outcome) is DeliveryStatus.FAILED
    assert fresh(delivery.id).channel is Channel.EMAIL


def test_a_deferral_waits_without_using_an_attempt(app):
    delivery = claimed(attempts=2)
    until = utcnow() + dt.timedelta(hours=3)
    assert services.record(delivery, Outcome.later("cwc house maintenance window", until)) is DeliveryStatus.PENDING
    row = fresh(delivery.id)
    assert row.attempts == 2 and row.last_error == "cwc house maintenance window"
    assert services._aware(row.next_attempt_at) == until


def test_transient_error_goes_back_to_pending_with_backoff(app):
    app.config["DELIVERY"].update(backoff_base_seconds=60, backoff_cap_seconds=3600)
    delivery = claimed(attempts=2)  # this is attempt 3: ceiling 60 * 2**2 = 240 s
    now = utcnow()
    assert services.record(delivery, Outcome.transient("smtp 451 try later"), now) is DeliveryStatus.PENDING
    row = fresh(delivery.id)
    assert row.attempts == 3 and row.lease_expires_at is None and row.last_error == "smtp 451 try later"
    assert now <= aware(row.next_attempt_at) <= now + dt.timedelta(seconds=240)


def test_transient_error_after_the_last_attempt_is_dead(app):
    app.config["DELIVERY"]["max_attempts"] = 3
    delivery = claimed(attempts=2)
    assert services.record(delivery, Outcome.transient("smtp timeout")) is DeliveryStatus.DEAD
    assert fresh(delivery.id).last_error == "gave up after 3 attempts: smtp timeout"


def test_transient_error_after_the_deadline_is_dead(app):
    delivery = claimed()
    late = utcnow() + dt.timedelta(hours=48, seconds=1)
    assert services.record(delivery, Outcome.transient("smtp disconnected"), late) is DeliveryStatus.DEAD


def test_an_outcome_is_not_recorded_over_someone_elses_claim(app):
    delivery = claimed()  # loaded with attempts=1; meanwhile the lease expired and another task re-claimed it
    db.session.execute(db.update(Delivery).where(Delivery.id == delivery.id).values(attempts=2)
                       .execution_options(synchronize_session=False))
    assert services.record(delivery, Outcome.sent("<x@y>")) is DeliveryStatus.SENDING
    assert fresh(delivery.id).status is DeliveryStatus.SENDING


@settings(max_examples=300, deadline=None)
@given(attempt=st.integers(min_value=1, max_value=10_000),
       base=st.floats(min_value=0.001, max_value=10_000, allow_nan=False),
       cap=st.floats(min_value=0, max_value=10**7, allow_nan=False),
       r=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_backoff_is_full_jitter_within_bounds(attempt, base, cap, r):
    delay = services.backoff(attempt, base=base, cap=cap, rand=lambda: r)
    assert 0 <= delay <= min(cap, base * 2.0 ** min(attempt - 1, 64))
    assert delay <= min(cap, base * 2.0 ** min(attempt, 64))


def test_backoff_reaches_its_ceiling_and_its_floor():
    assert services.backoff(1, base=30, cap=3600, rand=lambda: 0.0) == 0
    assert services.backoff(3, base=30, cap=3600, rand=lambda: 0.999999) == pytest.approx(120, rel=1e-5)
    assert services.backoff(40, base=30, cap=3600, rand=lambda: 0.999999) == pytest.approx(3600, rel=1e-5)


# ----------------------------------------------------------------------------------------------------- pacing

def test_pacing_defers_without_counting_an_attempt(app):
    app.config["DELIVERY"]["per_destination_per_hour"] = 2
    office = make_office(email="busy@sheriff.example")
    now = utcnow()
    sent_times = [now - dt.timedelta(minutes=50), now - dt.timedelta(minutes=10)]
    for sent_at in sent_times:
        old = make_action(offices=[office]).letters[0].delivery
        old.status, old.sent_at = DeliveryStatus.SENT, sent_at
    waiting = make_action(offices=[office]).letters[0].delivery
    db.session.commit()

    assert services.claim(waiting.id) is None
    db.session.commit()
    row = fresh(waiting.id)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 0 and row.first_attempt_at is None
    frees = sent_times[0] + dt.timedelta(hours=1)
    assert frees <= aware(row.next_attempt_at) <= frees + dt.timedelta(seconds=30)

    assert services.claim(waiting.id, now=frees + MIN) is not None  # the window has room again


def test_pacing_counts_letters_in_flight(app):
    app.config["DELIVERY"]["per_destination_per_hour"] = 1
    office = make_office(email="small@sheriff.example")
    first, second = (make_action(offices=[office]).letters[0].delivery for _ in range(2))
    db.session.commit()
    assert services.claim(first.id) is not None
    db.session.commit()
    assert services.claim(second.id) is None  # the first is being sent right now
    assert fresh(second.id).attempts == 0


def test_concurrent_claims_for_one_destination_respect_its_limit(app, monkeypatch):
    app.config["DELIVERY"]["per_destination_per_hour"] = 1
    office = make_office(email="one@sheriff.example")
    ids = [make_action(offices=[office]).letters[0].delivery.id for _ in range(2)]
    db.session.commit()
    counted = services._paced_until

    def slow_to_commit(held, now):  # type: ignore[no-untyped-def]
        result = counted(held, now)
        time.sleep(0.3)  # both have counted before either commits, unless the destination lock orders them
        return result

    monkeypatch.setattr(services, "_paced_until", slow_to_commit)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def contender(delivery_id: int) -> None:
        with app.app_context():
            barrier.wait()
            claimed = services.claim(delivery_id)
            db.session.commit()
            results.append(claimed is not None)
            db.session.remove()

    threads = [threading.Thread(target=contender, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]


def test_pacing_is_per_destination_and_can_be_turned_off(app):
    app.config["DELIVERY"]["per_destination_per_hour"] = 1
    a, b = make_office(email="a@sheriff.example"), make_office(county="Rankin", email="b@sheriff.example")
    da, db_ = make_action(offices=[a]).letters[0].delivery, make_action(offices=[b]).letters[0].delivery
    db.session.commit()
    assert services.claim(da.id) is not None and services.claim(db_.id) is not None
    db.session.commit()
    app.config["DELIVERY"]["per_destination_per_hour"] = 0
    again = make_action(offices=[a]).letters[0].delivery
    db.session.commit()
    assert services.claim(again.id) is not None


# ----------------------------------------------------------------------------------------------------- sweeper

def test_sweep_recovers_expired_leases(app):
    stuck = one_delivery(status=DeliveryStatus.SENDING, attempts=1, lease_expires_at=utcnow() - MIN)
    busy = one_delivery(status=DeliveryStatus.SENDING, attempts=1, lease_expires_at=utcnow() + MIN)
    result = services.sweep()
    db.session.commit()
    assert result.recovered == 1 and result.ids == [stuck.id]
    assert fresh(stuck.id).status is DeliveryStatus.PENDING and fresh(stuck.id).attempts == 1
    assert fresh(busy.id).status is DeliveryStatus.SENDING


def test_sweep_leaves_fresh_rows_to_their_task_then_picks_them_up(app):
    app.config["DELIVERY"]["requeue_after_seconds"] = 120
    fresh_row = one_delivery()
    assert services.sweep().ids == []
    later = utcnow() + dt.timedelta(seconds=121)
    assert services.sweep(now=later).ids == [fresh_row.id]
    db.session.commit()
    assert services.sweep(now=later + MIN).ids == []  # published once; not again until requeue_after
    assert services.sweep(now=later + dt.timedelta(seconds=121)).ids == [fresh_row.id]


def test_sweep_publishes_due_retries_at_once_and_not_early_ones(app):
    due = one_delivery(attempts=1, next_attempt_at=utcnow() - MIN)
    early = one_delivery(attempts=1, next_attempt_at=utcnow() + MIN)
    assert services.sweep().ids == [due.id]
    assert early.id not in services.sweep().ids


def test_sweep_never_publishes_print_and_holds_unavailable_channels(app):
    old = utcnow() - dt.timedelta(hours=1)
    printed = one_delivery(channel=Channel.PRINT, destination=None, created_at=old)
    webhook = one_delivery(channel=Channel.WEBHOOK, created_at=old)
    result = services.sweep()
    db.session.commit()
    assert printed.id not in result.ids and webhook.id not in result.ids and result.held == 1
    row = fresh(webhook.id)
    assert row.status is DeliveryStatus.HELD and row.last_error == "the webhook channel is not available yet"
    assert fresh(printed.id).status is DeliveryStatus.PENDING


def test_sweep_works_in_batches(app):
    from tests.delivery.conftest import seed_deliveries

    ids = seed_deliveries(7, offices=2)
    db.session.commit()
    later = utcnow() + dt.timedelta(hours=1)
    first = services.sweep(now=later, limit=5)
    db.session.commit()
    second = services.sweep(now=later, limit=5)
    assert first.scanned == 5 and len(second.ids) == 2 and sorted(first.ids + second.ids) == sorted(ids)


# ------------------------------------------------------------------------------------------------ publishing

def test_enqueue_on_commit_publishes_after_commit_only(app, published):
    delivery = one_delivery()
    services.enqueue_on_commit([delivery.id])
    assert published == []
    db.session.commit()
    assert published == [delivery.id]


def test_a_rollback_publishes_nothing(app, published):
    action = make_action()
    services.enqueue_on_commit([action.letters[0].delivery.id])
    db.session.rollback()
    db.session.commit()
    assert published == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Delivery)) == 0


def test_enqueue_keeps_one_broker_connection_and_replaces_a_stale_one(app, monkeypatch):
    celery = app.extensions["celery"]
    opened = []
    real = celery.connection_for_write
    monkeypatch.setattr(celery, "connection_for_write",  # (Celery's own event dispatcher opens one too)
                        lambda **kw: ("transport_options" in kw and opened.append(1)) or real(**kw))
    Publisher.discard()
    assert services.enqueue([1, 2]) == 2 and services.enqueue([3]) == 1
    assert len(opened) == 1

    producer, _ = Publisher.producer(celery, 2.0)

    def broken(*args, **kwargs):
        raise ConnectionResetError("the broker restarted")

    monkeypatch.setattr(producer, "publish", broken)
    assert services.enqueue([4, 5]) == 2  # published on a new connection
    assert len(opened) == 2
    Publisher.discard()


def test_enqueue_with_the_broker_down_returns_fast_and_logs_no_personal_data(app, caplog, tmp_path):
    app.extensions["celery"].conf.broker_url = f"sqla+sqlite:///{tmp_path}/missing/dir/broker.sqlite"
    delivery = one_delivery()
    caplog.set_level(logging.WARNING)
    start = time.monotonic()
    assert services.enqueue([delivery.id]) == 0
    assert time.monotonic() - start < 5
    assert "broker unavailable" in caplog.text and "1 of 1" in caplog.text
    assert "@" not in caplog.text and str(tmp_path) not in caplog.text


def test_enqueue_with_an_unreachable_redis_returns_fast(app, caplog):
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/0"
    start = time.monotonic()
    assert services.enqueue([1, 2, 3]) == 0
    assert time.monotonic() - start < 5


# ---------------------------------------------------------------------------------------------- staff services

def test_retry_resets_failed_and_dead_and_leaves_sent_alone(app, published):
    failed = one_delivery(status=DeliveryStatus.FAILED, attempts=1, last_error="smtp 550 x", final_at=utcnow())
    dead = one_delivery(status=DeliveryStatus.DEAD, attempts=10, first_attempt_at=utcnow() - dt.timedelta(days=3))
    sent = one_delivery(status=DeliveryStatus.SENT, attempts=1)
    retried = services.retry([failed.id, sent.id], statuses=[DeliveryStatus.DEAD])
    db.session.commit()
    assert sorted(retried) == sorted([failed.id, dead.id]) and sorted(published) == sorted(retried)
    for row in (fresh(failed.id), fresh(dead.id)):
        assert (row.status, row.attempts, row.first_attempt_at, row.final_at) == (DeliveryStatus.PENDING, 0, None,
                                                                                  None)
    assert fresh(failed.id).last_error == "smtp 550 x"
    assert fresh(sent.id).status is DeliveryStatus.SENT


def test_retry_never_revives_a_supporter_who_deleted_their_data(app, published):
    from actionkit.privacy.services import delete_supporter

    action = make_action()
    db.session.commit()
    delete_supporter(action.supporter)
    db.session.commit()
    delivery = action.letters[0].delivery
    assert fresh(delivery.id).status is DeliveryStatus.CANCELLED  # cancelled, not failed
    assert services.retry([delivery.id], statuses=[DeliveryStatus.FAILED]) == []
    db.session.commit()
    assert fresh(delivery.id).status is DeliveryStatus.CANCELLED and published == []


def test_a_letter_withdrawn_after_its_claim_is_cancelled_not_failed(app):
    action = make_action()
    db.session.commit()
    delivery_id = action.letters[0].delivery.id
    held = services.claim(delivery_id)
    db.session.commit()
    action.supporter.deleted_at = utcnow()
    db.session.commit()
    assert services.attempt(held) is DeliveryStatus.CANCELLED
    db.session.commit()
    row = fresh(delivery_id)
    assert (row.status, row.last_error) == (DeliveryStatus.CANCELLED, services.CANCEL_REASON)


def test_status_counts_failures_and_print_queue(app):
    one_delivery(status=DeliveryStatus.FAILED, last_error="smtp 550 recipient refused")
    one_delivery(status=DeliveryStatus.SENT)
    sheriff = make_office(county="Madison", email=None)
    make_action(offices=[sheriff], channel=Channel.PRINT)
    make_action(offices=[sheriff], channel=Channel.PRINT)
    db.session.commit()
    counts = services.status_counts()
    assert counts[DeliveryStatus.FAILED] == {Channel.EMAIL: 1}
    assert counts[DeliveryStatus.PENDING] == {Channel.PRINT: 2}
    failures = services.list_failures()
    assert [f.last_error for f in failures] == ["smtp 550 recipient refused"]
    assert failures[0].letter.office_title.startswith("Sheriff")
    assert [(r.office_id, r.pending) for r in services.print_queue()] == [(sheriff.id, 2)]


def test_new_delivery_chooses_email_or_print(app):
    with_email = make_office(email=" Sheriff@Hinds.Example ")
    without = make_office(OfficeType.SHERIFF, county="Madison", email=None)
    action = make_action(offices=[with_email, without])
    for letter in action.letters:
        db.session.delete(letter.delivery)
    db.session.flush()
    made = [services.new_delivery(letter) for letter in action.letters]
    db.session.flush()
    assert [(d.channel, d.destination) for d in made] == [(Channel.EMAIL, "sheriff@hinds.example"),
                                                          (Channel.PRINT, None)]
