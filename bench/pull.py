"""Benchmark: full import of N QloApps bookings into PostgreSQL, an idle incremental cycle, the naive sync.

    .venv/bin/python bench/pull.py [--bookings 10000] [--page-size 100] [--naive 2000] [--request-cost-ms SPEC]
                                   [--no-idle] [--profile FILE] [--pms builtin|hotelmanangement]

Set-up (torn down at the end): the simulator as its own process (``qlosync simulator --port N``), filled
through its /_sim/ control API with N bookings spread over simulated time (50 a minute, as real traffic
would be: not all in the last seconds, which the idle cycle's 5 s overlap would re-read), and a
throwaway database next to DATABASE_URL's with the shop configured and its catalog imported.

``--pms`` picks the PMS the bookings are imported into (default builtin, whose ``pms_*`` tables the migrations
make). With ``hotelmanangement`` the throwaway database first gets that PMS's tables from tests/hms/schema.sql
(the project's own test double of its schema), then qlosync's migrations, which install its change capture as
they do next to that PMS; the shop is bound to its default hotel, and the counts read its tables.

Phases:

* **full import**: ``run_pull(kind="full")`` of all N bookings, simulator with no added request cost (it
  answers as fast as it can: this measures qlosync). The importing process is this one: its RSS
  (/proc/self/status VmRSS) is sampled every 0.2 s and after every page, with the bookings imported so
  far, and VmHWM is read at the end.
* **idle cycle**: an incremental pull right after it: QloApps requests, and which sync tables changed
  (row count and newest xmin of each).
* **naive vs qlosync** (``--naive M``, 0 to skip): a second simulator of M bookings with the real server's
  per-request cost (``--request-cost-ms``, default from captures 320-324: one booking 15 ms, a page of
  orders 11 ms, room lines/customers 12 ms); into a fresh database each: (1) naive: ``GET /api/bookings``
  (every id, B6), then one ``GET /api/bookings/{id}`` per booking, each applied in its own transaction
  (what the original integration did; the booking representation has no status, B7, so it is taken as
  paid), then (2) ``run_pull(kind="full")`` of the same M bookings under the same cost.

Prints a summary and, last, one JSON line (``{"bench": "pull", ...}``) that bench/run.py reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from processes import free_port, start, stop  # bench/processes.py (bench/ is the script's folder)
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qlosync.crypto import KeyCipher, generate_secret_key  # noqa: E402
from qlosync.db import migrate  # noqa: E402
from qlosync.db.config_store import ShopConfig, load_shop, save_config  # noqa: E402
from qlosync.db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from qlosync.qloapps.client import QloAppsClient  # noqa: E402
from qlosync.qloapps.models import Booking, BookingSnapshot, Customer, Order, RoomBooking  # noqa: E402
from qlosync.qloapps.simulator.shop import REAL_SHOP_COST  # noqa: E402
from qlosync.secrets import Secret  # noqa: E402
from qlosync.settings import Settings  # noqa: E402
from qlosync.sync.inbound.apply import apply_snapshot  # noqa: E402
from qlosync.sync.inbound.catalog import import_catalog  # noqa: E402
from qlosync.sync.inbound.pull import PullDeps, run_pull  # noqa: E402
from qlosync.sync.service import open_client  # noqa: E402
from tests.hms.double import load_double  # noqa: E402

API_KEY = "BENCHBENCHBENCHBENCHBENCHBENCH12"
BIN = Path(sys.executable).parent
# The real server's cost per request (a QloApps 1.6.1 on 2 cores, issue 22); each latency is added on top.
REAL_COST = REAL_SHOP_COST
LATENCIES_MS = "0,20"
#: qlosync's own tables a pull writes (in its schema: its engine's search_path finds them first).
QLOSYNC_SYNC_TABLES = ("qloapps_reservation_mappings", "qloapps_room_line_mappings", "qloapps_customer_mappings",
                       "qloapps_sync_logs")


@dataclass(frozen=True)
class PmsTables:
    """What a benchmark reads of one PMS: the tables a pull writes, and how many reservations, lines and guests
    it holds (that PMS's own words: the built-in PMS's lines are rows, the hotelmanangement PMS's are units)."""

    sync_tables: tuple[str, ...]
    reservations: str
    lines: str
    guests: str
    outbox: str  # the change capture's rows (a sync's own writes are not echoed; availability they change is)
    hotel_id: str | None = None  # the hotel the shop is bound to (None: the PMS's only one)
    double: bool = False  # the database first gets the PMS's tables from the test double


PMS_TABLES = {
    "builtin": PmsTables(
        ("pms_guests", "pms_reservations", "pms_reservation_lines", *QLOSYNC_SYNC_TABLES),
        reservations="SELECT count(*) FROM pms_reservations", lines="SELECT count(*) FROM pms_reservation_lines",
        guests="SELECT count(*) FROM pms_guests", outbox="SELECT count(*) FROM pms_outbox"),
    "hotelmanangement": PmsTables(
        ("public.guests", "public.reservations", "public.reservation_guests", "hms_reservation_groups",
         *QLOSYNC_SYNC_TABLES),
        reservations="SELECT count(*) FROM public.reservations WHERE deleted_at IS NULL",
        lines="SELECT coalesce(sum(units_requested), 0) FROM public.reservations WHERE deleted_at IS NULL",
        guests="SELECT count(*) FROM public.guests WHERE deleted_at IS NULL", outbox="SELECT count(*) FROM hms_outbox",
        hotel_id="00000000-0000-0000-0000-000000000000", double=True),  # the default hotel of that PMS
}


# -- memory of this (the importing) process ----------------------------------------------------------------

def proc_status_kb(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class RssSampler:
    """VmRSS every *interval* seconds in a thread, plus marks (bookings done, RSS) from the pull's progress."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.marks: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append((time.perf_counter() - self.started, proc_status_kb("VmRSS")))

    def mark(self, done: int) -> None:
        self.marks.append((done, proc_status_kb("VmRSS")))

    def __enter__(self) -> RssSampler:
        self.start_kb = proc_status_kb("VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        rss = [kb for _, kb in self.samples] + [kb for _, kb in self.marks] or [self.start_kb]
        marks = self.marks
        at = {}
        for fraction in (0.1, 0.25, 0.5, 0.75, 1.0):
            if marks:
                done, kb = marks[min(len(marks) - 1, max(0, round(fraction * len(marks)) - 1))]
                at[f"{int(fraction * 100)}%"] = {"bookings": done, "rss_mb": round(kb / 1024, 1)}
        # Flat: the RSS after the last page compared with the RSS after the first tenth of the import.
        first = at.get("10%", {}).get("rss_mb")
        last = at.get("100%", {}).get("rss_mb")
        return {"start_rss_mb": round(self.start_kb / 1024, 1), "peak_rss_mb": round(max(rss) / 1024, 1),
                "vm_hwm_mb": round(proc_status_kb("VmHWM") / 1024, 1), "rss_by_progress": at,
                "growth_after_first_10pct_mb": None if first is None or last is None else round(last - first, 1),
                "samples": len(self.samples)}


# -- the simulator process and the databases ---------------------------------------------------------------

@contextmanager
def simulator(bookings: int, logs: Path, per_minute: int = 50) -> Iterator[str]:
    """A `qlosync simulator` process with *bookings* bookings, *per_minute* per simulated minute; yields its URL."""
    port = free_port()
    env = dict(os.environ, QLOAPPS_API_KEY=API_KEY)
    log = logs / f"simulator-{port}.log"
    process = start([str(BIN / "qlosync"), "simulator", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_sim/stats", timeout=1)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench/pull.py: the simulator did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        control = requests.Session()
        minutes = bookings // per_minute + 1
        now = datetime.fromisoformat(control.get(f"{url}/_sim/clock").json()["now"])  # the simulator's clock (UTC)
        start_at = now - timedelta(minutes=minutes + 1)
        for chunk, first in enumerate(range(0, bookings, per_minute)):
            control.post(f"{url}/_sim/clock", json={"freeze": str(start_at + timedelta(minutes=chunk))}).raise_for_status()
            control.post(f"{url}/_sim/generate", json={"count": min(per_minute, bookings - first),
                                                       "seed": 42 + chunk}).raise_for_status()
        control.post(f"{url}/_sim/clock", json={"unfreeze": True}).raise_for_status()
        yield url
    finally:
        stop(process)


def set_request_cost(url: str, spec: str | None) -> None:
    requests.post(f"{url}/_sim/request_cost", json={"ms": spec or ""}, timeout=5).raise_for_status()


def sim_requests(url: str) -> int:
    return sum(requests.get(f"{url}/_sim/stats", timeout=5).json()["requests"].values())


class Shop:
    """A throwaway database with the shop configured against a simulator and its catalog imported."""

    def __init__(self, sim_url: str, pms: str = "builtin") -> None:
        base = make_url(Settings.from_env().database_url)
        self.name = f"qlosync_bench_{uuid.uuid4().hex[:8]}"
        self.pms = PMS_TABLES[pms]
        self.pms_name = pms
        self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        url = base.set(database=self.name).render_as_string(hide_password=False)
        if self.pms.double:
            load_double(url).dispose()
        migrate.upgrade(url, pms=pms)  # and the PMS's change capture, where the migrations do not make it
        self.url = url
        self.engine: Engine = make_engine(Settings(database_url=url, pms=pms))
        self.sessions = make_sessionmaker(self.engine)
        self.secret_key = Secret(generate_secret_key())
        cipher = KeyCipher(self.secret_key)
        with transaction(self.sessions) as session:
            save_config(session, cipher, base_url=sim_url, api_key=Secret(API_KEY), sync_enabled=True,
                        pms_hotel_id=self.pms.hotel_id)
        with transaction(self.sessions) as session:
            self.shop: ShopConfig = load_shop(session, cipher)
        self.sim_url = sim_url

    def client(self, page_size: int = 100) -> QloAppsClient:
        return QloAppsClient(self.sim_url, Secret(API_KEY), page_size=page_size)

    def gated_client(self) -> QloAppsClient:
        """A client as a worker has it: every request through the shop's gate (4 lanes, 25 requests/s)."""
        return open_client(Settings.from_env(), self.shop, self.engine)

    def import_catalog(self, client: QloAppsClient) -> None:
        with transaction(self.sessions) as session:
            import_catalog(session, client, self.shop)

    def deps(self, client: QloAppsClient, progress: Callable[[Any], None] | None = None) -> PullDeps:
        return PullDeps(engine=self.engine, session_factory=self.sessions, client=client, shop=self.shop,
                        retry_booking=lambda _id: None, progress=progress)

    def table_versions(self) -> dict[str, tuple[int, int]]:
        with transaction(self.sessions) as session:
            return {t: tuple(session.execute(text(f"SELECT count(*), coalesce(max(xmin::text::bigint),0) FROM {t}")).one())
                    for t in self.pms.sync_tables}

    def count(self, query: str) -> int:
        with self.engine.connect() as c:
            return int(c.execute(text(query)).scalar_one())

    def counts(self) -> dict[str, int]:
        """The PMS's reservations, lines and guests, and qlosync's mappings of them."""
        return {"reservations": self.count(self.pms.reservations), "lines": self.count(self.pms.lines),
                "guests": self.count(self.pms.guests), "outbox": self.count(self.pms.outbox),
                **{t: self.count(f"SELECT count(*) FROM {t}") for t in QLOSYNC_SYNC_TABLES if t != "qloapps_sync_logs"}}

    def close(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


# -- the naive sync ------------------------------------------------------------------------------------------

def snapshot_of_booking(booking: Booking) -> BookingSnapshot:
    """What the naive sync can apply from GET /api/bookings/{id} alone (no status there, B7: taken as paid)."""
    at = booking.booking_date or datetime(2026, 1, 1)
    lines = []
    for room_type in booking.room_types:
        for room in room_type.rooms:
            lines.append(RoomBooking(
                id=room.id_hotel_booking, id_order=booking.id, id_product=room_type.id_room_type, id_room=room.id_room,
                id_hotel=booking.id_property, id_customer=booking.customer_detail.id_customer or 0,
                date_from=room_type.checkin_date, date_to=room_type.checkout_date, adults=room.adults,
                children=room.child, child_ages=(), total_price_tax_excl=room.unit_price_without_tax,
                total_price_tax_incl=room.unit_price_without_tax + room.total_tax, is_cancelled=False,
                is_refunded=False, room_num="", room_type_name=room_type.name, id_status=1, date_upd=at))
    detail = booking.customer_detail
    order = Order(id=booking.id, id_customer=detail.id_customer or 0, current_state=2, date_add=at, date_upd=at,
                  reference=f"NAIVE{booking.id}", source=booking.source, id_currency=1,
                  total_paid=booking.price_details.total_paid, total_paid_tax_incl=Decimal(0),
                  total_paid_tax_excl=Decimal(0), total_paid_real=booking.price_details.total_paid,
                  total_products=Decimal(0), total_products_wt=Decimal(0), total_discounts=Decimal(0),
                  room_booking_ids=tuple(line.id for line in lines))
    customer = Customer(id=detail.id_customer or 0, firstname=detail.firstname, lastname=detail.lastname,
                        email=detail.email, phone=detail.phone)
    return BookingSnapshot(order, tuple(lines), customer)


def naive_import(shop: Shop, client: QloAppsClient) -> dict[str, Any]:
    before = client.request_count
    started = time.perf_counter()
    ids = client._json("GET", "bookings", parse=lambda d: [int(b["id"]) for b in d["bookings"]])
    deps = shop.deps(client)
    applied = 0
    with transaction(shop.sessions) as session:
        catalog = deps.catalog(session)
    for booking_id in sorted(ids):
        snapshot = snapshot_of_booking(client.get_booking(booking_id))
        with transaction(shop.sessions) as session:
            apply_snapshot(session, shop.shop, snapshot, catalog)
        applied += 1
    elapsed = time.perf_counter() - started
    return {"bookings": applied, "seconds": round(elapsed, 2), "requests": client.request_count - before,
            "bookings_per_s": round(applied / elapsed, 1)}


# -- phases ------------------------------------------------------------------------------------------------

def full_import(shop: Shop, client: QloAppsClient, sampler: RssSampler | None = None) -> dict[str, Any]:
    progress = (lambda report: sampler.mark(report.counts["seen"])) if sampler else None
    deps = shop.deps(client, progress)
    before = client.request_count
    started = time.perf_counter()
    report = run_pull(deps, kind="full", trigger="manual")
    elapsed = time.perf_counter() - started
    assert report.status == "succeeded", report.error
    requests_made = client.request_count - before
    created = report.counts["created"]
    return {"bookings": created, "failed": report.counts["failed"], "seconds": round(elapsed, 2),
            "bookings_per_s": round(created / elapsed, 1), "requests": requests_made,
            "requests_per_booking": round(requests_made / max(created, 1), 4)}


def _measured_pull(shop: Shop, client: QloAppsClient, kind: str, trigger: str) -> tuple[Any, dict[str, Any]]:
    """One pull with what it cost: QloApps requests, seconds, and the sync tables it wrote."""
    versions = shop.table_versions()
    before = client.request_count
    started = time.perf_counter()
    report = run_pull(shop.deps(client), kind=kind, trigger=trigger)
    elapsed = time.perf_counter() - started
    changed = [t for t, v in shop.table_versions().items() if v != versions[t]]
    return report, {"status": report.status, "kind": report.kind, "requests": client.request_count - before,
                    "tables_written": changed, "writes": len(changed), "seconds": round(elapsed, 3)}


def idle_cycle(shop: Shop, client: QloAppsClient) -> dict[str, Any]:
    report, cost = _measured_pull(shop, client, "incremental", "schedule")
    return {**cost, "ms": round(cost["seconds"] * 1000, 1)}


def reconciliation(shop: Shop, client: QloAppsClient) -> dict[str, Any]:
    """The nightly full reconciliation when nothing changed: what re-reading every booking costs."""
    report, cost = _measured_pull(shop, client, "full", "nightly")
    assert report.status == "succeeded", report.error
    return {**cost, "bookings": report.counts["seen"], "unchanged": report.counts["unchanged"]}


def compare_with_naive(bookings: int, cost: str, latencies_ms: list[float], pms: str, logs: Path) -> dict[str, Any]:
    """The naive sync, qlosync's full pull and its nightly reconciliation of the same bookings, side by side,
    at the real server's cost plus each latency; each through the shop's gate, into a fresh database."""
    comparison: dict[str, Any] = {"bookings": bookings, "request_cost_ms": cost, "by_latency": {}}
    with simulator(bookings, logs) as sim_url:
        for latency in latencies_ms:
            spec = f"{cost},latency={latency:g}"
            at: dict[str, Any] = {"request_cost_ms": spec}
            for name in ("naive", "qlosync"):
                shop = Shop(sim_url, pms)
                try:
                    with shop.gated_client() as client:
                        set_request_cost(sim_url, None)
                        shop.import_catalog(client)
                        set_request_cost(sim_url, spec)
                        at[name] = naive_import(shop, client) if name == "naive" else full_import(shop, client)
                        at[name]["reservations"] = shop.count(shop.pms.reservations)
                        if name == "qlosync":
                            at["reconciliation"] = reconciliation(shop, client)
                finally:
                    shop.close()
                print(f"{latency:g} ms latency, {name}: {at[name]}", flush=True)
            at["speedup"] = round(at["naive"]["seconds"] / at["qlosync"]["seconds"], 1)
            at["reconciliation_speedup"] = round(at["naive"]["seconds"] / at["reconciliation"]["seconds"], 1)
            comparison["by_latency"][f"{latency:g}"] = at
            print(f"naive vs qlosync, {bookings} bookings at the real server's cost plus {latency:g} ms of latency: "
                  f"full pull {at['speedup']}x faster, nightly reconciliation {at['reconciliation_speedup']}x",
                  flush=True)
    return comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--naive", type=int, default=1000, help="bookings of the naive-vs-qlosync comparison (0: skip)")
    parser.add_argument("--request-cost-ms", default=REAL_COST, help="simulator request cost of the comparison")
    parser.add_argument("--latency-ms", default=LATENCIES_MS,
                        help="network latencies (ms, comma-separated) the comparison is run at, each on top of the cost")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle incremental cycle")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the full import into FILE")
    parser.add_argument("--logs", default=None, help="folder for the simulator logs (default: a temporary one)")
    parser.add_argument("--pms", choices=sorted(PMS_TABLES), default="builtin",
                        help="the PMS the bookings are imported into (default builtin)")
    args = parser.parse_args()
    import tempfile

    logs = Path(args.logs or tempfile.mkdtemp(prefix="qlosync-bench-pull-"))
    logs.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"bench": "pull", "pms": args.pms, "bookings": args.bookings, "page_size": args.page_size}

    if args.bookings:
        t0 = time.perf_counter()
        with simulator(args.bookings, logs) as sim_url:
            print(f"simulator (own process) {sim_url}: {args.bookings} bookings in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            shop = Shop(sim_url, args.pms)
            try:
                with shop.client(args.page_size) as client:
                    shop.import_catalog(client)
                    sim_before = sim_requests(sim_url)
                    with RssSampler() as sampler:
                        if args.profile:
                            import cProfile

                            profiler = cProfile.Profile()
                            full = profiler.runcall(full_import, shop, client, sampler)
                            profiler.dump_stats(args.profile)
                        else:
                            full = full_import(shop, client, sampler)
                    full["simulator_requests"] = sim_requests(sim_url) - sim_before
                    full["memory"] = sampler.summary()
                    full["pms_rows"] = shop.counts()
                    full["lines"] = full["pms_rows"]["lines"]
                    out["full"] = full
                    print(f"full import into the {args.pms} PMS: {full['bookings']} bookings ({full['lines']} lines; "
                          f"{', '.join(f'{k} {v}' for k, v in full['pms_rows'].items())}), {full['failed']} failed, "
                          f"{full['seconds']} s = {full['bookings_per_s']} bookings/s, {full['requests']} requests = "
                          f"{full['requests_per_booking']} per booking; RSS {full['memory']['start_rss_mb']} MB at start, "
                          f"peak {full['memory']['peak_rss_mb']} MB, growth after the first 10 % "
                          f"{full['memory']['growth_after_first_10pct_mb']} MB", flush=True)
                    if not args.no_idle:
                        idle = idle_cycle(shop, client)
                        out["idle"] = idle
                        print(f"idle incremental cycle: {idle['status']} ({idle['kind']}), {idle['requests']} requests, "
                              f"{idle['writes']} sync tables written {idle['tables_written'] or ''}, {idle['ms']} ms",
                              flush=True)
                        nightly = reconciliation(shop, client)
                        out["reconciliation"] = nightly
                        print(f"nightly full reconciliation, nothing changed: {nightly['bookings']} bookings read, "
                              f"{nightly['requests']} requests, {nightly['seconds']} s, tables written "
                              f"{nightly['tables_written'] or 'none'}", flush=True)
            finally:
                shop.close()

    if args.naive:
        out["naive"] = compare_with_naive(args.naive, args.request_cost_ms,
                                          [float(v) for v in args.latency_ms.split(",") if v.strip()], args.pms, logs)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
