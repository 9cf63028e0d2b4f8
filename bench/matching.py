"""Matching latency, measured in one process tree against its own baseline.

- warm: match() for an address already in the cache (HMAC lookup, divisions, offices + holders); target < 5 ms.
- cold: match() with an empty cache against the fake Census server, as a ratio to a bare HTTP round trip
  (same request, same keep-alive requests.Session type) to the same server.

    .venv/bin/python bench/matching.py [--runs 200] [--shared-data ../shared/data]

Creates a temporary SQLite app, loads the Mississippi directory with run_sync(shared_data, "ms"), and starts the
fake geocoder in a thread; nothing outside the temporary folder is touched.
"""
from __future__ import annotations

import argparse
import logging
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ADDRESSES = ("400 High St, Jackson, MS 39201", "2309 15th St, Gulfport, MS 39501", "71 E Troy St, Tupelo, MS 38804",
             "200 Forrest St, Hattiesburg, MS 39401")


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--shared-data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from flask_migrate import upgrade

    from actionkit import create_app
    from actionkit.extensions import db
    from actionkit.officials import matching
    from actionkit.officials.cli import run_sync
    from actionkit.officials.fake_geocoder import DEFAULT_FIXTURES, FakeCensusGeocoder
    from actionkit.officials.models import Division, GeocodeCacheEntry

    with tempfile.TemporaryDirectory(prefix="actionkit-bench-") as tmp, \
            FakeCensusGeocoder([DEFAULT_FIXTURES]) as fake:
        instance = Path(tmp)
        app = create_app({
            "TESTING": True, "INSTANCE_PATH": str(instance), "EMBEDDED": True,
            "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite'}", "SECRET_KEY": secrets.token_urlsafe(32),
            "CELERY": {"broker_url": f"sqla+sqlite:///{instance / 'broker.sqlite'}"},
            "GEOCODER": {"census_url": fake.url}, "LOG_LEVEL": "WARNING",
        })
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            _, errors = run_sync(args.shared_data, "ms")
            print(f"directory loaded from {args.shared_data} in {time.perf_counter() - started:.1f} s"
                  + (f" ({len(errors)} sources failed)" if errors else ""))

            for address in ADDRESSES:  # fill the cache, check the answers are complete
                result = matching.match(address)
                assert result.complete and result.source == "census", (address, result.warnings)
            db.session.commit()
            db.session.remove()

            baseline: list[float] = []
            division_id = db.session.scalar(db.select(Division.id).limit(1))
            db.session.remove()
            for _ in range(args.runs):
                t0 = time.perf_counter()
                db.session.get(Division, division_id)
                baseline.append(time.perf_counter() - t0)
                db.session.remove()

            warm: list[float] = []
            for i in range(args.runs):
                address = ADDRESSES[i % len(ADDRESSES)]
                t0 = time.perf_counter()
                result = matching.match(address)
                warm.append(time.perf_counter() - t0)
                assert result.source == "cache"
                db.session.remove()  # a new session per request, as in the web app

            cold: list[float] = []
            bare: list[float] = []
            http = requests.Session()
            geocoder = matching.get_geocoder()
            for i in range(args.runs):
                address = ADDRESSES[i % len(ADDRESSES)]
                db.session.execute(db.delete(GeocodeCacheEntry))
                db.session.commit()
                db.session.remove()
                t0 = time.perf_counter()
                result = matching.match(address)
                cold.append(time.perf_counter() - t0)
                assert result.source == "census"
                db.session.commit()
                db.session.remove()
                norm = matching.normalise_address(address)
                query = norm.query("ms")
                params = {"street": query.street, "city": query.city, "state": query.state, "zip": query.zip,
                          "benchmark": geocoder.benchmark, "vintage": geocoder.vintage, "layers": geocoder.layers,
                          "format": "json"}
                t0 = time.perf_counter()
                http.get(f"{fake.url}/geographies/address", params=params, timeout=10).json()
                bare.append(time.perf_counter() - t0)

        warm_median = statistics.median(warm) * 1000
        print(f"baseline, one primary-key lookup in a fresh session: {_ms(baseline)}")
        print(f"warm cache match:   {_ms(warm)}  ({'OK' if warm_median < 5 else 'OVER'} the 5 ms target; "
              f"{statistics.median(warm) / statistics.median(baseline):.1f}x the baseline)")
        print(f"cold match (fake):  {_ms(cold)}")
        print(f"bare HTTP round trip to the same fake server: {_ms(bare)}")
        print(f"cold match / bare round trip = {statistics.median(cold) / statistics.median(bare):.2f}x "
              f"(median over {args.runs} runs)")


if __name__ == "__main__":
    main()
