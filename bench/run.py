"""Run every benchmark and write docs/benchmarks.md (a table of metric / measured / target / met, plus JSON).

    .venv/bin/python bench/run.py [--runs 3] [--rss] [--quick] [--skip idle,push,ari] [--out docs/benchmarks.md]

Each benchmark runs as its own process (its last lines are JSON, read here):

* ``bench/pull.py --bookings 10000 --naive 1000``, ``--runs`` times (medians reported): full import of
  10,000 bookings (simulator in its own process), the idle incremental cycle after it, and the naive
  sync (one GET /api/bookings/{id} per booking) against qlosync's full pull and nightly reconciliation of
  the same 1,000 bookings, all at the real server's per-request cost (``REAL_SHOP_COST``) plus 0 and
  20 ms of network latency. About 5 minutes a run, most of it the naive sync.
* ``bench/idle.py --pulls 100`` once: scheduled pulls that find nothing new, as a worker runs them
  (PostgreSQL transactions, QloApps requests, CPU of the worker and of PostgreSQL). About a minute.
* ``--rss``: ``bench/pull.py --bookings 100000 --naive 0 --no-idle`` once: the importing process's RSS
  over 100,000 bookings (peak, and growth after the first tenth). About 4-6 minutes on 2 cores, most of it
  the simulator generating and answering 100,000 bookings; off unless asked.
* ``bench/push.py`` (60 s of PMS changes at 20/s through the real worker and relay processes) and
  ``bench/ari.py`` (a year of rates for 4 room types), once each. About 3 and 1 minutes.

``--quick``: one run of a 2,000-booking import and a 300-booking naive comparison, 30 idle pulls, push for
10 s, ARI over 60 nights, no RSS run (about 3 minutes; the targets stay those of the full sizes, so read the
quick table as a smoke test). The machine (cores, CPU model, memory), the date and the load average
before and after are written with the numbers: other work on the machine slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "cpu": model, "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_bench(script: str, args: list[str], timeout: float) -> tuple[list[dict[str, Any]], float, str]:
    """Run bench/<script> with *args*; return its JSON lines, the wall time and its output tail."""
    cmd = [PYTHON, str(ROOT / "bench" / script), *args]
    print(f"$ {' '.join(cmd[1:])}  (load {loadavg()})", flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    docs = []
    for line in done.stdout.splitlines():
        if line.startswith("{") and '"bench"' in line:
            docs.append(json.loads(line))
    for line in done.stdout.splitlines():
        if not line.startswith("{") and not line.startswith("|"):
            print(f"  {line}", flush=True)
    if done.returncode != 0 or not docs:
        print(f"  FAILED (exit {done.returncode}):\n{done.stderr[-3000:]}", flush=True)
    print(f"  ({elapsed:.0f} s)", flush=True)
    return docs, elapsed, done.stderr[-3000:] if done.returncode else ""


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the pull benchmark (medians reported)")
    parser.add_argument("--bookings", type=int, default=None, help="full-import size (default 10000, quick 2000)")
    parser.add_argument("--naive", type=int, default=None, help="naive-comparison size (default 1000, quick 300)")
    parser.add_argument("--rss", action="store_true", help="also import 100,000 bookings and follow the RSS")
    parser.add_argument("--rss-bookings", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run, short push/ARI, no RSS run")
    parser.add_argument("--skip", default="", help="comma-separated: idle, push, ari")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bookings = args.bookings or (2000 if args.quick else 10_000)
    naive = args.naive if args.naive is not None else (300 if args.quick else 1000)
    runs = 1 if args.quick else args.runs

    started_at = datetime.now(UTC)
    load_before = loadavg()
    results: dict[str, Any] = {"machine": machine(), "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
                               "quick": args.quick, "load_before": load_before}

    pulls = []
    for _ in range(runs):
        docs, _, _ = run_bench("pull.py", ["--bookings", str(bookings), "--naive", str(naive)], timeout=1800)
        pulls += [d for d in docs if d.get("bench") == "pull"]
    results["pull_runs"] = pulls
    idle_doc = None
    if "idle" not in skip:
        docs, _, _ = run_bench("idle.py", ["--pulls", "30" if args.quick else "100"], timeout=900)
        idle_doc = next((d for d in docs if d.get("bench") == "idle"), None)
        results["idle"] = idle_doc
    rss_doc = None
    if args.rss and not args.quick:
        docs, elapsed, _ = run_bench("pull.py", ["--bookings", str(args.rss_bookings), "--naive", "0", "--no-idle"],
                                     timeout=3600)
        rss_doc = next((d for d in docs if d.get("bench") == "pull"), None)
        results["rss_run"] = rss_doc
        results["rss_run_wall_s"] = round(elapsed)
    push_doc = ari_doc = None
    if "push" not in skip:
        docs, _, _ = run_bench("push.py", ["--seconds", "10", "--settle", "60"] if args.quick else [], timeout=1200)
        push_doc = next((d for d in docs if d.get("bench") == "push"), None)
        results["push"] = push_doc
    if "ari" not in skip:
        docs, _, _ = run_bench("ari.py", ["--nights", "60"] if args.quick else [], timeout=1200)
        ari_doc = next((d for d in docs if d.get("bench") == "ari"), None)
        results["ari"] = ari_doc
        results["ari_availability"] = next((d for d in docs if d.get("bench") == "ari-availability"), None)
    results["load_after"] = loadavg()

    rows = table(pulls, rss_doc, push_doc, ari_doc, bookings, naive, idle_doc)
    results["table"] = rows
    write_markdown(Path(args.out), results, rows, runs, bookings, naive, args)
    print(f"wrote {args.out}")
    for row in rows:
        print(f"  {row['metric']}: {row['measured']} (target {row['target']}): {row['met']}")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return f"{value}{unit}"


def table(pulls: list[dict[str, Any]], rss: dict[str, Any] | None, push: dict[str, Any] | None,
          ari: dict[str, Any] | None, bookings: int, naive: int,
          idle_pulls: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(metric: str, measured: Any, target: str, met: bool | None, unit: str = "") -> None:
        rows.append({"metric": metric, "measured": _fmt(measured, unit), "value": measured, "target": target,
                     "met": "n/a" if met is None else ("yes" if met else "**no**")})

    full = [p["full"] for p in pulls if "full" in p]
    n = len(full)
    rate = median([f["bookings_per_s"] for f in full])
    row(f"full import, {bookings:,} bookings: bookings/s end to end (median of {n})", rate, ">= 500",
        None if rate is None else rate >= 500)
    seconds = median([f["seconds"] for f in full])
    row(f"full import, {bookings:,} bookings: seconds (median of {n})", seconds, "", None, " s")
    per = median([f["requests_per_booking"] for f in full])
    row("full import: QloApps requests per booking", per, "<= 0.05", None if per is None else per <= 0.05)
    peak = median([f["memory"]["peak_rss_mb"] for f in full])
    row(f"full import, {bookings:,} bookings: peak RSS of the importing process", peak, "< 200 MB",
        None if peak is None else peak < 200, " MB")
    idle = [p["idle"] for p in pulls if "idle" in p]
    idle_req = max((i["requests"] for i in idle), default=None)
    row(f"idle incremental cycle: QloApps requests (worst of {len(idle)})", idle_req, "<= 2",
        None if idle_req is None else idle_req <= 2)
    idle_writes = max((i["writes"] for i in idle), default=None)
    row(f"idle incremental cycle: sync tables written (worst of {len(idle)})", idle_writes, "0",
        None if idle_writes is None else idle_writes == 0)
    nightly = [p["reconciliation"] for p in pulls if "reconciliation" in p]
    if nightly:
        row(f"nightly full reconciliation, {bookings:,} unchanged bookings: QloApps requests (median)",
            median([r["requests"] for r in nightly]), "", None)
        row(f"nightly full reconciliation, {bookings:,} unchanged bookings: seconds (median)",
            median([r["seconds"] for r in nightly]), "", None, " s")
    comps = [p["naive"] for p in pulls if "naive" in p]
    for latency, target in (("0", 15), ("20", 20)):
        at = [c["by_latency"][latency] for c in comps if latency in c.get("by_latency", {})]
        if not at:
            continue
        cost = f"real server's cost + {latency} ms latency"
        row(f"naive sync, {naive:,} bookings, {cost}: seconds (median)",
            median([a["naive"]["seconds"] for a in at]), "", None, " s")
        row(f"qlosync full pull, same bookings and cost: seconds (median)",
            median([a["qlosync"]["seconds"] for a in at]), "", None, " s")
        ratio = median([a["speedup"] for a in at])
        row(f"qlosync full pull vs naive, {cost}: speed-up (median of the per-run ratios)", ratio,
            f">= {target}x", None if ratio is None else ratio >= target, "x")
        nightly_ratio = median([a["reconciliation_speedup"] for a in at])
        row(f"nightly reconciliation (nothing changed) vs naive, {cost}: speed-up", nightly_ratio,
            f">= {target}x", None if nightly_ratio is None else nightly_ratio >= target, "x")
    if idle_pulls:
        row(f"idle scheduled pull (bench/idle.py, median of {idle_pulls['pulls']}): PostgreSQL transactions",
            idle_pulls["transactions"], "<= 3", idle_pulls["transactions"] <= 3)
        row("idle scheduled pull: QloApps requests", idle_pulls["requests"], "<= 1", idle_pulls["requests"] <= 1)
        row("idle scheduled pull: CPU ms (worker + PostgreSQL backends)", idle_pulls["cpu_ms"], "", None, " ms")
        row("idle scheduled pull: wall ms (median)", idle_pulls["ms"], "", None, " ms")
    if rss:
        f = rss["full"]
        mem = f["memory"]
        row(f"import of {rss['bookings']:,} bookings: bookings/s", f["bookings_per_s"], "", None)
        # Issue 22 item 2: flat cost as the work grows, against the full import's rate of this same run
        ratio = round(f["bookings_per_s"] / rate, 2) if rate and f.get("bookings_per_s") else None
        row(f"import of {rss['bookings']:,} vs {bookings:,} bookings: ratio of bookings/s (this run)", ratio,
            ">= 0.8", None if ratio is None else ratio >= 0.8)
        row(f"import of {rss['bookings']:,} bookings: peak RSS of the importing process", mem["peak_rss_mb"],
            "< 200 MB", mem["peak_rss_mb"] < 200, " MB")
        growth = mem["growth_after_first_10pct_mb"]
        row(f"import of {rss['bookings']:,} bookings: RSS growth from 10 % to 100 % of the bookings", growth,
            "flat (a few MB)", None if growth is None else growth < 20, " MB")
    if push:
        row("push: write latency p99 (bench/push.py)", push.get("write_p99_ms"), "< 2000 ms",
            push.get("write_p99_ms") is not None and push["write_p99_ms"] < 2000, " ms")
        row("push: lost / duplicated", f"{push.get('lost')} / {push.get('duplicated')}", "0 / 0",
            push.get("lost") == 0 and push.get("duplicated") == 0)
        per_change = push.get("requests_per_change")
        row("push: QloApps requests per change", per_change, "<= 3", None if per_change is None else per_change <= 3)
    if ari:
        seasons = ari.get("initial", {}).get("seasons", {})
        initial = next((r for r in ari.get("rows", []) if r["calendar"] == "seasons" and r["phase"] == "initial"), {})
        row(f"ARI: requests of the first push of {ari.get('nights')} nights x 4 room types (seasons)",
            initial.get("requests"), "tens, not one per night", ari.get("target_met"))
        row("ARI: requests per price change (seasons)", seasons.get("requests_per_price_change"), "", None)
    return rows


def write_markdown(path: Path, results: dict[str, Any], rows: list[dict[str, Any]], runs: int, bookings: int,
                   naive: int, args: argparse.Namespace) -> None:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run.py{' --quick' if args.quick else ''}{' --rss' if args.rss else ''}` on "
        f"{results['date']}. Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB memory, Python "
        f"{m['python']}, Linux {m['kernel']}. Load average before / after: {results['load_before']} / "
        f"{results['load_after']} (the machine is shared: other work slows every figure).",
        "",
        f"Pull: {runs} run(s) of `bench/pull.py --bookings {bookings} --naive {naive}`; the simulator runs as its "
        "own process (`qlosync simulator`), PostgreSQL on loopback. The full import and the idle cycle use the "
        "simulator without added cost (as fast as it answers); the naive comparison gives every request the real "
        "server's cost (`REAL_SHOP_COST`, a QloApps 1.6.1 on 2 cores, issue 22: a page of orders 170 ms, room "
        "lines 130 ms, customers 105 ms, one booking 47 ms, 2 server workers), at 0 and at 20 ms of network "
        "latency, each client behind the shop's gate (4 lanes, 25 requests/s) as in a worker. The idle pull is "
        "`bench/idle.py`: scheduled pulls through `jobs.pull` that find nothing new. RSS is the importing "
        "process's (`/proc/self/status`), sampled every 0.2 s and after every page. Absolute times are this "
        "machine's, whose speed varies from run to run; the claims are the ratios measured in one run.",
        "",
        "Run it again: `.venv/bin/python bench/run.py` (3 pull runs, idle pulls, push, ARI: about 20 minutes on "
        "this machine), "
        "`--rss` adds the 100,000-booking import (" + (f"{results['rss_run_wall_s'] / 60:.0f} minutes here, "
        if results.get("rss_run_wall_s") else "about 7 minutes, ") + "most of it the simulator generating and "
        "answering 100,000 bookings), `--quick` is a 3-minute smoke test with small sizes.",
        "",
        "| metric | measured | target | met? |",
        "|---|---:|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['metric']} | {r['measured']} | {r['target']} | {r['met']} |")
    lines += ["", "Many shops (1,000 shops on one deployment, one broken, one importing 10,000 bookings) are measured by "
              "`bench/shops.py`, a run of about 25 minutes: see [many-shops.md](many-shops.md#measured)."]
    kept = kept_by_hand(path)
    if kept:
        lines += ["", kept]
    lines += ["", "Raw results:", "", "```json", json.dumps(results, indent=1, sort_keys=True, default=str), "```", ""]
    path.write_text("\n".join(lines))


SIDE_BY_SIDE = "## Side-by-side checks"


def kept_by_hand(path: Path) -> str:
    """The page's side-by-side section (written by hand: before vs after a change, run alternately), which a
    new run keeps as it is, up to the raw results."""
    if not path.exists():
        return ""
    text = path.read_text()
    start = text.find(SIDE_BY_SIDE)
    if start < 0:
        return ""
    ends = [i for i in (text.find("\nMany shops (", start), text.find("\nRaw results:", start)) if i >= 0]
    return text[start:min(ends, default=len(text))].rstrip()


if __name__ == "__main__":
    main()
