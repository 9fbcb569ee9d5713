"""Benchmark: many QloApps shops on one deployment, polled on time, with one shop broken.

    .venv/bin/python bench/shops.py [--shops 1000] [--bookings 100] [--interval-ms 60000] [--cycles 3]
                                    [--processes 2] [--threads 8] [--read-timeout 10]

Set-up (all torn down at the end): a throwaway database and RabbitMQ vhost; one simulator process serving
every shop under a path prefix (``qlosync simulator --shops N --bookings B``: ``/shops/hotel-0001`` ...);
the shops configured (sync on) with their catalogs mapped; then the real processes: one dramatiq command
with ``--processes 2`` worker processes and one periodiq scheduler, with QLOAPPS_SYNC_INTERVAL_MS
shortened (5 minutes -> ``--interval-ms``) and a QloApps read timeout of ``--read-timeout`` seconds.

Phases:

* **initial import**: every shop's first scheduled pull is a full one; waits until all N x B bookings are in,
  then until the slots queued behind the import are worked off (at most 10 intervals).
* **healthy**: ``--cycles`` intervals. Once per interval, every shop gets one booking cancelled in QloApps at
  a fixed point before that shop's own slot (``u`` seconds before it, ``u`` drawn per shop, the same in both
  phases). The lag of a change is the time from the cancellation to the PMS reservation turning cancelled
  (``pms_reservations.updated_at``); with the same ``u`` per shop in both phases, the difference between the
  phases is the system's own delay.
* **broken**: the same again while shop 1 answers nothing (its requests time out after ``--read-timeout``).
* **big import** (``--big-import N``, 0 skips): the same again while a new shop with N bookings joins; its
  first, full pull runs during the phase (fairness: it must not delay the other shops' pulls).

Measured: per-shop lag p50/p99 (healthy shops), whether every shop was pulled in every interval (a
succeeded run per shop per interval window), QloApps requests per shop per cycle, peak PostgreSQL
connections of the run's database, peak RSS of the worker processes, RabbitMQ queue depth over time.
Prints a summary and, last, one JSON line (``{"bench": "shops", ...}``).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from processes import (  # bench/processes.py (bench/ is the script's folder)
    BenchRun, alive, answers, bench_run, free_port, queue_counts, start, wait_for)
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qlosync.crypto import KeyCipher, generate_secret_key  # noqa: E402
from qlosync.db.config_store import load_shop, save_config  # noqa: E402
from qlosync.db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from qlosync.qloapps.client import QloAppsClient  # noqa: E402
from qlosync.secrets import Secret  # noqa: E402
from qlosync.settings import Settings  # noqa: E402
from qlosync.sync.inbound.catalog import import_catalog  # noqa: E402
from qlosync.sync.inbound.schedule_slots import EPOCH, slot_offset_ms  # noqa: E402

API_KEY = "BENCHBENCHBENCHBENCHBENCHBENCH12"
BIN = Path(sys.executable).parent
PREFIX = "hotel-"


def shop_name(i: int) -> str:
    return f"{PREFIX}{i:04d}"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# -- samplers ------------------------------------------------------------------------------------------------


class Sampler:
    """Every *interval* s: connections to the run's database, RSS of the worker processes, queue depths."""

    def __init__(self, engine: Engine, workers: subprocess.Popen[bytes], amqp: str, interval: float = 1.0) -> None:
        self.engine, self.workers, self.amqp, self.interval = engine, workers, amqp, interval
        self.connections: list[int] = []
        self.rss_mb: list[float] = []
        self.depth: list[tuple[float, int, int]] = []  # (t, inbound ready, delayed ready)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.engine.connect() as c:
                    self.connections.append(int(c.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))) - 1)
                self.rss_mb.append(tree_rss_kb(self.workers.pid) / 1024)
                inbound = queue_counts(self.amqp, "qloapps.inbound") or (0, 0)
                delayed = queue_counts(self.amqp, "qloapps.inbound.DQ") or (0, 0)
                self.depth.append((time.monotonic() - self.started, inbound[0], delayed[0]))
            except Exception as exc:  # noqa: BLE001  (a sample lost is not a reason to stop the bench)
                print(f"sampler: {exc}", file=sys.stderr)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_rss_kb(pid: int) -> int:
    """VmRSS of a process and all its descendants (dramatiq forks its worker processes)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


# -- the shops -------------------------------------------------------------------------------------------------


@dataclass
class Change:
    shop: str
    config_id: int
    order_id: int
    at: float  # epoch seconds, just before the cancellation was sent


def configure_shops(engine: Engine, sim_url: str, count: int, secret: str) -> dict[str, int]:
    """Every shop in qloapps_config (sync off until the catalogs are mapped); returns name -> config id."""
    cipher = KeyCipher(Secret(secret))
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        for i in range(1, count + 1):
            save_config(session, cipher, name=shop_name(i), base_url=f"{sim_url}/shops/{shop_name(i)}",
                        api_key=Secret(API_KEY), sync_enabled=False)
    with engine.connect() as c:
        return {name: config_id for config_id, name in c.execute(text("SELECT id, name FROM qloapps_config"))}


def map_catalogs(engine: Engine, names: list[str], secret: str, threads: int = 1) -> None:
    # One thread: the shops share the PMS's room types and rooms (matched by name and number), and two
    # imports creating the same room at once would collide on its unique number.
    cipher = KeyCipher(Secret(secret))
    sessions = make_sessionmaker(engine)
    todo = list(names)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                name = todo.pop()
            with transaction(sessions) as session:
                shop = load_shop(session, cipher, name)
            with QloAppsClient(shop.base_url, shop.api_key) as client, transaction(sessions) as session:
                import_catalog(session, client, shop)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def settle(amqp: str, processes: list[subprocess.Popen[bytes]], logs: Path, period: float,
           calm: int = 20, samples: int = 5) -> dict[str, Any]:
    """Wait for the slots queued behind the initial import to be worked off (``qloapps.inbound`` at most
    *calm* ready messages in *samples* samples a second apart), at most 10 intervals: the phases measure the
    steady state, and the import's own cost is the initial import's time plus this one."""
    started, quiet, peak = time.monotonic(), 0, 0
    while quiet < samples and time.monotonic() - started < 10 * period:
        alive(processes, logs)
        ready = (queue_counts(amqp, "qloapps.inbound") or (0, 0))[0]
        peak = max(peak, ready)
        quiet = quiet + 1 if ready <= calm else 0
        time.sleep(1)
    drained = quiet >= samples
    result = {"drained": drained, "seconds": round(time.monotonic() - started, 1), "ready_max": peak}
    print(f"backlog after the import: {'worked off' if drained else 'NOT worked off'} in {result['seconds']} s "
          f"(at most {peak} ready pulls)", flush=True)
    return result


def next_slot(name: str, interval_ms: int, after: float) -> float:
    """The shop's first slot (epoch seconds) after *after*."""
    offset = slot_offset_ms(name, interval_ms) / 1000
    period = interval_ms / 1000
    epoch = EPOCH.timestamp()
    k = int((after - epoch - offset) // period) + 1
    return epoch + offset + k * period


def drive(sim_url: str, plan: list[tuple[float, str, int, int]]) -> list[Change]:
    """Cancel each planned booking at its time (a few threads, so one slow answer does not delay the rest)."""
    plan = sorted(plan)
    changes: list[Change] = []
    lock = threading.Lock()
    cursor = [0]

    def work() -> None:
        session = requests.Session()
        while True:
            with lock:
                if cursor[0] >= len(plan):
                    return
                at, name, config_id, order_id = plan[cursor[0]]
                cursor[0] += 1
            wait = at - time.time()
            if wait > 0:
                time.sleep(wait)
            sent = time.time()
            session.post(f"{sim_url}/shops/{name}/_sim/bookings/{order_id}/cancel", timeout=10).raise_for_status()
            with lock:
                changes.append(Change(name, config_id, order_id, sent))

    pool = [threading.Thread(target=work) for _ in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return changes


def plan_phase(shops: dict[str, int], orders: dict[int, list[int]], cycles: int, interval_ms: int,
               lead: dict[str, float], start_after: float) -> list[tuple[float, str, int, int]]:
    """Per shop and cycle: cancel one not yet cancelled booking *lead* seconds before the shop's slot."""
    plan = []
    period = interval_ms / 1000
    for name, config_id in shops.items():
        first = next_slot(name, interval_ms, start_after + lead[name] + 1)
        for cycle in range(cycles):
            plan.append((first + cycle * period - lead[name], name, config_id, orders[config_id].pop()))
    return plan


def arrivals(engine: Engine, changes: list[Change]) -> dict[tuple[int, int], float]:
    """(config id, order id) -> when its PMS reservation turned cancelled (epoch seconds)."""
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT m.config_id, m.qloapps_order_id, extract(epoch FROM r.updated_at) FROM qloapps_reservation_mappings m "
            "JOIN pms_reservations r ON r.id::text = m.pms_reservation_id WHERE r.status = 'cancelled'")).all()
    wanted = {(ch.config_id, ch.order_id) for ch in changes}
    return {(cid, oid): float(t) for cid, oid, t in rows if (cid, oid) in wanted}


def pulled_every_interval(engine: Engine, plan: list[tuple[float, str, int, int]], interval_ms: int,
                          skip: set[int]) -> dict[str, Any]:
    """Whether every shop's slot right after each planned change has a succeeded run (the slots are exact:
    claimed with the instant the scheduler computed); says what became of those that do not."""
    expected = {(config_id, round(next_slot(name, interval_ms, at) * 1000)) for at, name, config_id, _ in plan
                if config_id not in skip}
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT config_id, round(extract(epoch FROM slot_at) * 1000)::bigint, status, coalesce(error, '') "
            "FROM qloapps_sync_state WHERE slot_at >= to_timestamp(:t)"), {"t": min(p[0] for p in plan) - 1}).all()
    runs: dict[tuple[int, int], tuple[str, str]] = {}
    for config_id, slot_ms, status, error in rows:
        if (config_id, slot_ms) in expected and runs.get((config_id, slot_ms), ("",))[0] != "succeeded":
            runs[(config_id, slot_ms)] = (status, error[:80])
    missed = [key for key in expected if runs.get(key, ("",))[0] != "succeeded"]
    why: dict[str, int] = {}
    for key in missed:
        status, error = runs.get(key, ("no run", ""))
        why[f"{status}: {error}".rstrip(": ")] = why.get(f"{status}: {error}".rstrip(": "), 0) + 1
    return {"shop_intervals": len(expected), "missed": len(missed), "why": why}


def sim_requests(sim_url: str) -> dict[str, int]:
    stats = requests.get(f"{sim_url}/_sim/shops/stats", timeout=30).json()
    return {name: sum(s["requests"].values()) for name, s in stats.items()}


def phase(name: str, *, engine: Engine, sim_url: str, shops: dict[str, int], orders: dict[int, list[int]],
          cycles: int, interval_ms: int, lead: dict[str, float], broken: set[int],
          exclude: set[int] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """One measured phase; *exclude*: shops left out of the lag and slot figures (the one broken in another phase:
    its breaker may still be open after its fault is cleared)."""
    period = interval_ms / 1000
    before = sim_requests(sim_url)
    started = time.time()
    plan = plan_phase(shops, orders, cycles, interval_ms, lead, started)
    print(f"[{name}] {len(plan)} cancellations over {cycles} intervals of {period:g} s", flush=True)
    changes = drive(sim_url, plan)
    healthy = [ch for ch in changes if ch.config_id not in broken and ch.config_id not in exclude]
    # Every healthy change should be in within two intervals of its cancellation
    deadline = time.time() + 2 * period + 30
    arrived: dict[tuple[int, int], float] = {}
    while time.time() < deadline:
        arrived = arrivals(engine, healthy)
        if len(arrived) == len(healthy):
            break
        time.sleep(1)
    ended = time.time()
    after = sim_requests(sim_url)
    lags = [arrived[(ch.config_id, ch.order_id)] - ch.at for ch in healthy if (ch.config_id, ch.order_id) in arrived]
    # The system's own delay: from the shop's first slot after the change to the change's arrival.
    delays = [arrived[(ch.config_id, ch.order_id)] - next_slot(ch.shop, interval_ms, ch.at) for ch in healthy
              if (ch.config_id, ch.order_id) in arrived]
    per_shop = [after.get(n, 0) - before.get(n, 0) for n, cid in shops.items() if cid not in broken]
    window_start = min(p[0] for p in plan) if plan else started
    # A change may arrive before the slot counted for it has run (the shop's pull before that slot started a
    # few seconds late and already saw it), so the last slots are given time to start.
    last_slot = max((next_slot(name, interval_ms, at) for at, name, _, _ in plan), default=started)
    while True:
        coverage = pulled_every_interval(engine, plan, interval_ms, broken | exclude)
        if not coverage["missed"] or time.time() > last_slot + 30:
            break
        time.sleep(1)
    result = {
        "changes": len(healthy), "arrived": len(arrived), "never_arrived": len(healthy) - len(arrived),
        "lag_p50_s": round(percentile(lags, 50) or 0, 2), "lag_p99_s": round(percentile(lags, 99) or 0, 2),
        "lag_max_s": round(max(lags), 2) if lags else None,
        "delay_after_slot_p50_s": round(percentile(delays, 50) or 0, 2),
        "delay_after_slot_p99_s": round(percentile(delays, 99) or 0, 2),
        "requests_per_shop_per_cycle": round(sum(per_shop) / max(1, len(per_shop)) / cycles, 2),
        "requests_per_shop_per_cycle_max": round(max(per_shop) / cycles, 2) if per_shop else None,
        "pulled_every_interval": coverage, "seconds": round(ended - started, 1), "window_start": window_start,
    }
    print(f"[{name}] lag p50 {result['lag_p50_s']} s, p99 {result['lag_p99_s']} s, max {result['lag_max_s']} s "
          f"(after the slot: p50 {result['delay_after_slot_p50_s']} s, p99 {result['delay_after_slot_p99_s']} s); "
          f"{result['arrived']}/{result['changes']} arrived; {result['requests_per_shop_per_cycle']} requests per "
          f"shop per cycle; intervals missed {coverage['missed']}/{coverage['shop_intervals']}", flush=True)
    return result


def big_import_phase(args: argparse.Namespace, *, engine: Engine, sim_url: str, shops: dict[str, int],
                     orders: dict[int, list[int]], lead: dict[str, float], secret: str,
                     exclude: set[int], env: dict[str, str]) -> dict[str, Any]:
    """A new shop with --big-import bookings joins: its first (full) pull runs while the others are measured."""
    name = "big-import"
    requests.post(f"{sim_url}/_sim/shops", json={"names": [name], "bookings": args.big_import},
                  timeout=300).raise_for_status()
    cipher = KeyCipher(Secret(secret))
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        save_config(session, cipher, name=name, base_url=f"{sim_url}/shops/{name}", api_key=Secret(API_KEY),
                    sync_enabled=False)
    map_catalogs(engine, [name], secret)
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET sync_enabled = true WHERE name = :n"), {"n": name})
        big_id = c.scalar(text("SELECT id FROM qloapps_config WHERE name = :n"), {"n": name})
    # Its first pull now (enqueued for the workers, as `qlosync sync` does), not at the next minute's tick
    subprocess.run([str(BIN / "qlosync"), "sync", "--shop", name], env=env, check=True, capture_output=True,
                   timeout=60)
    result = phase("big import", engine=engine, sim_url=sim_url, shops=shops, orders=orders, cycles=args.cycles,
                   interval_ms=args.interval_ms, lead=lead, broken=set(), exclude=exclude)
    with engine.connect() as c:
        runs = c.execute(text(
            "SELECT kind, status, created, extract(epoch FROM finished_at - started_at) FROM qloapps_sync_state "
            "WHERE config_id = :c ORDER BY id"), {"c": big_id}).all()
        imported = c.scalar(text("SELECT count(*) FROM qloapps_reservation_mappings WHERE config_id = :c"),
                            {"c": big_id})
    full = [r for r in runs if r.kind == "full" and r.status == "succeeded"]
    result["big_shop"] = {"bookings": args.big_import, "imported": imported,
                          "full_import_s": round(float(full[0][3]), 1) if full else None,
                          "runs": [f"{r.kind}/{r.status}/{r.created}" for r in runs][:6]}
    print(f"[big import] {imported}/{args.big_import} imported; full pull took {result['big_shop']['full_import_s']} s",
          flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=100, help="bookings per shop")
    parser.add_argument("--interval-ms", type=int, default=60_000, help="QLOAPPS_SYNC_INTERVAL_MS (5 min shortened)")
    parser.add_argument("--cycles", type=int, default=3, help="intervals per measured phase")
    parser.add_argument("--processes", type=int, default=2, help="dramatiq worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--read-timeout", type=float, default=10.0, help="QLOAPPS_HTTP_READ_TIMEOUT_S")
    parser.add_argument("--big-import", type=int, default=10_000,
                        help="bookings of a shop that joins for a third phase (its full import runs meanwhile); 0 skips")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    # SIGTERM (timeout, kill) ends like Ctrl-C: the processes, the database and the vhost are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.bookings < 3 * args.cycles + 1:
        raise SystemExit("bench/shops.py: --bookings must leave one booking per shop and cycle to cancel")

    results: dict[str, Any] = {"bench": "shops", "shops": args.shops, "bookings_per_shop": args.bookings,
                               "interval_ms": args.interval_ms, "cycles": args.cycles, "processes": args.processes,
                               "threads": args.threads, "read_timeout_s": args.read_timeout,
                               "date": datetime.now(UTC).isoformat(timespec="seconds")}
    with bench_run("shops", args.keep_logs) as run:
        engine = make_engine(Settings(database_url=run.database_url), pool_size=4)
        try:
            measure(args, run, engine, results)
        finally:
            engine.dispose()
    report(results)


def measure(args: argparse.Namespace, run: BenchRun, engine: Engine, results: dict[str, Any]) -> None:
    """Set up the shops and the processes, then the initial import and the measured phases (into *results*)."""
    logs, amqp = run.logs, run.amqp_url
    secret = generate_secret_key()
    env = run.env(QLOSYNC_SECRET_KEY=secret, QLOAPPS_API_KEY=API_KEY, QLOAPPS_SYNC_INTERVAL_MS=str(args.interval_ms),
                  QLOAPPS_HTTP_READ_TIMEOUT_S=str(args.read_timeout), QLOSYNC_FULL_SYNC_AT="off",
                  QLOSYNC_LOG_LEVEL="WARNING", TZ="UTC")

    t0 = time.monotonic()
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    run.processes.append(start([str(BIN / "qlosync"), "simulator", "--port", str(port), "--shops", str(args.shops),
                                "--bookings", str(args.bookings), "--shop-prefix", PREFIX], env, logs / "simulator.log"))
    wait_for(lambda: alive(run.processes, logs) and answers(f"{sim_url}/_sim/shops/stats"), "the simulator",
             timeout=600, interval=0.5)
    sim_pid = run.processes[0].pid
    results["simulator_start_s"] = round(time.monotonic() - t0, 1)
    shops = configure_shops(engine, sim_url, args.shops, secret)
    t1 = time.monotonic()
    map_catalogs(engine, list(shops), secret)
    results["catalogs_mapped_s"] = round(time.monotonic() - t1, 1)
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET sync_enabled = true"))
    print(f"{args.shops} shops configured and mapped ({results['simulator_start_s']} s simulator, "
          f"{results['catalogs_mapped_s']} s catalogs)", flush=True)

    workers = start([str(BIN / "dramatiq"), "qlosync.actors", "--processes", str(args.processes), "--threads",
                     str(args.threads)], env, logs / "workers.log")
    run.processes.append(workers)
    run.processes.append(start([str(BIN / "periodiq"), "qlosync.schedule"], env, logs / "scheduler.log"))
    with Sampler(engine, workers, amqp) as sampler:
        # Initial import: every shop's first slot is a full pull
        t2 = time.monotonic()
        total = args.shops * args.bookings

        def imported() -> int:
            with engine.connect() as c:
                return int(c.scalar(text("SELECT count(*) FROM qloapps_reservation_mappings")))

        last_print = 0.0
        while (done := imported()) < total:
            alive(run.processes, logs)
            if time.monotonic() - last_print > 15:
                print(f"initial import: {done}/{total} bookings", flush=True)
                last_print = time.monotonic()
            if time.monotonic() - t2 > 30 * 60:
                raise SystemExit(f"bench/shops.py: the initial import stalled at {done}/{total}")
            time.sleep(1)
        results["initial_import_s"] = round(time.monotonic() - t2, 1)
        print(f"initial import: {total} bookings in {results['initial_import_s']} s", flush=True)
        results["import_backlog"] = settle(amqp, run.processes, logs, args.interval_ms / 1000)

        with engine.connect() as c:
            orders: dict[int, list[int]] = {}
            for cid, oid in c.execute(text("SELECT config_id, qloapps_order_id FROM qloapps_reservation_mappings "
                                           "ORDER BY config_id, qloapps_order_id")):
                orders.setdefault(cid, []).append(oid)
        rng = random.Random(args.seed)
        period = args.interval_ms / 1000
        lead = {name: 2 + rng.random() * (period - 4) for name in shops}
        broken_name = shop_name(1)
        healthy = phase("healthy", engine=engine, sim_url=sim_url, shops=shops, orders=orders, cycles=args.cycles,
                        interval_ms=args.interval_ms, lead=lead, broken=set(), exclude={shops[broken_name]})
        requests.post(f"{sim_url}/shops/{broken_name}/_sim/faults",
                      json={"kind": "timeout", "count": None, "delay_s": args.read_timeout * 3},
                      timeout=10).raise_for_status()
        broken = phase("broken", engine=engine, sim_url=sim_url, shops=shops, orders=orders, cycles=args.cycles,
                       interval_ms=args.interval_ms, lead=lead, broken={shops[broken_name]})
        with engine.connect() as c:
            gate = c.execute(text("SELECT failures, trips, open_until FROM qloapps_shop_gate WHERE config_id = :c"),
                             {"c": shops[broken_name]}).first()
            broken_runs = dict(c.execute(text(
                "SELECT status, count(*) FROM qloapps_sync_state WHERE config_id = :c AND started_at >= "
                "to_timestamp(:t) GROUP BY status"), {"c": shops[broken_name], "t": broken["window_start"] - 5}).all())
        broken["broken_shop"] = {"name": broken_name, "failures_in_a_row": gate.failures if gate else None,
                                 "breaker_trips": gate.trips if gate else None,
                                 "breaker_open": bool(gate and gate.open_until), "runs": broken_runs}
        requests.post(f"{sim_url}/shops/{broken_name}/_sim/faults/clear", timeout=10)
        requests.post(f"{sim_url}/shops/{broken_name}/_sim/release", timeout=10)
        if args.big_import:
            big = big_import_phase(args, engine=engine, sim_url=sim_url, shops=shops, orders=orders, lead=lead,
                                   secret=secret, exclude={shops[broken_name]}, env=env)
            results["big_import"] = big

    def change(key: str, other: dict[str, Any] | None = None) -> float | None:
        a, b = healthy[key], (other or broken)[key]
        return round((b - a) / a * 100, 1) if a else None

    if args.big_import:
        big = results["big_import"]
        big["lag_change_pct"] = {"p50": change("lag_p50_s", big), "p99": change("lag_p99_s", big),
                                 "after_slot_p50": change("delay_after_slot_p50_s", big),
                                 "after_slot_p99": change("delay_after_slot_p99_s", big)}

    results.update({
        "healthy": healthy, "broken": broken,
        "lag_change_pct": {"p50": change("lag_p50_s"), "p99": change("lag_p99_s"),
                           "after_slot_p50": change("delay_after_slot_p50_s"),
                           "after_slot_p99": change("delay_after_slot_p99_s")},
        "peak_db_connections": max(sampler.connections, default=0),
        "peak_worker_rss_mb": round(max(sampler.rss_mb, default=0), 1),
        "simulator_rss_mb": round(tree_rss_kb(sim_pid) / 1024, 1),
        "queue_depth": {"inbound_ready_max": max((d[1] for d in sampler.depth), default=0),
                        "delayed_ready_max": max((d[2] for d in sampler.depth), default=0),
                        "inbound_ready_last": sampler.depth[-1][1] if sampler.depth else None,
                        "samples": len(sampler.depth)},
        "rabbitmq_queues": rabbit_queues(run.vhost),
        "dead_letters": dead_letters(engine),
    })


def dead_letters(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return [f"{actor}{args}: {error_class}: {(message or '')[:160]}" for actor, args, error_class, message in c.execute(
            text("SELECT actor_name, args, error_class, error_message FROM qloapps_dead_letters ORDER BY id"))]


def rabbit_queues(vhost: str) -> dict[str, Any]:
    """Messages and memory of the run's queues (rabbitmqctl; empty when it is not available here)."""
    try:
        out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages", "memory"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    queues = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            queues[parts[0]] = {"messages": int(parts[1]), "memory_kb": round(int(parts[2]) / 1024, 1)}
    return queues


def report(results: dict[str, Any]) -> None:
    h, b = results["healthy"], results["broken"]
    period = results["interval_ms"] / 1000
    print()
    print(f"{results['shops']} shops x {results['bookings_per_shop']} bookings, interval {period:g} s, "
          f"{results['processes']} worker processes x {results['threads']} threads")
    print(f"  initial import             {results['initial_import_s']} s, then its backlog "
          f"{results['import_backlog']}")
    for label, r in (("healthy", h), ("one shop timing out", b)):
        cov = r["pulled_every_interval"]
        print(f"  {label:<26} lag p50 {r['lag_p50_s']} s, p99 {r['lag_p99_s']} s (< 2 intervals = {2 * period:g} s: "
              f"{'yes' if r['lag_p99_s'] < 2 * period else 'NO'}); pulled every interval: "
              f"{cov['shop_intervals'] - cov['missed']}/{cov['shop_intervals']}; "
              f"{r['requests_per_shop_per_cycle']} requests per shop per cycle")
    pct = results["lag_change_pct"]
    print(f"  effect of the broken shop  lag p50 {pct['p50']} %, p99 {pct['p99']} %; after the slot p50 "
          f"{pct['after_slot_p50']} %, p99 {pct['after_slot_p99']} %"
          f" ({b['broken_shop']})")
    if "big_import" in results:
        g = results["big_import"]
        print(f"  while a {g['big_shop']['bookings']}-booking shop imports: lag p50 {g['lag_p50_s']} s, p99 "
              f"{g['lag_p99_s']} s (change {g['lag_change_pct']}); its full pull {g['big_shop']['full_import_s']} s")
    print(f"  peak DB connections        {results['peak_db_connections']}")
    print(f"  peak RSS of the workers    {results['peak_worker_rss_mb']} MB (all processes of the dramatiq command)")
    print(f"  queue depth                {results['queue_depth']}")
    print(f"  dead letters               {len(results['dead_letters'])}: {results['dead_letters'][:5]}")
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
