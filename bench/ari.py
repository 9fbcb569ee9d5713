"""Benchmark: a year of PMS rates for 4 room types pushed to QloApps, the same again, then one night changed.

    .venv/bin/python bench/ari.py [--nights 365] [--sample 12] [--seed 3]

Set-up (all torn down at the end, also on errors): a throwaway database next to DATABASE_URL's
(``qlosync.db.migrate.upgrade``), the simulator as its own process (``qlosync simulator --port N``, API key
in QLOAPPS_API_KEY: the environment's if it holds 32 characters, else a bench key), the shop configured
against it and its catalog mapped (the demo hotel: room types 1-4, catalog prices 1000/1500/2000/2500).

Two calendars, each of --nights nights from tomorrow for all 4 room types, written by plain SQL into
``pms_room_type_rates`` as a host PMS would:

* ``seasons``: five seasons and eight events/holidays of 2-4 nights (about 20 price changes a year per
  room type);
* ``weekends``: the same plus a weekend price on every Friday and Saturday night (about 120 changes).

Phases of each calendar:

1. **initial**: ``push_rates`` of every room type for the whole year, with no qlosync rule in QloApps yet;
2. **again**: the same push (nothing changed: 2 reads per room type, no write);
3. **one night**: one room type's price changed for one night in the middle of a run of equal prices,
   pushed for that night only (the rule is split in three: 2 reads + 3 writes);

and between the calendars, **cleared**: every PMS rate deleted and pushed (qlosync deletes its rules), so
that the next calendar's initial push starts from an empty QloApps.

``requests`` are the QloApps requests the pushes made (``RatesResult.requests``, the client's counter),
cross-checked against the simulator's own counters (GET /_sim/stats). ``seconds`` is the wall time of the
pushes only. After every push ``result.mismatches`` must be empty (push_rates raises otherwise) and, outside
the timings, QloApps' charged price (``qlo/getRoomRates``, tax excluded) must be the PMS price plus the
auto-added services: that offset is measured on the night after the calendar (no PMS rate, no rule:
QloApps' catalog price applies) and must be the same on the sampled nights (the changed night and its
neighbours, every rule's first and last night of a few rules, random nights). The number of qlosync rules
in QloApps is read back after each phase.

Prints a markdown table, requests per price change and per night of each initial push, then one JSON line.
Target: requests grow with the price changes, not with the nights (365 nights with ~20 price changes:
tens of requests per room type, not 1,460 for the 4).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from processes import free_port, start, stop  # bench/processes.py (bench/ is the script's folder)
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db import migrate
from qlosync.db.config_store import ShopConfig, load_shop, save_config
from qlosync.db.session import make_engine, make_sessionmaker, transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.secrets import Secret
from qlosync.settings import Settings
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.ari.availability import push_availability
from qlosync.sync.ari.rates import RULE_NAME, push_rates

BENCH_KEY = "BENCHARIBENCHARIBENCHARIBENCHARI"  # 32 characters, used when QLOAPPS_API_KEY holds no valid key
BIN = Path(sys.executable).parent
CENTS = Decimal("0.01")

# (first day offset from the calendar's first night, price factor): five seasons over the year
SEASONS = [(0, Decimal("0.85")), (75, Decimal("1.00")), (150, Decimal("1.30")), (245, Decimal("1.00")),
           (305, Decimal("0.90"))]
# (first day offset, nights, factor): events and holidays of 2-4 nights, each inside a season
EVENTS = [(20, 3, Decimal("1.20")), (58, 2, Decimal("1.35")), (100, 4, Decimal("1.25")), (131, 3, Decimal("1.40")),
          (190, 2, Decimal("1.15")), (222, 4, Decimal("1.20")), (270, 3, Decimal("1.30")), (335, 4, Decimal("1.50"))]
WEEKEND = Decimal("1.15")  # Friday and Saturday nights


# -- calendars ---------------------------------------------------------------------------------------------------


def calendar(base: Decimal, first: date, nights: int, weekends: bool) -> dict[date, Decimal]:
    """Nightly prices (tax excluded) of one room type: seasons, events and, optionally, weekends."""
    prices: dict[date, Decimal] = {}
    for day in range(nights):
        night = first + timedelta(days=day)
        factor = [f for start, f in SEASONS if day >= start][-1]
        event = next((f for start, n, f in EVENTS if start <= day < start + n), None)
        if event is not None:
            factor *= event
        elif weekends and night.weekday() in (4, 5):  # Friday, Saturday
            factor *= WEEKEND
        prices[night] = (base * factor).quantize(Decimal("1"))
    return prices


def price_changes(prices: dict[date, Decimal]) -> int:
    """Nights whose price differs from the night before (a calendar of one price has 0)."""
    ordered = [prices[n] for n in sorted(prices)]
    return sum(1 for a, b in zip(ordered, ordered[1:], strict=False) if a != b)


def runs_of(prices: dict[date, Decimal]) -> list[tuple[date, date]]:
    """(first night, last night) of each run of consecutive nights at one price."""
    out: list[tuple[date, date]] = []
    for night in sorted(prices):
        if out and prices[out[-1][1]] == prices[night] and out[-1][1] + timedelta(days=1) == night:
            out[-1] = (out[-1][0], night)
        else:
            out.append((night, night))
    return out


def write_calendar(engine: Engine, room_type: int, prices: dict[date, Decimal]) -> None:
    """Upsert the nightly rates, by plain SQL as a host PMS would (one transaction)."""
    with engine.begin() as c:
        c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, :p) "
                       "ON CONFLICT (room_type_id, night) DO UPDATE SET price = excluded.price"),
                  [{"t": room_type, "n": n, "p": p} for n, p in sorted(prices.items())])


# -- the simulator process ---------------------------------------------------------------------------------------






def sim_requests(sim_url: str) -> int:
    """Requests the simulator counted on /api/ so far (its own counter, independent of the client's)."""
    counts = requests.get(f"{sim_url}/_sim/stats", timeout=5).json()["requests"]
    return sum(int(v) for v in counts.values())


def wait_for_simulator(process: subprocess.Popen[bytes], sim_url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench/ari.py: the simulator exited with {process.returncode}:\n"
                             f"{log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(f"{sim_url}/_sim/stats", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench/ari.py: the simulator did not answer within {timeout:g} s")


# -- the measured phases -----------------------------------------------------------------------------------------


@dataclass
class Bench:
    engine: Engine
    client: QloAppsClient
    shop: ShopConfig
    sim_url: str
    room_types: dict[int, str]  # QloApps room type id -> PMS room type id
    catalog: dict[int, Decimal]  # QloApps room type id -> QloApps' own (catalog) price, tax excluded
    rng: random.Random
    sample: int
    rows: list[dict[str, Any]]
    outside: date  # the night after every calendar: no PMS rate, no rule, QloApps' own price
    checked_nights: int = 0

    def push(self, calendar_name: str, phase: str, pushes: list[tuple[int, date, date]], changes: int,
             nights: int, note: str = "") -> dict[str, Any]:
        """Push each (QloApps room type, first night, last night); one row of the table."""
        totals = {"created": 0, "updated": 0, "deleted": 0, "kept": 0, "adopted": 0, "requests": 0}
        sim_before = sim_requests(self.sim_url)
        started = time.perf_counter()
        for qlo, start, end in pushes:
            result = push_rates(self.engine, self.client, self.shop, self.room_types[qlo], start, end)
            if result.mismatches:  # push_rates raises RatesMismatch first; kept as a guard
                raise SystemExit(f"bench/ari.py: {calendar_name}/{phase}: room type {qlo}: mismatches "
                                 f"{result.mismatches[:3]}")
            for key in totals:
                totals[key] += getattr(result, key)
        seconds = time.perf_counter() - started
        sim_delta = sim_requests(self.sim_url) - sim_before
        if sim_delta != totals["requests"]:
            raise SystemExit(f"bench/ari.py: {calendar_name}/{phase}: pushes counted {totals['requests']} requests, "
                             f"the simulator {sim_delta}")
        rules = sum(self.owned_rules(qlo) for qlo in sorted({p[0] for p in pushes}))
        row = {"calendar": calendar_name, "phase": phase, "room_types": len(pushes), "nights": nights,
               "price_changes": changes, "rules": rules, **totals, "sim_requests": sim_delta,
               "seconds": round(seconds, 3), "note": note}
        self.rows.append(row)
        return row

    def owned_rules(self, qlo: int) -> int:
        """qlosync's rules of one room type as QloApps lists them (outside the measured requests)."""
        return sum(1 for rule in self.client.get_feature_prices(qlo) if rule.name.startswith(RULE_NAME))

    def services(self, qlo: int) -> Decimal:
        """The auto-added services QloApps adds to every night: its price on a night without a rule minus the
        catalog price."""
        rate = self.client.get_room_rates(self.shop.id_hotel, self.outside, self.outside + timedelta(days=1), qlo)[0]
        if rate.date != self.outside or rate.tax_exc < self.catalog[qlo]:
            raise SystemExit(f"bench/ari.py: room type {qlo}: {rate.date} costs {rate.tax_exc}, the catalog price "
                             f"is {self.catalog[qlo]}")
        return rate.tax_exc - self.catalog[qlo]

    def _compare(self, qlo: int, prices: dict[date, Decimal], charged: dict[date, Decimal], services: Decimal) -> None:
        for night, price in sorted(charged.items()):
            want = prices.get(night, self.catalog[qlo]).quantize(CENTS)
            if (price - services).quantize(CENTS) != want:
                raise SystemExit(f"bench/ari.py: room type {qlo}, night {night}: QloApps charges {price} - services "
                                 f"{services} = {price - services}, the PMS says {want}")
        self.checked_nights += len(charged)

    def check_charged(self, qlo: int, prices: dict[date, Decimal], nights: list[date]) -> None:
        """A few nights, one request each: QloApps charges the PMS price plus the same services as without a rule."""
        services = self.services(qlo)
        charged = {}
        for night in sorted(set(nights)):
            rate = self.client.get_room_rates(self.shop.id_hotel, night, night + timedelta(days=1), qlo)[0]
            if rate.date != night:
                raise SystemExit(f"bench/ari.py: asked for {night}, QloApps answered {rate.date}")
            charged[night] = rate.tax_exc
        self._compare(qlo, prices, charged, services)

    def check_calendar(self, qlo: int, prices: dict[date, Decimal], first: date) -> None:
        """Every night first..the night after the calendar in one request (that last night: QloApps' own price)."""
        services = self.services(qlo)
        rates = self.client.get_room_rates(self.shop.id_hotel, first, self.outside + timedelta(days=1), qlo)
        charged = {r.date: r.tax_exc for r in rates}
        if len(charged) != (self.outside - first).days + 1:
            raise SystemExit(f"bench/ari.py: room type {qlo}: {len(charged)} nights in qlo/getRoomRates")
        self._compare(qlo, prices, charged, services)

    def sampled(self, prices: dict[date, Decimal], around: list[date]) -> list[date]:
        """Nights to check: around the given ones, both ends of a few rules, random nights."""
        runs = runs_of(prices)
        picks = [n + timedelta(days=d) for n in around for d in (-1, 0, 1)]
        for first, last in self.rng.sample(runs, min(3, len(runs))):
            picks += [first, last]
        picks += self.rng.sample(sorted(prices), min(self.sample, len(prices)))
        return [n for n in picks if n in prices]


def middle_of_a_run(prices: dict[date, Decimal]) -> date:
    """A night near the middle of the calendar whose neighbours have its price (changing it splits a rule)."""
    nights = sorted(prices)
    middle = len(nights) // 2
    for offset in range(len(nights)):
        for i in (middle + offset, middle - offset):
            if 0 < i < len(nights) - 1 and prices[nights[i - 1]] == prices[nights[i]] == prices[nights[i + 1]]:
                return nights[i]
    raise SystemExit("bench/ari.py: no run of 3 equal prices in the calendar")


def run_calendar(bench: Bench, name: str, weekends: bool, first: date, nights: int) -> None:
    qlos = sorted(bench.room_types)
    last = first + timedelta(days=nights - 1)
    calendars = {qlo: calendar(bench.catalog[qlo], first, nights, weekends) for qlo in qlos}
    for qlo in qlos:
        write_calendar(bench.engine, bench.room_types[qlo], calendars[qlo])
    changes = sum(price_changes(p) for p in calendars.values())
    whole_year = [(qlo, first, last) for qlo in qlos]

    # 1. the initial push: every rule is created
    initial = bench.push(name, "initial", whole_year, changes, nights * len(qlos))
    expected_rules = sum(len(runs_of(p)) for p in calendars.values())
    if (initial["created"], initial["rules"]) != (expected_rules, expected_rules):
        raise SystemExit(f"bench/ari.py: {name}: {initial['created']} rules created, {initial['rules']} in QloApps, "
                         f"{expected_rules} runs of equal prices")
    for qlo in qlos:
        bench.check_charged(qlo, calendars[qlo], bench.sampled(calendars[qlo], [first, last]))
        bench.check_calendar(qlo, calendars[qlo], first)

    # 2. the same calendar again: reads only
    again = bench.push(name, "again", whole_year, 0, nights * len(qlos))
    if again["created"] + again["updated"] + again["deleted"] or again["rules"] != expected_rules:
        raise SystemExit(f"bench/ari.py: {name}: the repeated push wrote to QloApps: {again}")
    for qlo in qlos:
        bench.check_charged(qlo, calendars[qlo], bench.sampled(calendars[qlo], []))

    # 3. one night changed in the middle of a run, for one room type, pushed for that night only
    qlo = qlos[0]
    night = middle_of_a_run(calendars[qlo])
    before = price_changes(calendars[qlo])
    calendars[qlo][night] = calendars[qlo][night] + Decimal("35")
    with bench.engine.begin() as c:
        c.execute(text("UPDATE pms_room_type_rates SET price = :p WHERE room_type_id = :t AND night = :n"),
                  {"p": calendars[qlo][night], "t": bench.room_types[qlo], "n": night})
    one = bench.push(name, "one night", [(qlo, night, night)], price_changes(calendars[qlo]) - before, 1,
                     note=f"{night}, room type {qlo}, +35")
    if one["created"] + one["updated"] + one["deleted"] != 3:
        raise SystemExit(f"bench/ari.py: {name}: one night in a run should cost 3 writes: {one}")
    bench.check_charged(qlo, calendars[qlo], bench.sampled(calendars[qlo], [night]))
    bench.check_calendar(qlo, calendars[qlo], first)


def clear(bench: Bench, first: date, nights: int) -> None:
    """Every PMS rate deleted and pushed: qlosync deletes its rules (the next calendar starts from nothing)."""
    qlos = sorted(bench.room_types)
    with bench.engine.begin() as c:
        c.execute(text("DELETE FROM pms_room_type_rates"))
    last = first + timedelta(days=nights - 1)
    row = bench.push("-", "cleared (PMS rates deleted)", [(qlo, first, last) for qlo in qlos], 0, nights * len(qlos))
    if row["rules"]:
        raise SystemExit(f"bench/ari.py: {row['rules']} qlosync rules left after the PMS rates were deleted")
    for qlo in qlos:
        bench.check_charged(qlo, {}, [first, first + timedelta(days=nights // 2), last])


# -- report ------------------------------------------------------------------------------------------------------


def run_availability(bench: Bench, first: date) -> list[dict[str, Any]]:
    """30 closed nights of QloApps room type 2 held off sale, the same push again, then one night reopened."""
    pms = bench.room_types[2]
    start, end = first + timedelta(days=30), first + timedelta(days=59)
    with bench.engine.begin() as c:
        c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) SELECT :t, CAST(d AS date) FROM "
                       "generate_series(CAST(:f AS date), CAST(:l AS date), interval '1 day') AS d"),
                  {"t": pms, "f": start, "l": end})
    rows = []
    for phase, first_night, last_night in (("30 nights closed", start, end), ("same again", start, end),
                                           ("one night reopened", start + timedelta(days=10), start + timedelta(days=10))):
        if phase == "one night reopened":
            with bench.engine.begin() as c:
                c.execute(text("DELETE FROM pms_closed_nights WHERE room_type_id = :t AND night = :n"),
                          {"t": pms, "n": first_night})
        began = time.perf_counter()
        result = push_availability(bench.engine, bench.client, bench.shop, pms, first_night, last_night)
        rows.append({"phase": phase, "action": result.action, "held_room_nights": sum(result.held.values()),
                     "requests": result.requests, "seconds": round(time.perf_counter() - began, 3)})
    for night, sellable_rooms in ((start, 0), (start + timedelta(days=10), None)):
        ari = bench.client.get_availability(bench.shop.id_hotel, night, night + timedelta(days=1), 2)
        available = sum(len(rt.available_room_ids) for rt in ari.room_types if rt.id_room_type == 2)
        if sellable_rooms is not None and available != sellable_rooms:
            raise SystemExit(f"bench/ari.py: {available} rooms of room type 2 still sold on closed night {night}")
        if sellable_rooms is None and available == 0:
            raise SystemExit(f"bench/ari.py: reopened night {night} sells nothing")
    return rows


def report(args: argparse.Namespace, rows: list[dict[str, Any]], checked: int, total_s: float) -> None:
    print("| calendar | phase | room types | nights | price changes | rules | created / updated / deleted "
          "| requests | seconds |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        phase = f"{r['phase']} ({r['note']})" if r["note"] else r["phase"]
        print(f"| {r['calendar']} | {phase} | {r['room_types']} | {r['nights']} | {r['price_changes']} | "
              f"{r['rules']} | {r['created']} / {r['updated']} / {r['deleted']} | {r['requests']} | "
              f"{r['seconds']:.3f} |")
    print()
    summary: dict[str, Any] = {}
    for r in rows:
        if r["phase"] != "initial":
            continue
        per_change = r["requests"] / max(r["price_changes"], 1)
        per_night = r["requests"] / r["nights"]
        summary[r["calendar"]] = {"requests_per_price_change": round(per_change, 3),
                                  "requests_per_night": round(per_night, 4)}
        types = r["room_types"]
        print(f"{r['calendar']} initial push: {r['requests']} requests for {r['price_changes']} price changes "
              f"({r['price_changes'] / types:g} per room type; {r['rules']} rules) over {r['nights']} room-type nights "
              f"= {per_change:.2f} requests per price change, {per_night:.3f} per night "
              f"({r['requests'] / types:g} per room type for {r['nights'] // types} nights)")
    seasons = next((r for r in rows if r["calendar"] == "seasons" and r["phase"] == "initial"), None)
    met = seasons is not None and seasons["requests"] < 100
    print("price changes and rules: sums over the room types pushed (one night: that room type's rules)")
    print(f"charged price checked on {checked} room-type nights, repeats included (qlo/getRoomRates tax excluded = "
          f"PMS price + the auto-added services of a night without a rule)")
    print(f"target (seasons, ~20 price changes per room type: tens of requests, not {4 * args.nights}): "
          f"{'met' if met else 'NOT met'}; whole run {total_s:.1f} s")
    print(json.dumps({"bench": "ari", "nights": args.nights, "rows": rows, "initial": summary,
                      "checked_nights": checked, "target_met": met, "total_s": round(total_s, 1)}, sort_keys=True))


# -- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=365, help="nights of each calendar, from tomorrow")
    parser.add_argument("--sample", type=int, default=12, help="random nights checked per room type and push")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if args.nights < 30:
        parser.error("--nights must be at least 30")
    began = time.perf_counter()

    env_key = os.environ.get("QLOAPPS_API_KEY", "")
    api_key = env_key if len(env_key) == 32 else BENCH_KEY
    base = make_url(Settings.from_env().database_url)
    name = f"qlosync_bench_ari_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    log = Path(tempfile.mkstemp(prefix="qlosync-bench-ari-", suffix=".log")[1])
    process: subprocess.Popen[bytes] | None = None
    engine: Engine | None = None
    client: QloAppsClient | None = None
    finished = False
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        engine = make_engine(Settings(database_url=url))
        sessions = make_sessionmaker(engine)

        port = free_port()
        sim_url = f"http://127.0.0.1:{port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
               "QLOAPPS_API_KEY": api_key}
        process = subprocess.Popen([str(BIN / "qlosync"), "simulator", "--port", str(port)], env=env,
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_simulator(process, sim_url, log)

        cipher = KeyCipher(Secret(generate_secret_key()))
        with transaction(sessions) as session:
            save_config(session, cipher, base_url=sim_url, api_key=Secret(api_key), sync_enabled=True)
        with transaction(sessions) as session:
            shop = load_shop(session, cipher)
        client = QloAppsClient(shop.base_url, shop.api_key)
        with transaction(sessions) as session:
            imported = import_catalog(session, client, shop)
        with engine.connect() as c:
            room_types = dict(c.execute(text(
                "SELECT qloapps_room_type_id, pms_room_type_id FROM qloapps_room_type_mappings "
                "WHERE config_id = :c ORDER BY 1"), {"c": shop.id}).all())
        catalog = {t.id: t.price for t in client.get_room_types() if t.id in room_types}
        if len(room_types) != 4:
            raise SystemExit(f"bench/ari.py: expected 4 mapped room types, got {room_types}")
        print(f"simulator {sim_url} (own process), database {name}; catalog: {imported.room_types_mapped} room types "
              f"mapped, prices {', '.join(f'{q}: {p}' for q, p in sorted(catalog.items()))}", flush=True)

        first = datetime.now(UTC).date() + timedelta(days=1)
        bench = Bench(engine, client, shop, sim_url, room_types, catalog, random.Random(args.seed), args.sample, [],
                      outside=first + timedelta(days=args.nights))
        run_calendar(bench, "seasons", False, first, args.nights)
        clear(bench, first, args.nights)
        run_calendar(bench, "weekends", True, first, args.nights)
        availability = run_availability(bench, first)
        report(args, bench.rows, bench.checked_nights, time.perf_counter() - began)
        for row in availability:
            print(f"availability, room type 2: {row['phase']}: {row['action']}, {row['held_room_nights']} room-nights "
                  f"held off sale, {row['requests']} requests, {row['seconds']:.3f} s")
        print(json.dumps({"bench": "ari-availability", "rows": availability}, sort_keys=True))
        finished = True
    finally:
        if client is not None:
            client.close()
        if process is not None:
            stop(process, timeout=15)
        if engine is not None:
            engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if finished:
            log.unlink(missing_ok=True)
        else:
            print(f"simulator log kept in {log}", file=sys.stderr)


if __name__ == "__main__":
    main()
