"""Benchmark: what an incremental pull that finds nothing new costs, as a worker runs it.

    .venv/bin/python bench/idle.py [--bookings 1000] [--pulls 40] [--pms builtin|hotelmanangement]

Set-up as bench/pull.py's (the simulator as its own process, a throwaway database, the shop's catalog
imported), then one full pull of --bookings bookings. Then --pulls scheduled pulls, one after another, each
through ``jobs.pull`` exactly as the ``pull_bookings`` actor calls it (the shop loaded from its encrypted
configuration, a client behind the shop's gate, a slot claimed), with nothing changed in QloApps meanwhile.
The newest order is always inside the cursor's overlap, so each pull re-reads one short page, as an idle
pull of a real shop does.

Per pull (medians over the pulls, but CPU):

* **transactions**: PostgreSQL transactions begun by the worker's engine (SQLAlchemy ``begin`` events: the
  run's own, the gate's per request, the shop lock's connection);
* **requests**: QloApps requests (the simulator's counters);
* **ms**: wall time of ``jobs.pull``;
* **cpu_ms**: CPU time of this process (the worker side: nothing else runs in it meanwhile) plus that of
  the PostgreSQL backends serving its connections (utime + stime from /proc/<pid>/stat), over all the
  pulls divided by their number (one pull's is below the 10 ms tick of those counters).

Prints a summary and, last, one JSON line (``{"bench": "idle", ...}``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pull import Shop, full_import, sim_requests, simulator  # bench/pull.py (bench/ is the script's folder)
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qlosync.runtime.context import Runtime  # noqa: E402
from qlosync.settings import Settings  # noqa: E402
from qlosync.sync.inbound import jobs  # noqa: E402

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def backend_cpu_s(shop: Shop) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the shop's database."""
    with shop.admin.connect() as c:
        pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": shop.name}).scalars().all()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the backend ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS_PER_S


def idle_pulls(shop: Shop, pulls: int) -> dict[str, Any]:
    settings = Settings.from_env().with_(database_url=shop.url, secret_key=shop.secret_key, pms=shop.pms_name)
    runtime = Runtime(settings=settings, engine=shop.engine, session_factory=shop.sessions)
    begun = [0]
    event.listen(shop.engine, "begin", lambda _conn: begun.__setitem__(0, begun[0] + 1))

    def one_pull(number: int) -> dict[str, float]:
        slot = datetime.now(UTC).replace(microsecond=0) + timedelta(milliseconds=number)
        transactions, requests_before, started = begun[0], sim_requests(shop.sim_url), time.perf_counter()
        report = jobs.pull(runtime, shop.shop.name, kind="incremental", trigger="schedule", slot_at=slot.isoformat(),
                           retry_booking=lambda _id: None)
        elapsed = time.perf_counter() - started
        assert report is not None and report.status == "succeeded", report
        assert report.counts["created"] == report.counts["updated"] == 0, report.counts
        return {"transactions": begun[0] - transactions, "requests": sim_requests(shop.sim_url) - requests_before,
                "ms": elapsed * 1000, "seen": report.counts["seen"]}

    one_pull(0)  # warms the pools and the gate's rows up
    per_pull: list[dict[str, float]] = []
    # CPU over all the pulls (a tick is 10 ms: one pull's is below it), less the simulator's counters read
    # between them (two requests a pull, measured apart below).
    cpu, pg_cpu = time.process_time(), backend_cpu_s(shop)
    for number in range(1, pulls + 1):
        per_pull.append(one_pull(number))
    worker_cpu, pg = time.process_time() - cpu, backend_cpu_s(shop) - pg_cpu
    counters = time.process_time()
    for _ in range(pulls):
        sim_requests(shop.sim_url), sim_requests(shop.sim_url)
    worker_cpu -= time.process_time() - counters
    result: dict[str, Any] = {key: round(statistics.median(p[key] for p in per_pull), 2) for key in per_pull[0]}
    return result | {"pulls": pulls, "worker_cpu_ms": round(worker_cpu * 1000 / pulls, 2),
                     "pg_cpu_ms": round(pg * 1000 / pulls, 2), "cpu_ms": round((worker_cpu + pg) * 1000 / pulls, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--pulls", type=int, default=40)
    parser.add_argument("--pms", choices=("builtin", "hotelmanangement"), default="builtin")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="qlosync-bench-idle-"))
    with simulator(args.bookings, logs) as sim_url:
        shop = Shop(sim_url, args.pms)
        try:
            with shop.client() as client:
                shop.import_catalog(client)
                full_import(shop, client)
            result = idle_pulls(shop, args.pulls)
        finally:
            shop.close()
    print(f"idle incremental pull ({args.pms}, median of {args.pulls}): {result['transactions']:g} PostgreSQL "
          f"transactions, {result['requests']:g} QloApps requests, {result['ms']} ms, CPU {result['cpu_ms']} ms "
          f"(worker {result['worker_cpu_ms']}, PostgreSQL {result['pg_cpu_ms']})", flush=True)
    print(json.dumps({"bench": "idle", "pms": args.pms, "bookings": args.bookings, **result}, sort_keys=True))


if __name__ == "__main__":
    main()
