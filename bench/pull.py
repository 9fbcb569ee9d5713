"""Benchmark: full import of N simulator bookings into PostgreSQL, then an idle incremental cycle.

    .venv/bin/python bench/pull.py [--bookings 10000] [--page-size 100]

Creates a throwaway database next to DATABASE_URL's (dropped at the end) and an in-process simulator.
Prints QloApps requests per booking, bookings per second, and the requests and writes of the idle cycle.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db import migrate
from qlosync.db.config_store import load_shop, save_config
from qlosync.db.session import make_engine, make_sessionmaker, transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.simulator import Simulator
from qlosync.secrets import Secret
from qlosync.settings import Settings
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.inbound.pull import PullDeps, run_pull

API_KEY = "BENCHBENCHBENCHBENCHBENCHBENCH12"
SYNC_TABLES = ("pms_guests", "pms_reservations", "pms_reservation_lines", "qloapps_reservation_mappings",
               "qloapps_room_line_mappings", "qloapps_customer_mappings", "qloapps_sync_logs")


def table_versions(session) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {t: tuple(session.execute(text(f"SELECT count(*), coalesce(max(xmin::text::bigint),0) FROM {t}")).one())
            for t in SYNC_TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    base = make_url(Settings.from_env().database_url)
    name = f"qlosync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    sim = Simulator(api_key=API_KEY)
    sim.start()
    try:
        migrate.upgrade(url)
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        cipher = KeyCipher(Secret(generate_secret_key()))
        with transaction(sessions) as session:
            save_config(session, cipher, base_url=sim.base_url, api_key=Secret(API_KEY), sync_enabled=True)
        with transaction(sessions) as session:
            shop = load_shop(session, cipher)
        started = time.perf_counter()
        # Spread the bookings over simulated days, 50 a minute, as real traffic would be (and not all in
        # the last few seconds, which the idle cycle's overlap window would re-read).
        clock = sim.store.clock
        start = clock.now() - timedelta(minutes=args.bookings // 50 + 1)
        for chunk, first in enumerate(range(0, args.bookings, 50)):
            clock.freeze(start + timedelta(minutes=chunk))
            sim.store.generate_bookings(min(50, args.bookings - first), seed=42 + chunk)
        clock.unfreeze()
        print(f"simulator: {args.bookings} bookings generated in {time.perf_counter() - started:.1f} s")

        with QloAppsClient(sim.base_url, Secret(API_KEY), page_size=args.page_size) as client:
            with transaction(sessions) as session:
                import_catalog(session, client, shop)
            retried: list[int] = []
            deps = PullDeps(engine=engine, session_factory=sessions, client=client, shop=shop, retry_booking=retried.append)

            before = client.request_count
            started = time.perf_counter()
            full = run_pull(deps, kind="full", trigger="manual")
            elapsed = time.perf_counter() - started
            full_requests = client.request_count - before
            assert full.status == "succeeded", full.error
            imported = full.counts["created"]
            print(f"full import: {imported} bookings created, {full.counts['failed']} failed, {elapsed:.1f} s, "
                  f"{imported / elapsed:.0f} bookings/s, {full_requests} QloApps requests = "
                  f"{full_requests / max(imported, 1):.4f} requests per booking")

            with transaction(sessions) as session:
                versions = table_versions(session)
            before = client.request_count
            started = time.perf_counter()
            idle = run_pull(deps, kind="incremental", trigger="schedule")
            idle_elapsed = time.perf_counter() - started
            idle_requests = client.request_count - before
            with transaction(sessions) as session:
                changed = [t for t, v in table_versions(session).items() if v != versions[t]]
            print(f"idle incremental cycle: {idle.status}, {idle_requests} QloApps requests, "
                  f"{len(changed)} sync tables written {changed or ''}, {idle_elapsed * 1000:.0f} ms "
                  f"(bookkeeping: 1 qloapps_sync_state row)")
        engine.dispose()
    finally:
        sim.stop()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
