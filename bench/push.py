"""Benchmark: PMS changes pushed to QloApps through the real processes, at a steady rate.

    .venv/bin/python bench/push.py [--seconds 60] [--rate 20] [--latency 0.02] [--processes 2] [--threads 2]

Set-up (all torn down at the end): a throwaway database next to DATABASE_URL's, a throwaway RabbitMQ
vhost on RABBITMQ_URL's broker, the simulator as its own process (``qlosync simulator``) with a latency
fault of --latency seconds on every /api/ request (armed through its /_sim/ control API after the
catalog import), ``qlosync config set`` + ``qlosync mappings import``, the outbound workers
(``dramatiq qlosync.actors --queues qloapps.outbound --processes 2 --threads 2``: two worker processes
of two threads) and one ``qlosync relay``.

The driver commits --rate changes a second for --seconds, by plain SQL (as a host PMS would), on a
fixed schedule: about 50 % new reservations (a new guest, one line of 1-3 nights, 2 adults), 30 % date
changes (same room type) of an earlier live reservation, 20 % cancellations of one. Every stay is put on
room nights that no earlier stay of the run used, at most 5 per room type and night (the QloApps room
count), so QloApps never has to refuse one, whatever order the pushes land in. In each change's transaction the
driver also computes the PMS hash the push will record for that state (``pms_state_hash``, what the
push compares); the commit time is the wall clock right after COMMIT returned.

What is measured
----------------
A thread polls ``qloapps_reservation_mappings`` every 50 ms and remembers, per (reservation,
pms_hash), when it first saw it and the row's ``last_synced_at``. A change counts as written when its
own hash or the hash of a later change of the same reservation (a push that read the newer state
carries this change too) appears on the mapping. Two latencies per change, from its commit:

* **write**: to ``last_synced_at`` of that mapping row. The push sets it when it records the write, i.e.
  after the create/update/cancel HTTP request returned AND the read-back that follows it (order and room
  lines: two more requests, each with the injected latency; the customer comes with the write's answer).
  So this is an upper bound of "the change is in QloApps", by about 2 x latency plus a few ms of database
  work;
* **seen**: to the first poll that saw the hash: the same plus up to the 50 ms poll interval.

Both use the same clock (all processes run on this machine). Changes of reservations cancelled before
their first push ever ran need no write at all (the push skips them) and are counted apart.

**Requests per change**: the simulator's own request counters (GET /_sim/stats) after everything settled
minus before the first change, divided by the changes committed (the relay and idle workers make no
requests; the end-of-run checks below are made after that reading).

**Lost**: reservations whose final PMS state is not what QloApps shows at the end: a live reservation
needs an order that is not cancelled and whose room lines (room type, dates, adults) equal the PMS
lines; a cancelled one needs a cancelled/refunded order, or no order if it never reached QloApps.
Also counted: changes never seen written (their reservation is then lost as well).
**Duplicated**: orders beyond the first carrying the same push token, plus orders carrying no token
(the simulator starts empty), plus orders beyond one per reservation.

Prints a table and then one JSON line. Target: p99 write under 2 s, 0 lost, 0 duplicated.

"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from processes import (  # bench/processes.py (bench/ is the script's folder)
    BenchRun, alive, answers, bench_run, free_port, queue_counts, start, wait_for)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.rabbitmq_admin (vhosts through the management API or rabbitmqctl)

from qlosync.crypto import generate_secret_key  # noqa: E402
from qlosync.db.session import make_engine  # noqa: E402
from qlosync.qloapps.client import QloAppsClient  # noqa: E402
from qlosync.qloapps.models import STATE_CANCELLED, STATE_REFUNDED  # noqa: E402
from qlosync.secrets import Secret  # noqa: E402
from qlosync.settings import Settings  # noqa: E402
from qlosync.pms import open_pms, shop_hotel  # noqa: E402
from qlosync.sync.pms_state import pms_state_hash  # noqa: E402
from qlosync.sync.push_token import token_in  # noqa: E402

API_KEY = "BENCHBENCHBENCHBENCHBENCHBENCH12"
BIN = Path(sys.executable).parent
ROOMS_PER_TYPE = 5  # the simulator's demo hotel: room types 1-4, five rooms each
FIRST_DAY, HORIZON_DAYS = 10, 330  # stays start 10 .. 340 days ahead
POLL_S = 0.05
LETTERS = "abcdefghijklmnopqrstuvwxyz"


# -- processes ---------------------------------------------------------------------------------------------------








def qlosync(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BIN / "qlosync"), *args], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"bench/push.py: qlosync {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


# -- the PMS side: a driver of plain-SQL changes ----------------------------------------------------------------


@dataclass
class Change:
    seq: int
    kind: str  # new / dates / cancel
    reservation_id: int
    committed_at: float  # time.time() right after COMMIT
    digest: str  # the pms_hash a push of this state records


@dataclass
class Slots:
    """Room nights handed out so far: each (room type, night) at most ROOMS_PER_TYPE times in the whole run."""

    rng: random.Random
    room_types: list[int]
    used: Counter[tuple[int, date]] = field(default_factory=Counter)

    def take(self, room_type: int | None = None) -> tuple[int, date, date]:
        """(room type, check-in, check-out) of a stay on unused room nights, of *room_type* if given."""
        today = datetime.now(UTC).date()
        wanted = room_type
        for _ in range(10_000):
            room_type = wanted if wanted is not None else self.rng.choice(self.room_types)
            checkin = today + timedelta(days=FIRST_DAY + self.rng.randrange(HORIZON_DAYS))
            nights = [checkin + timedelta(days=n) for n in range(self.rng.choice((1, 1, 2, 2, 3)))]
            if all(self.used[(room_type, night)] < ROOMS_PER_TYPE for night in nights):
                self.used.update((room_type, night) for night in nights)
                return room_type, checkin, nights[-1] + timedelta(days=1)
        raise SystemExit("bench/push.py: out of free room nights; lower --rate or --seconds")


def name_for(n: int) -> str:
    """A last name QloApps accepts (letters only) and that is unique per guest."""
    out = ""
    while True:
        n, rest = divmod(n, 26)
        out = LETTERS[rest] + out
        if not n:
            return "Bench" + out


class Driver:
    def __init__(self, engine: Engine, slots: Slots, rng: random.Random) -> None:
        self.engine, self.slots, self.rng = engine, slots, rng
        self.changes: list[Change] = []
        self.live: list[int] = []
        self.created: list[int] = []
        self.room_type: dict[int, int] = {}

    def _commit(self, kind: str, write: Any) -> None:
        with Session(self.engine) as session:
            with session.begin():
                reservation_id = write(session)
                state = shop_hotel(open_pms(session), None).reservation_states([str(reservation_id)]).get(
                    str(reservation_id))
                assert state is not None
                digest = pms_state_hash(state)
            committed_at = time.time()
        self.changes.append(Change(len(self.changes), kind, reservation_id, committed_at, digest))

    def new(self) -> None:
        room_type, checkin, checkout = self.slots.take()
        n = len(self.created)

        def write(session: Session) -> int:
            guest = session.execute(text(
                "INSERT INTO pms_guests (first_name, last_name, email, phone) "
                "VALUES ('Guest', :l, :e, '+1 555 0100') RETURNING id"),
                {"l": name_for(n), "e": f"bench.guest{n}@example.com"}).scalar_one()
            reservation = session.execute(text(
                "INSERT INTO pms_reservations (guest_id, status, source) VALUES (:g, 'confirmed', 'Front desk') "
                "RETURNING id"), {"g": guest}).scalar_one()
            session.execute(text(
                "INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout, adults) "
                "VALUES (:r, :t, :i, :o, 2)"), {"r": reservation, "t": room_type, "i": checkin, "o": checkout})
            self.created.append(reservation)
            self.room_type[reservation] = room_type
            self.live.append(reservation)
            return int(reservation)

        self._commit("new", write)

    def move(self) -> None:
        reservation = self.rng.choice(self.live)
        _, checkin, checkout = self.slots.take(self.room_type[reservation])

        def write(session: Session) -> int:
            session.execute(text("UPDATE pms_reservation_lines SET checkin = :i, checkout = :o "
                                 "WHERE reservation_id = :r"), {"r": reservation, "i": checkin, "o": checkout})
            return reservation

        self._commit("dates", write)

    def cancel(self) -> None:
        reservation = self.live.pop(self.rng.randrange(len(self.live)))

        def write(session: Session) -> int:
            session.execute(text("UPDATE pms_reservations SET status = 'cancelled' WHERE id = :r"), {"r": reservation})
            return reservation

        self._commit("cancel", write)

    def run(self, rate: float, seconds: float) -> float:
        """Commit rate x seconds changes on a fixed schedule; returns the time it took."""
        total = int(rate * seconds)
        started = time.monotonic()
        for k in range(total):
            delay = started + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            roll = self.rng.random()
            if not self.live or roll < 0.5:
                self.new()
            elif roll < 0.8:
                self.move()
            else:
                self.cancel()
        return time.monotonic() - started


# -- watching the mappings ------------------------------------------------------------------------------------


class MappingWatch(threading.Thread):
    """Polls the reservation mappings; first sighting of each (reservation, pms_hash): (seen at, last_synced_at)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="mapping-watch", daemon=True)
        self.engine = engine
        self.first: dict[tuple[int, str], tuple[float, float]] = {}
        self.polls = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self._halt.is_set():
                rows = connection.execute(text(
                    "SELECT pms_reservation_id, pms_hash, last_synced_at FROM qloapps_reservation_mappings "
                    "WHERE pms_hash IS NOT NULL AND pms_reservation_id IS NOT NULL")).all()
                connection.commit()
                seen = time.time()
                with self._lock:
                    for reservation_id, digest, synced in rows:  # mappings hold PMS ids as text
                        self.first.setdefault((int(reservation_id), digest), (seen, synced.timestamp()))
                    self.polls += 1
                self._halt.wait(POLL_S)

    def has(self, reservation_id: int, digest: str) -> bool:
        with self._lock:
            return (reservation_id, digest) in self.first

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


# -- results -------------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


def latencies(changes: list[Change], watch: MappingWatch, never_pushed: set[int]) -> dict[str, Any]:
    by_reservation: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        by_reservation[change.reservation_id].append(change)
    write: list[float] = []
    seen: list[float] = []
    unwritten: list[int] = []
    not_needed = 0
    for reservation_id, history in by_reservation.items():
        for i, change in enumerate(history):
            sightings = [watch.first[(reservation_id, later.digest)] for later in history[i:]
                         if (reservation_id, later.digest) in watch.first]
            if not sightings:
                if reservation_id in never_pushed:
                    not_needed += 1  # cancelled before any push ran: nothing to write
                else:
                    unwritten.append(change.seq)
                continue
            seen.append(min(s for s, _ in sightings) - change.committed_at)
            write.append(min(w for _, w in sightings) - change.committed_at)
    return {"write": write, "seen": seen, "unwritten": unwritten, "not_needed": not_needed}


def verify(engine: Engine, client: QloAppsClient, config_id: int) -> dict[str, Any]:
    """Compare every PMS reservation with QloApps as it is now; count lost and duplicated bookings."""
    orders = [o for page in client.iter_all_orders() for o in page]
    snapshots = {s.order.id: s for chunk in range(0, len(orders), 100)
                 for s in client.snapshots_for(orders[chunk:chunk + 100])}
    tokens = Counter(token_in(o.source) for o in orders)
    with engine.connect() as c:
        room_types = {int(pms): qlo for pms, qlo in c.execute(text(  # mappings hold PMS ids as text
            "SELECT pms_room_type_id, qloapps_room_type_id FROM qloapps_room_type_mappings WHERE config_id = :c"),
            {"c": config_id}).all()}
        reservations = {r: s for r, s in c.execute(text("SELECT id, status FROM pms_reservations")).all()}
        lines: dict[int, list[tuple[int, date, date, int]]] = defaultdict(list)
        for r, t, i, o, a in c.execute(text(
                "SELECT reservation_id, room_type_id, checkin, checkout, adults FROM pms_reservation_lines")).all():
            lines[r].append((room_types.get(t, -1), i, o, a))
        mappings = {int(pms): order for pms, order in c.execute(text(
            "SELECT pms_reservation_id, qloapps_order_id FROM qloapps_reservation_mappings "
            "WHERE qloapps_order_id IS NOT NULL AND pms_reservation_id IS NOT NULL")).all()}
        push_errors = c.scalar(text("SELECT count(*) FROM qloapps_reservation_mappings WHERE push_error IS NOT NULL"))
        dead_letters = c.scalar(text("SELECT count(*) FROM qloapps_dead_letters"))
        unsent = c.scalar(text("SELECT count(*) FROM pms_outbox WHERE published_at IS NULL"))
    lost: list[tuple[int, str]] = []
    never_pushed: set[int] = set()
    for reservation_id, status in reservations.items():
        order_id = mappings.get(reservation_id)
        snapshot = snapshots.get(order_id) if order_id is not None else None
        cancelled = status in ("cancelled", "refunded")
        if snapshot is None:
            if cancelled and order_id is None:
                never_pushed.add(reservation_id)
            else:
                lost.append((reservation_id, "no order in QloApps"))
            continue
        qlo_cancelled = snapshot.order.current_state in (STATE_CANCELLED, STATE_REFUNDED)
        if cancelled != qlo_cancelled:
            lost.append((reservation_id, f"PMS {status}, QloApps state {snapshot.order.current_state}"))
            continue
        if cancelled:
            continue
        qlo_lines = sorted((rb.id_product, rb.date_from, rb.date_to, rb.adults) for rb in snapshot.room_bookings)
        if qlo_lines != sorted(lines[reservation_id]):
            lost.append((reservation_id, f"lines differ: PMS {sorted(lines[reservation_id])} QloApps {qlo_lines}"))
    token_duplicates = sum(n - 1 for t, n in tokens.items() if t is not None and n > 1) + tokens.get(None, 0)
    surplus = len(orders) - len(set(mappings.values()))
    return {"orders": len(orders), "reservations": len(reservations), "lost": lost, "never_pushed": never_pushed,
            "duplicated": max(token_duplicates, surplus), "token_duplicates": token_duplicates,
            "push_errors": int(push_errors or 0), "dead_letters": int(dead_letters or 0), "unsent": int(unsent or 0)}


def settled(engine: Engine, watch: MappingWatch, changes: list[Change]) -> bool:
    """Every reservation's final state is on its mapping (or it was cancelled before a push could create it)."""
    final = {c.reservation_id: c for c in changes}
    with engine.connect() as c:
        if c.scalar(text("SELECT count(*) FROM pms_outbox WHERE published_at IS NULL")):
            return False
        ordered = {int(r) for r in c.scalars(text(
            "SELECT pms_reservation_id FROM qloapps_reservation_mappings "
            "WHERE qloapps_order_id IS NOT NULL AND pms_reservation_id IS NOT NULL"))}
    return all(watch.has(r, change.digest) or (change.kind == "cancel" and r not in ordered)
               for r, change in final.items())


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


# -- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the driver commits changes")
    parser.add_argument("--rate", type=float, default=20.0, help="changes committed per second")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every QloApps /api/ request")
    parser.add_argument("--processes", type=int, default=2, help="dramatiq worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker process")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the backlog after the run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-level", default="INFO", help="QLOSYNC_LOG_LEVEL of the workers and the relay")
    parser.add_argument("--keep-logs", action="store_true", help="print where the process logs are and keep them")
    args = parser.parse_args()

    with bench_run("push", args.keep_logs) as run:
        engine = make_engine(Settings(database_url=run.database_url), pool_size=5)  # qlosync's search_path
        try:
            measure(args, run, engine)
        finally:
            engine.dispose()


def measure(args: argparse.Namespace, run: BenchRun, engine: Engine) -> None:
    """Set up the shop and the processes, drive the changes, wait for the backlog, verify and report."""
    logs, amqp = run.logs, run.amqp_url
    env = run.env(QLOSYNC_SECRET_KEY=generate_secret_key(), QLOAPPS_API_KEY=API_KEY, QLOSYNC_LOG_LEVEL=args.log_level)

    # The simulator, in its own process, then the shop and its catalog
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    run.processes.append(start([str(BIN / "qlosync"), "simulator", "--port", str(port)], env, logs / "simulator.log"))
    wait_for(lambda: answers(f"{sim_url}/_sim/stats"), "the simulator to answer")
    qlosync(env, "config", "set", "--base-url", sim_url, "--api-key-env", "QLOAPPS_API_KEY", "--enable")
    # qlosync's own pace is measured: the shop allows more than the polite default of 25 requests a second
    qlosync(env, "shops", "set", "default", "--max-rps", "1000", "--max-concurrent", "16")
    qlosync(env, "mappings", "import")
    with engine.connect() as c:
        config_id = c.scalar(text("SELECT id FROM qloapps_config"))
        room_types = sorted(int(t) for t in c.scalars(text("SELECT pms_room_type_id FROM qloapps_room_type_mappings")))
    assert len(room_types) == 4, room_types
    requests.post(f"{sim_url}/_sim/faults", json={"kind": "latency", "count": None, "path": "/api/",
                                                  "delay_s": args.latency}, timeout=5).raise_for_status()

    # Workers (outbound queue only), then the relay
    run.processes.append(start([str(BIN / "dramatiq"), "qlosync.actors", "--queues", "qloapps.outbound",
                            "--processes", str(args.processes), "--threads", str(args.threads)],
                           env, logs / "workers.log"))
    wait_for(lambda: alive(run.processes, logs) and (queue_counts(amqp, "qloapps.outbound") or (0, 0))[1]
             >= args.processes, "the workers to consume qloapps.outbound", timeout=60, interval=0.2)
    run.processes.append(start([str(BIN / "qlosync"), "relay"], env, logs / "relay.log"))
    wait_for(lambda: alive(run.processes, logs) and engine_scalar(
        engine, "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN qlosync_outbox' "
                "AND datname = current_database()"), "the relay to LISTEN", interval=0.05)

    # The run
    before = requests.get(f"{sim_url}/_sim/stats", timeout=5).json()["requests"]
    watch = MappingWatch(engine)
    watch.start()
    rng = random.Random(args.seed)
    driver = Driver(engine, Slots(rng, room_types), rng)
    print(f"driving {args.rate:g} changes/s for {args.seconds:g} s: {args.processes} worker processes x "
          f"{args.threads} threads, 1 relay, simulator latency {args.latency * 1000:g} ms per request", flush=True)
    drive_s = driver.run(args.rate, args.seconds)
    changes = driver.changes
    settle_started = time.monotonic()
    deadline = settle_started + args.settle
    while time.monotonic() < deadline:
        alive(run.processes, logs)
        if settled(engine, watch, changes):
            time.sleep(1.0)  # a push still in flight (a create racing a cancellation) would show by then
            if settled(engine, watch, changes):
                break
        time.sleep(0.2)
    settle_s = time.monotonic() - settle_started
    time.sleep(2 * POLL_S)  # one more poll of the mappings
    watch.stop()
    after = requests.get(f"{sim_url}/_sim/stats", timeout=5).json()["requests"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}

    with QloAppsClient(sim_url, Secret(API_KEY)) as client:
        checked = verify(engine, client, config_id)
    measured = latencies(changes, watch, checked["never_pushed"])
    report(args, changes, drive_s, settle_s, delta, checked, measured, watch)


def engine_scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as c:
        return c.scalar(text(sql))


def report(args: argparse.Namespace, changes: list[Change], drive_s: float, settle_s: float, delta: dict[str, int],
           checked: dict[str, Any], measured: dict[str, Any], watch: MappingWatch) -> None:
    kinds = Counter(c.kind for c in changes)
    total_requests = sum(delta.values())
    write, seen = measured["write"], measured["seen"]
    lost = len(checked["lost"]) + len({changes[s].reservation_id for s in measured["unwritten"]}
                                      - {r for r, _ in checked["lost"]})
    rows = [
        ("changes committed", f"{len(changes)} in {drive_s:.1f} s ({len(changes) / drive_s:.1f}/s): "
                              f"{kinds['new']} new, {kinds['dates']} date changes, {kinds['cancel']} cancellations"),
        ("backlog drained", f"{settle_s:.1f} s after the last commit"),
        ("write latency p50 / p90 / p99 / max",
         " / ".join(fmt(percentile(write, p)) for p in (50, 90, 99, 100)) + f"  ({len(write)} changes)"),
        ("  (commit -> mapping last_synced_at: the push recorded the write, after its read-back)", ""),
        ("seen latency p50 / p90 / p99 / max",
         " / ".join(fmt(percentile(seen, p)) for p in (50, 90, 99, 100)) + f"  (polled every {POLL_S * 1000:.0f} ms)"),
        ("  (commit -> first poll that saw the change's pms_hash, or a later one's, on the mapping)", ""),
        ("changes needing no write", f"{measured['not_needed']} (reservation cancelled before its first push)"),
        ("QloApps requests", f"{total_requests} = {total_requests / max(len(changes), 1):.2f} per change"),
        ("  by resource", ", ".join(f"{k} {v}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1]))),
        ("QloApps orders", f"{checked['orders']} for {checked['reservations']} PMS reservations "
                           f"({len(checked['never_pushed'])} cancelled before they reached QloApps)"),
        ("lost bookings", f"{lost} ({len(measured['unwritten'])} changes never seen written)"),
        ("duplicated bookings", str(checked["duplicated"])),
        ("refused pushes / dead letters / unsent outbox rows",
         f"{checked['push_errors']} / {checked['dead_letters']} / {checked['unsent']}"),
    ]
    width = max(len(k) for k, v in rows if v)
    for key, value in rows:
        print(f"{key:<{width}}  {value}" if value else key)
    for reservation_id, why in checked["lost"][:10]:
        print(f"  lost: reservation {reservation_id}: {why}")
    p99 = percentile(write, 99)
    verdict = p99 is not None and p99 < 2.0 and lost == 0 and checked["duplicated"] == 0
    print(f"target (p99 write < 2 s, 0 lost, 0 duplicated): {'met' if verdict else 'NOT met'}")
    print(json.dumps({
        "bench": "push", "seconds": args.seconds, "rate": args.rate, "latency_s": args.latency,
        "worker_processes": args.processes, "threads": args.threads, "changes": len(changes), "by_kind": dict(kinds),
        "drive_s": round(drive_s, 2), "settle_s": round(settle_s, 2),
        "write_p50_ms": _ms(percentile(write, 50)), "write_p90_ms": _ms(percentile(write, 90)),
        "write_p99_ms": _ms(percentile(write, 99)), "write_max_ms": _ms(percentile(write, 100)),
        "seen_p50_ms": _ms(percentile(seen, 50)), "seen_p99_ms": _ms(percentile(seen, 99)),
        "requests": total_requests, "requests_per_change": round(total_requests / max(len(changes), 1), 3),
        "requests_by_resource": delta, "orders": checked["orders"], "reservations": checked["reservations"],
        "lost": lost, "duplicated": checked["duplicated"], "push_errors": checked["push_errors"],
        "dead_letters": checked["dead_letters"], "not_needed": measured["not_needed"], "polls": watch.polls,
        "target_met": verdict,
    }, sort_keys=True))


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


if __name__ == "__main__":
    main()
