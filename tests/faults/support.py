"""Shared pieces of the fault tests: a fleet of real processes, and the one agreement checker.

``assert_in_agreement`` is what every scenario ends with: the PMS and the simulator agree booking by
booking (nothing lost, nothing duplicated), no message is stuck anywhere, and the dead letters are exactly
the expected ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.sync.push_token import token_in
from tests.acceptance.outbound_support import pms_lines, process_env, qlo_lines, sql_burst  # noqa: F401
from tests.integration.sync_helpers import actual_booking, expected_booking
from tests.outbound_fixtures import unsent_changes
from tests.pms_desk import desk_for
from tests.runtime_support import wait_until
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
INBOUND, OUTBOUND, SCHEDULE, DLQ = "qloapps.inbound", "qloapps.outbound", "qloapps.schedule", "qloapps.dlq"


def worker_cmd(*queues: str, threads: int = 2) -> list[str]:
    """A worker on *queues* (all without), each one taking the scheduler's ticks too, as deployments run them."""
    cmd = [str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", str(threads)]
    return cmd + (["--queues", *queues, SCHEDULE] if queues else [])


RELAY_CMD = [str(BIN / "qlosync"), "relay", "--poll-interval", "1"]
SCHEDULER_CMD = [str(BIN / "periodiq"), "qlosync.schedule"]


@dataclass
class Fleet:
    """Named subprocesses (worker-1, relay, ...) with their logs in *logs*; ``stop_all`` ends what still runs."""

    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _all: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def build(cls, database_url: str, amqp_url: str, secret_key: str, logs: Path, **extra: str) -> Fleet:
        return cls(env=process_env(database_url, amqp_url, secret_key, **extra), logs=logs)

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        n = sum(1 for p in self.logs.glob(f"{name}*.log"))
        process = start_process(cmd, self.env, self.logs / f"{name}{'' if not n else f'.{n}'}.log")
        self.procs[name] = process
        self._all.append(process)
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process group (dramatiq's master and its worker process), like a crash."""
        process = self.procs.pop(name)
        assert process.poll() is None, f"{name} had already exited\n{self.all_logs()}"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def check_alive(self) -> None:
        for name, process in self.procs.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.all_logs()}")

    def stop_all(self) -> None:
        for process in reversed(self._all):
            stop_process(process)

    def all_logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in sorted(self.logs.glob("*.log")))

    def text(self, prefix: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{prefix}*.log")))


def consumers(rabbit: Any, vhost: str, queue: str) -> int:
    out = rabbit.ctl("list_queues", "-q", "--no-table-headers", "-p", vhost, "name", "consumers").stdout
    return sum(int(c) for name, c in (line.split("\t") for line in out.splitlines() if line.strip()) if name == queue)


def vhost_of(amqp_url: str) -> str:
    return amqp_url.rsplit("/", 1)[1]


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as c:
        return c.scalar(text(sql), params)


# -- the agreement checker --------------------------------------------------------------------------------------


def disagreements(engine: Engine, session_factory: sessionmaker[Session], simulator: Any, config_id: int,
                  *, excluded_orders: Iterable[int] = (), excluded_reservations: Iterable[int] = ()) -> list[str]:
    """Every way the PMS and the simulator disagree, booking by booking (empty when they agree)."""
    # PMS ids are text in the mappings (issue 20): the PMS's keys are compared as text too.
    excluded_orders, excluded_reservations = set(excluded_orders), set(map(str, excluded_reservations))
    problems: list[str] = []
    with simulator.store.lock:
        orders = {int(i): dict(o) for i, o in simulator.store.table("orders").items()}
    with engine.connect() as c:
        mappings = c.execute(text(
            "SELECT id, qloapps_order_id, pms_reservation_id, origin, push_token, parked_reason, push_error "
            "FROM qloapps_reservation_mappings WHERE config_id = :c"), {"c": config_id}).all()
    reservations = desk_for(engine).reservation_ids()
    by_order = Counter(m.qloapps_order_id for m in mappings if m.qloapps_order_id is not None)
    by_reservation = Counter(m.pms_reservation_id for m in mappings if m.pms_reservation_id is not None)
    problems += [f"order {o} has {n} mappings" for o, n in by_order.items() if n > 1]
    problems += [f"reservation {r} has {n} mappings" for r, n in by_reservation.items() if n > 1]
    # No two QloApps orders carry the same push token (a create sent twice)
    tokens = Counter(t for t in (token_in(o.get("source")) for o in orders.values()) if t)
    problems += [f"push token {t} is on {n} orders" for t, n in tokens.items() if n > 1]
    mapped = {m.qloapps_order_id: m for m in mappings if m.qloapps_order_id is not None}
    # Every QloApps order is one PMS reservation, with the same content
    for order_id in sorted(set(orders) - excluded_orders):
        mapping = mapped.get(order_id)
        if mapping is None or mapping.pms_reservation_id is None:
            problems.append(f"order {order_id} has no PMS reservation (mapping {mapping})")
            continue
        if mapping.pms_reservation_id not in reservations:
            problems.append(f"order {order_id} maps to missing reservation {mapping.pms_reservation_id}")
            continue
        if mapping.origin == "qloapps":
            with transaction(session_factory) as session, simulator.store.lock:
                try:
                    actual = actual_booking(session, config_id, order_id)
                    expected = expected_booking(simulator, order_id, session)
                except NoResultFound as exc:
                    problems.append(f"order {order_id}: {exc}")
                    continue
            if actual != expected:
                problems.append(f"order {order_id} differs: PMS {actual} != QloApps {expected}")
        else:
            ours, theirs = pms_lines(engine, config_id, mapping.pms_reservation_id), qlo_lines(simulator, order_id)
            if ours != theirs:
                problems.append(f"reservation {mapping.pms_reservation_id} lines {ours} != order {order_id} {theirs}")
            if mapping.push_token and token_in(orders[order_id].get("source")) != mapping.push_token:
                problems.append(f"order {order_id} does not carry reservation {mapping.pms_reservation_id}'s token")
    # Every PMS reservation is one QloApps order
    reservation_orders = {m.pms_reservation_id: m.qloapps_order_id for m in mappings if m.pms_reservation_id}
    for reservation in sorted(reservations - excluded_reservations):
        order_id = reservation_orders.get(reservation)
        if order_id is None or order_id not in orders:
            problems.append(f"reservation {reservation} has no QloApps order ({order_id})")
    return problems


def stuck_messages(engine: Engine, rabbit: Any, amqp_url: str, *, dead_letters: int = 0,
                   delayed_ok: Iterable[str] = ()) -> list[str]:
    """Queued or unacked messages, unpublished outbox rows, and a DLQ holding other than *dead_letters*.
    Queues in *delayed_ok* are skipped (a running scheduler keeps the minute's future slots there)."""
    problems = []
    for queue, (ready, unacked) in rabbit.queues(vhost_of(amqp_url)).items():
        if queue in delayed_ok:
            continue
        expected = dead_letters if queue == DLQ else 0
        if (ready, unacked) != (expected, 0):
            problems.append(f"queue {queue}: {ready} ready, {unacked} unacked (expected {expected}, 0)")
    unpublished = unsent_changes(engine)
    if unpublished:
        problems.append(f"{unpublished} captured PMS changes not published")
    recorded = scalar(engine, "SELECT count(*) FROM qloapps_dead_letters WHERE status = 'dead'")
    if recorded != dead_letters:
        problems.append(f"{recorded} dead letters recorded (expected {dead_letters})")
    return problems


def assert_in_agreement(engine: Engine, session_factory: sessionmaker[Session], simulator: Any, config_id: int,
                        rabbit: Any, amqp_url: str, *, dead_letters: int = 0, excluded_orders: Iterable[int] = (),
                        excluded_reservations: Iterable[int] = (), logs: str = "", settle_s: float = 30,
                        delayed_ok: Iterable[str] = ()) -> None:
    """PMS and QloApps agree booking by booking and nothing is stuck; waits up to *settle_s* for in-flight
    work (a delayed retry, an outbox row being relayed) to finish, then fails with every disagreement."""
    excluded_orders, excluded_reservations = list(excluded_orders), list(excluded_reservations)
    delayed_ok = tuple(delayed_ok)
    last: list[str] = []

    def agreed() -> bool:
        last[:] = (stuck_messages(engine, rabbit, amqp_url, dead_letters=dead_letters, delayed_ok=delayed_ok)
                   + disagreements(engine, session_factory, simulator, config_id, excluded_orders=excluded_orders,
                                   excluded_reservations=excluded_reservations))
        return not last

    try:
        wait_until(agreed, timeout=settle_s, interval=0.5, what="the PMS and QloApps to agree with nothing stuck")
    except BaseException:
        shown = "\n".join(last[:30]) + (f"\n... and {len(last) - 30} more" if len(last) > 30 else "")
        raise AssertionError(f"{len(last)} disagreements:\n{shown}\n{logs}") from None
