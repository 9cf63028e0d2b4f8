"""Benchmark: stats pages over 1,000,000 deliveries and 200,000 actions in PostgreSQL, against a 200 ms target.

    .venv/bin/python bench/stats.py [--runs 15] [--keep]

Creates its own database next to ACTIONKIT_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/
postgres), migrates it, loads the real Mississippi county outlines (from ACTIONKIT_SHARED_DATA or ../shared/data,
if present), generates the facts with INSERT ... SELECT generate_series, times a full and an incremental rollup
refresh, then renders each stats page through the Flask test client and prints median and p95 render times.
The baseline, run in the same process, is what one page's GROUP BYs cost straight on the facts.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 200.0
ACTIONS = 200_000
SUPPORTERS = 150_000  # the other 50,000 actions are supporters acting on a second campaign
LETTERS_PER_ACTION = 5  # sheriff, state senator, state representative, U.S. representative, one U.S. senator
DAYS = 365

GEOGRAPHY = """
INSERT INTO divisions (ocd_id, name, type, state, geoid, source)
SELECT 'ocd-division/country:us/state:ms', 'Mississippi', 'state', 'ms', '28', 'bench'
WHERE NOT EXISTS (SELECT 1 FROM divisions WHERE type = 'state' AND state = 'ms');
INSERT INTO divisions (ocd_id, name, type, state, geoid, source)
SELECT 'ocd-division/country:us/state:ms/county:bench' || n, 'Bench County ' || n, 'county', 'ms', NULL, 'bench'
FROM generate_series(1, 82 - (SELECT count(*) FROM divisions WHERE type = 'county')) n;
INSERT INTO divisions (ocd_id, name, type, state, geoid, source)
SELECT 'ocd-division/country:us/state:ms/' || kind || ':' || n,
       'Mississippi ' || CASE kind WHEN 'sldu' THEN 'State Senate District ' WHEN 'sldl' THEN 'State House District '
                                   ELSE 'Congressional District ' END || n, kind, 'ms', NULL, 'bench'
FROM (SELECT 'sldu' AS kind, generate_series(1, 52) AS n UNION ALL SELECT 'sldl', generate_series(1, 122)
      UNION ALL SELECT 'cd', generate_series(1, 4)) d;
INSERT INTO offices (division_id, type, seat, title, source)
SELECT id, CASE type WHEN 'county' THEN 'sheriff' WHEN 'sldu' THEN 'state_senator'
                     WHEN 'sldl' THEN 'state_representative' ELSE 'us_representative' END,
       '', CASE type WHEN 'county' THEN 'Sheriff of ' || name ELSE name END, 'bench'
FROM divisions WHERE type IN ('county', 'sldu', 'sldl', 'cd');
INSERT INTO offices (division_id, type, seat, title, source)
SELECT id, 'us_senator', seat, 'U.S. Senator for Mississippi (Class ' || seat || ')', 'bench'
FROM divisions, (VALUES ('1'), ('2')) s(seat) WHERE type = 'state';
INSERT INTO officials (office_id, person_key, name, source)
SELECT id, 'bench:' || id, 'Official ' || id, 'bench' FROM offices;
CREATE TABLE bench_counties AS
SELECT row_number() OVER (ORDER BY d.id) - 1 AS idx, d.id AS county_id FROM divisions d WHERE d.type = 'county';
-- Each county's offices: its sheriff, one of 2 state senate districts, one of 3 house districts, its
-- congressional district and one of the 2 U.S. senators (variant = action id mod the number of choices).
CREATE TABLE bench_targets AS
WITH o AS (SELECT o.id, o.type, o.title, d.type AS dtype, row_number() OVER (PARTITION BY o.type ORDER BY o.id) - 1
                  AS n, f.id AS official_id, f.name AS official_name
           FROM offices o JOIN divisions d ON d.id = o.division_id JOIN officials f ON f.office_id = o.id)
SELECT c.county_id, 1 AS slot, 1 AS variants, 0 AS variant, o.* FROM bench_counties c
JOIN o ON o.type = 'sheriff' AND o.n = c.idx
UNION ALL SELECT c.county_id, 2, 2, v, o.* FROM bench_counties c CROSS JOIN generate_series(0, 1) v
JOIN o ON o.type = 'state_senator' AND o.n = (c.idx * 52 / 82 + v) % 52
UNION ALL SELECT c.county_id, 3, 3, v, o.* FROM bench_counties c CROSS JOIN generate_series(0, 2) v
JOIN o ON o.type = 'state_representative' AND o.n = (c.idx * 122 / 82 + v) % 122
UNION ALL SELECT c.county_id, 4, 1, 0, o.* FROM bench_counties c
JOIN o ON o.type = 'us_representative' AND o.n = c.idx * 4 / 82
UNION ALL SELECT c.county_id, 5, 2, v, o.* FROM bench_counties c CROSS JOIN generate_series(0, 1) v
JOIN o ON o.type = 'us_senator' AND o.n = v;
CREATE INDEX ON bench_targets (county_id, slot, variant);
"""

FACTS = f"""
INSERT INTO campaigns (slug, state, status, personalisation, target_types, letter_language, goal, starts_at)
VALUES ('bench-sheriffs', 'ms', 'live', 'paragraph',
        '["sheriff","state_senator","state_representative","us_representative","us_senator"]', 'en', 150000,
        now() - interval '{DAYS} days'),
       ('bench-legislature', 'ms', 'live', 'paragraph',
        '["sheriff","state_senator","state_representative","us_representative","us_senator"]', 'en', 60000,
        now() - interval '{DAYS} days');
INSERT INTO campaign_texts (campaign_id, lang, title, summary, body)
SELECT id, 'en', CASE slug WHEN 'bench-sheriffs' THEN 'End 287(g) in every county' ELSE 'Ask the legislature' END,
       '', '' FROM campaigns;
INSERT INTO supporters (email_hash, language, opt_in)
SELECT md5('bench-supporter-' || i), CASE WHEN i % 11 = 0 THEN 'es' ELSE 'en' END, false
FROM generate_series(1, {SUPPORTERS}) i;
-- Action i: supporter ((i - 1) % SUPPORTERS) + 1; the first SUPPORTERS actions are on the first campaign, the
-- rest are those supporters' second action, on the second campaign. Counties follow a skewed, stable
-- hash of the supporter (big counties get most actions, a few small ones next to none); days a hash too.
INSERT INTO actions (campaign_id, supporter_id, token_hash, language, state, county_id, division_ids, accuracy,
                     pending_types, is_returning, created_at, updated_at)
SELECT c.id, s.id, md5('bench-action-' || i), s.language, 'ms', bc.county_id, '[]', 'street', '[]',
       i > {SUPPORTERS}, t.at, t.at
FROM generate_series(1, {ACTIONS}) i
JOIN supporters s ON s.id = (SELECT min(id) FROM supporters) + (i - 1) % {SUPPORTERS}
JOIN campaigns c ON c.slug = CASE WHEN i <= {SUPPORTERS} THEN 'bench-sheriffs' ELSE 'bench-legislature' END
JOIN bench_counties bc ON bc.idx = floor(82 * power(((s.id::bigint * 2654435761) % 1000003) / 1000003.0, 2.2))::int
CROSS JOIN LATERAL (SELECT now() - ((i::bigint * 40503) % {DAYS * 86400}) * interval '1 second' AS at) t;
INSERT INTO letters (action_id, office_id, official_id, office_type, addressed_to, office_title, subject, body,
                     created_at, updated_at)
SELECT a.id, t.id, t.official_id, t.type, t.official_name, t.title, 'bench', 'bench', a.created_at, a.created_at
FROM actions a JOIN bench_targets t ON t.county_id = a.county_id AND t.variant = a.id % t.variants;
INSERT INTO deliveries (letter_id, channel, destination, status, attempts, next_attempt_at, sent_at, final_at,
                        created_at, updated_at)
SELECT l.id, CASE WHEN l.office_type LIKE 'us_%' THEN 'cwc' WHEN l.id % 10 = 0 THEN 'print' ELSE 'email' END,
       NULL, st.status, 1, l.created_at, CASE WHEN st.status = 'sent' THEN l.created_at END,
       CASE WHEN st.status IN ('sent', 'failed', 'dead') THEN l.created_at END, l.created_at, l.created_at
FROM letters l
CROSS JOIN LATERAL (SELECT CASE WHEN r < 850 THEN 'sent' WHEN r < 900 THEN 'pending' WHEN r < 930 THEN 'failed'
                                WHEN r < 950 THEN 'dead' WHEN r < 980 THEN 'held' ELSE 'sending' END AS status
                    FROM (SELECT (l.id::bigint * 2654435761) % 1000 AS r) x) st;
"""

NEW_ACTIONS = 1_000  # a busy hour between two scheduled refreshes


def log(message: str) -> None:
    print(message, flush=True)


def timed(label: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    log(f"  {label}: {time.perf_counter() - started:.1f} s")
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="renders of each page (after 2 warm-up renders)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", metavar="DATABASE", help="time the pages again on a database kept by --keep")
    args = parser.parse_args()

    base_url = os.environ.get("ACTIONKIT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = sa.make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = args.reuse or f"actionkit_bench_stats_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    log(f"database {name} on {base.render_as_string(hide_password=True)}")
    try:
        return run(url, args.runs, generate=not args.reuse)
    finally:
        if not args.keep and not args.reuse:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, runs: int, *, generate: bool = True) -> int:
    """An app on the benchmark database: build it (unless reused), then time the pages."""
    import tempfile

    from cryptography.fernet import Fernet

    from actionkit import create_app
    from actionkit.extensions import db
    from actionkit.stats import services

    instance = Path(tempfile.mkdtemp(prefix="actionkit-bench-"))
    app = create_app({
        "DATABASE_URL": url, "EMBEDDED": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench-only",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(), "HMAC_KEY": "bench-only", "LOG_LEVEL": "WARNING",
        "CELERY": {"broker_url": f"sqla+sqlite:///{instance / 'broker.sqlite'}"},
    })
    with app.app_context():
        if generate:
            build(db, services)
        return render(app, db, runs)


def build(db: Any, services: Any) -> None:
    """Schema, geography, facts and rollups, each step timed."""
    from flask_migrate import upgrade

    log("setting up")
    timed("migrate", upgrade)
    timed("county outlines", lambda: load_outlines(db))
    with db.engine.begin() as conn:
        superuser = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    with db.engine.begin() as conn:
        if superuser:  # FK checks are row triggers: skip them for the bulk load (the data is consistent)
            sql(conn, "SET LOCAL session_replication_role = replica")
        timed("geography", lambda: sql(conn, GEOGRAPHY))
        rebuild = without_secondary_indexes(conn, ["supporters", "actions", "letters", "deliveries"])
        timed(f"facts ({ACTIONS:,} actions, {ACTIONS * LETTERS_PER_ACTION:,} letters and deliveries)",
              lambda: sql(conn, FACTS))
        timed("indexes", lambda: sql(conn, rebuild))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        timed("vacuum analyze", lambda: sql(conn, "VACUUM ANALYZE"))
    counts = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("actions", "deliveries")}
    log(f"  {counts['actions']:,} actions, {counts['deliveries']:,} deliveries")

    log("rollups")
    timed("full refresh", lambda: services.refresh(full=True))
    db.session.commit()
    with db.engine.begin() as conn:
        sql(conn, f"""
            INSERT INTO supporters (email_hash, language, opt_in)
            SELECT md5('bench-new-' || i), 'en', false FROM generate_series(1, {NEW_ACTIONS}) i;
            INSERT INTO actions (campaign_id, supporter_id, token_hash, language, state, county_id, division_ids,
                                 accuracy, pending_types, is_returning)
            SELECT (SELECT id FROM campaigns WHERE slug = 'bench-sheriffs'), s.id, md5('bench-new-a-' || s.id),
                   'en', 'ms', (SELECT county_id FROM bench_counties WHERE idx = s.id % 82), '[]', 'street', '[]',
                   false
            FROM supporters s WHERE s.id > (SELECT max(supporter_id) FROM actions);
            INSERT INTO letters (action_id, office_id, official_id, office_type, addressed_to, office_title,
                                 subject, body)
            SELECT a.id, t.id, t.official_id, t.type, t.official_name, t.title, 'bench', 'bench'
            FROM actions a JOIN bench_targets t ON t.county_id = a.county_id AND t.variant = a.id % t.variants
            WHERE a.created_at > now() - interval '1 minute';
            INSERT INTO deliveries (letter_id, channel, status, attempts, next_attempt_at)
            SELECT id, 'email', 'pending', 0, now() FROM letters WHERE created_at > now() - interval '1 minute';
            UPDATE deliveries SET status = 'sent', updated_at = now()
            WHERE created_at > now() - interval '1 minute' AND id % 4 <> 0;
            UPDATE deliveries SET status = 'sent', attempts = 2, updated_at = now()  -- retries of old letters
            WHERE id IN (SELECT id FROM deliveries WHERE status = 'failed' ORDER BY id LIMIT 20);
        """)
    report = timed(f"incremental refresh ({NEW_ACTIONS:,} new actions and their deliveries, 20 old retries)",
                   services.refresh)
    db.session.commit()
    log(f"  {report.summary()}")
    sizes = db.session.execute(sa.text(
        "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname LIKE 'stats_%' ORDER BY relname"))
    log("  rollup rows: " + ", ".join(f"{r[0]} ~{r[1]:,}" for r in sizes))


def render(app: Any, db: Any, runs: int) -> int:
    """Each stats page through the test client, logged in as a viewer; prints the timings."""
    from actionkit.extensions import login_manager
    from actionkit.staff.auth import LOGIN_AT
    from actionkit.staff.models import Role, StaffUser

    viewer = StaffUser(email=f"bench-{uuid.uuid4().hex[:6]}@staff.example.org", password_hash="-",
                       role=Role.VIEWER, session_nonce=uuid.uuid4().hex)
    db.session.add(viewer)
    db.session.commit()
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        ident = login_manager._session_identifier_generator()
    with client.session_transaction() as sess:
        sess.update({"_user_id": viewer.get_id(), "_fresh": True, "_id": ident, LOGIN_AT: time.time()})

    county = db.session.scalar(sa.text(
        "SELECT county_id FROM actions GROUP BY county_id ORDER BY count(*) DESC LIMIT 1"))
    today = db.session.scalar(sa.text("SELECT (now() AT TIME ZONE 'UTC')::date"))
    start, end = str((today - dt.timedelta(days=120)).replace(day=15)), str(today - dt.timedelta(days=3))
    pages = [
        ("overview", "/staff/stats", {}),
        ("campaign", "/staff/stats/bench-sheriffs", {}),
        ("overview, date range + county", "/staff/stats", {"from": start, "to": end, "county": county}),
        ("campaign, date range + office type", "/staff/stats/bench-sheriffs",
         {"from": start, "to": end, "office_type": "sheriff"}),
        ("campaign, biggest county", "/staff/stats/bench-sheriffs", {"county": county}),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    log(f"\nrender times over {runs} runs (after 2 warm-up renders), target {TARGET_MS:.0f} ms; "
        f"load average {load} on {os.cpu_count()} CPUs")
    log(f"  {'page':<38} {'median':>9} {'p95':>9} {'max':>9}  {'p95/target':>10}  {'app CPU':>9}")
    worst = 0.0
    for label, path, params in pages:
        times, cpu = [], []
        for i in range(runs + 2):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, query_string=params)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if i >= 2:
                times.append(elapsed)
                cpu.append((time.process_time() - started_cpu) * 1000)
        p95 = percentile(times, 95)
        worst = max(worst, p95)
        log(f"  {label:<38} {statistics.median(times):>7.1f}ms {p95:>7.1f}ms {max(times):>7.1f}ms  "
            f"{p95 / TARGET_MS:>9.2f}x  {statistics.median(cpu):>7.1f}ms")
    log("  (app CPU: median CPU time of this Python process per render, PostgreSQL's own work not included;"
        " wall times stretch when other processes compete for the CPUs)")
    baseline = baseline_ms(db)
    log(f"\nbaseline (same process): the campaign page's GROUP BYs straight on the facts take {baseline:.0f} ms, "
        f"{baseline / TARGET_MS:.1f}x the target")
    log(f"load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    log(f"worst p95 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    db.session.remove()
    db.engine.dispose()
    return 0 if worst <= TARGET_MS else 1


def sql(conn: Any, script: str) -> None:
    """Run a script of several statements as is (no parameters, so '%' needs no escaping)."""
    with conn.connection.cursor() as cursor:
        cursor.execute(script)


def without_secondary_indexes(conn: Any, tables: list[str]) -> str:
    """Drop the tables' unique constraints and indexes (not primary keys) for a faster bulk load; returns the
    script that puts them back exactly as the migrations made them."""
    constraints = conn.execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid::regclass::text = ANY(:t)"), {"t": tables}).all()
    indexes = conn.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(:t) AND i.indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"), {"t": tables}).all()
    for table, name, _ in constraints:
        sql(conn, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        sql(conn, f'DROP INDEX "{name}"')
    return ";\n".join([f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in constraints]
                      + [d for _, d in indexes])


def load_outlines(db: Any) -> None:
    """The real county outlines, through the boundaries importer (the map then looks like Mississippi)."""
    shared = Path(os.environ.get("ACTIONKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
    path = shared / "boundaries" / "ms_counties_us-atlas-2023_10m.geojson"
    if not path.exists():
        log(f"  ({path} not found: synthetic counties, no map)")
        return
    from actionkit.officials.importers import ImportContext, boundaries

    boundaries.load(path, "ms", ImportContext())
    db.session.commit()


def baseline_ms(db: Any) -> float:
    """What the campaign page's main breakdowns cost as plain GROUP BYs on the facts (median of 3)."""
    queries = [
        "SELECT d.status, d.channel, count(*) FROM deliveries d JOIN letters l ON l.id = d.letter_id "
        "JOIN actions a ON a.id = l.action_id JOIN campaigns c ON c.id = a.campaign_id "
        "WHERE c.slug = 'bench-sheriffs' GROUP BY 1, 2",
        "SELECT l.office_id, l.official_id, count(*) FROM letters l JOIN actions a ON a.id = l.action_id "
        "JOIN campaigns c ON c.id = a.campaign_id WHERE c.slug = 'bench-sheriffs' GROUP BY 1, 2",
        "SELECT a.county_id, count(*) FROM actions a JOIN campaigns c ON c.id = a.campaign_id "
        "WHERE c.slug = 'bench-sheriffs' GROUP BY 1",
        "SELECT (a.created_at AT TIME ZONE 'UTC')::date, count(*) FROM actions a JOIN campaigns c "
        "ON c.id = a.campaign_id WHERE c.slug = 'bench-sheriffs' GROUP BY 1",
    ]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with db.engine.connect() as conn:
            for q in queries:
                conn.exec_driver_sql(q).all()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
