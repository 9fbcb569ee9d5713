"""Benchmark: a year of rates for 4 room types pushed to QloApps, then one night changed.

    .venv/bin/python bench/ari.py

A throwaway database (dropped at the end), the simulator in this process on loopback with the demo hotel
(4 room types of 5 rooms, catalog prices 1000/1500/2000/2500) and 300 generated bookings, the catalog
mapped. Two calendars of 365 nights from tomorrow, for every room type:

* ``seasons``: five seasons plus four 3-night events (about 20 price changes a year);
* ``weekends``: the same plus a Friday/Saturday price (about 120 price changes a year).

For each: the initial push of 365 nights (requests, rules created, seconds), the same push again
(nothing to write), then one night's price changed in the middle of a run and pushed for that night only.
Then a 30-night closure of one room type (availability). Every push is checked: no mismatch after the
read-back, and QloApps' charged price (``qlo/getRoomRates`` minus the auto-added services, measured on a
night without a rule) equals the PMS price on sampled nights. Target: requests grow with the price
changes, not with the nights (365 nights with ~20 changes: tens of requests, not 1,460).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, create_engine, text

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db import migrate
from qlosync.db.config_store import ShopConfig, load_shop, save_config
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.simulator import Simulator
from qlosync.secrets import Secret
from qlosync.sync.availability import push_availability
from qlosync.sync.catalog import import_catalog
from qlosync.sync.rates import push_rates

KEY = "BENCHKEY0123456789ABCDEFGHIJKLMN"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BASE = {1: 1000, 2: 1500, 3: 2000, 4: 2500}
NIGHTS = 365


def calendar(base: int, first: date, weekends: bool) -> dict[date, Decimal]:
    seasons = [(0, 1.0), (60, 0.9), (150, 1.3), (240, 1.0), (330, 1.2)]  # (day offset, factor)
    events = {40, 110, 200, 290}  # 3-night events at +25 %
    prices = {}
    for day in range(NIGHTS):
        night = first + timedelta(days=day)
        factor = [f for start, f in seasons if day >= start][-1]
        if any(e <= day < e + 3 for e in events):
            factor *= 1.25
        elif weekends and night.weekday() in (4, 5):
            factor *= 1.15
        prices[night] = Decimal(round(base * factor))
    return prices


def changes(prices: dict[date, Decimal]) -> int:
    ordered = [prices[n] for n in sorted(prices)]
    return sum(1 for a, b in zip(ordered, ordered[1:], strict=False) if a != b)


def write_calendar(engine: Engine, room_type: int, prices: dict[date, Decimal]) -> None:
    with engine.begin() as c:
        c.execute(text("DELETE FROM pms_room_type_rates WHERE room_type_id = :t"), {"t": room_type})
        c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, :p)"),
                  [{"t": room_type, "n": n, "p": p} for n, p in prices.items()])


def check_charged(client: QloAppsClient, qlo: int, prices: dict[date, Decimal], nights: list[date]) -> None:
    before = min(prices) - timedelta(days=1)  # no rule there: QloApps' own price plus the services
    rates = {r.date: r.tax_exc for r in client.get_room_rates(1, before, before + timedelta(days=1), qlo)}
    services = rates[before] - BASE[qlo]
    for night in nights:
        charged = client.get_room_rates(1, night, night + timedelta(days=1), qlo)[0].tax_exc - services
        if charged != prices[night]:
            raise SystemExit(f"bench/ari.py: room type {qlo} {night}: QloApps charges {charged}, PMS {prices[night]}")


def main() -> None:
    name = f"qlosync_bench_ari_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    sim = Simulator(api_key=KEY)
    rows: list[dict[str, object]] = []
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        sessions = make_sessionmaker(engine)
        sim.start()
        sim.store.generate_bookings(300, seed=5)
        cipher = KeyCipher(Secret(generate_secret_key()))
        with transaction(sessions) as s:
            save_config(s, cipher, base_url=sim.base_url, api_key=Secret(KEY), sync_enabled=True)
        with transaction(sessions) as s:
            shop: ShopConfig = load_shop(s, cipher)
        client = QloAppsClient(shop.base_url, shop.api_key)
        with transaction(sessions) as s:
            import_catalog(s, client, shop)
        with engine.connect() as c:
            room_types = dict(c.execute(text(
                "SELECT qloapps_room_type_id, pms_room_type_id FROM qloapps_room_type_mappings ORDER BY 1")).all())
        first = datetime.now(UTC).date() + timedelta(days=1)
        last = first + timedelta(days=NIGHTS - 1)

        def measure(calendar_name: str, phase: str, pushes: list[tuple[int, date, date]], price_changes: int,
                    nights: int) -> None:
            started, requests, created, updated, deleted = time.perf_counter(), 0, 0, 0, 0
            for qlo, start, end in pushes:
                result = push_rates(engine, client, shop, room_types[qlo], start, end)
                if result.mismatches:
                    raise SystemExit(f"bench/ari.py: mismatches after the push: {result.mismatches[:3]}")
                requests += result.requests
                created, updated, deleted = created + result.created, updated + result.updated, deleted + result.deleted
            rows.append({"calendar": calendar_name, "phase": phase, "room_types": len(pushes), "nights": nights,
                         "price_changes": price_changes, "created": created, "updated": updated, "deleted": deleted,
                         "requests": requests, "seconds": round(time.perf_counter() - started, 3)})

        for calendar_name, weekends in (("seasons", False), ("weekends", True)):
            calendars = {qlo: calendar(BASE[qlo], first, weekends) for qlo in room_types}
            for qlo, prices in calendars.items():
                write_calendar(engine, room_types[qlo], prices)
            total_changes = sum(changes(p) for p in calendars.values())
            everything = [(qlo, first, last) for qlo in room_types]
            measure(calendar_name, "initial 365-night push", everything, total_changes, NIGHTS * len(room_types))
            measure(calendar_name, "same calendar again", everything, 0, NIGHTS * len(room_types))
            night = first + timedelta(days=100)
            calendars[1][night] += 10
            with engine.begin() as c:
                c.execute(text("UPDATE pms_room_type_rates SET price = price + 10 WHERE room_type_id = :t AND night = :n"),
                          {"t": room_types[1], "n": night})
            measure(calendar_name, "one night changed", [(1, night, night)], 2, 1)
            check_charged(client, 1, calendars[1], [first + timedelta(days=d) for d in (0, 45, 99, 100, 101, 200, 364)])
        with engine.begin() as c:
            c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) SELECT :t, d::date FROM "
                           "generate_series(CAST(:f AS date), CAST(:f AS date) + 29, interval '1 day') AS d"),
                      {"t": room_types[2], "f": first + timedelta(days=30)})
        started = time.perf_counter()
        avail = push_availability(engine, client, shop, room_types[2], first + timedelta(days=30), first + timedelta(days=59))
        avail_s = time.perf_counter() - started
        client.close()
        sim.stop()
        engine.dispose()
    finally:
        sim.stop()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    print("| calendar | phase | room types | nights | price changes | created | updated | deleted | requests | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['calendar']} | {r['phase']} | {r['room_types']} | {r['nights']} | {r['price_changes']} | "
              f"{r['created']} | {r['updated']} | {r['deleted']} | {r['requests']} | {r['seconds']} |")
    print(f"availability: 30 closed nights of one room type: {avail.action}, {sum(avail.held.values())} room-nights "
          f"held, {avail.requests} requests, {avail_s:.3f} s")
    initial = [r for r in rows if r["phase"] == "initial 365-night push"]
    for r in initial:
        print(f"{r['calendar']}: {int(r['requests']) / max(int(r['price_changes']), 1):.2f} requests per price change, "
              f"{int(r['requests']) / int(r['nights']):.3f} per night")
    print(json.dumps({"bench": "ari", "rows": rows, "availability": {
        "held_room_nights": sum(avail.held.values()), "requests": avail.requests, "seconds": round(avail_s, 3)}}))


if __name__ == "__main__":
    main()
