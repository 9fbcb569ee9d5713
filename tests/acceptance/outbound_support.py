"""Helpers for the outbound process tests: a `dramatiq qlosync.actors` worker and a `qlosync relay` as
subprocesses, and the comparisons between the PMS (plain SQL) and the simulator's store.

The comparison helpers only read (the simulator's store under its lock); the tests make PMS changes with
plain SQL, as a host PMS would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from qlosync.pms import open_pms
from qlosync.pms.port import PmsId, PmsState
from tests.outbound_fixtures import stay, unsent_changes
from tests.pms_desk import Booking, desk_for
from tests.runtime_support import queue_counts, wait_until
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
WORKER_CMD = [str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"]
OUTBOUND_QUEUE = "qloapps.outbound"


def process_env(database_url: str, amqp_url: str, secret_key: str, *, read_timeout_s: float = 2.0,
                **extra: str) -> dict[str, str]:
    """The environment of every subprocess: this machine's, minus any QLOSYNC_/QLOAPPS_ setting, plus ours.

    QLOSYNC_PMS is kept: a test parametrized by ``pms_kind`` has it in os.environ (tests/conftest.py), and its
    processes must drive the adapter under test."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        **({"QLOSYNC_PMS": os.environ["QLOSYNC_PMS"]} if "QLOSYNC_PMS" in os.environ else {}),
        "DATABASE_URL": database_url, "RABBITMQ_URL": amqp_url, "QLOSYNC_SECRET_KEY": secret_key,
        # The push's settle window is 2 * read timeout + 5 s: 9 s with 2 s.
        "QLOAPPS_HTTP_READ_TIMEOUT_S": f"{read_timeout_s:g}",
        # A shop's breaker pauses 2 s (doubling up to 60 s), not 60 s: recoveries are awaited within a test.
        "QLOSYNC_BREAKER_OPEN_S": "2",
        **extra,
    }


@dataclass
class OutboundProcesses:
    """One worker (replaceable) and one relay, logging into *logs*; `stop()` ends whatever is still running."""

    env: dict[str, str]
    logs: Path
    engine: Engine
    relay_args: tuple[str, ...] = ()
    worker: subprocess.Popen[bytes] | None = None
    relay: subprocess.Popen[bytes] | None = None
    _all: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = self.logs / f"worker-{sum(1 for p in self.logs.glob('worker-*.log')) + 1}.log"
        self.worker = start_process(WORKER_CMD, self.env, log)
        self._all.append(self.worker)
        wait_until(self._worker_consuming, timeout=30, interval=0.1, what=f"a worker consuming {OUTBOUND_QUEUE}")
        return self.worker

    def start_relay(self) -> subprocess.Popen[bytes]:
        self.relay = start_process([str(BIN / "qlosync"), "relay", *self.relay_args], self.env, self.logs / "relay.log")
        self._all.append(self.relay)
        wait_until(self._relay_listening, timeout=30, interval=0.05, what="the relay to LISTEN on the change feed")
        return self.relay

    def kill_worker(self) -> None:
        """SIGKILL the worker's whole process group (master and worker process), like a crash."""
        assert self.worker is not None and self.worker.poll() is None, self.log("worker-1.log")
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)
        # RabbitMQ drops the consumer (and requeues what it held unacked) once it sees the connection close.
        wait_until(lambda: queue_counts(self.env["RABBITMQ_URL"], OUTBOUND_QUEUE)[1] == 0, timeout=10, interval=0.05,
                   what="the killed worker's consumer to go away")

    def stop(self) -> None:
        for process in reversed(self._all):
            stop_process(process)

    def log(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.logs.glob("*.log")))

    def _worker_consuming(self) -> bool:
        assert self.worker is not None
        if self.worker.poll() is not None:
            raise AssertionError(f"the worker exited with {self.worker.returncode}:\n{self.all_logs()}")
        counts = queue_counts(self.env["RABBITMQ_URL"], OUTBOUND_QUEUE)
        return counts is not None and counts[1] > 0

    def _relay_listening(self) -> bool:
        assert self.relay is not None
        if self.relay.poll() is not None:
            raise AssertionError(f"the relay exited with {self.relay.returncode}:\n{self.all_logs()}")
        database = make_url(self.env["DATABASE_URL"]).database
        return listening(self.engine, database) > 0


def listening(engine: Engine, database: str | None) -> int:
    """How many sessions LISTEN on the PMS change feed's channel (the relays waiting for a change)."""
    with Session(engine) as session:
        channel = open_pms(session).changes.channel
    with engine.connect() as connection:
        return int(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND query = :q"),
            {"db": database, "q": f"LISTEN {channel}"}) or 0)


# -- the PMS side -----------------------------------------------------------------------------------------------


def mapping_of(engine: Engine, reservation_id: int) -> Any:
    """(id, qloapps_order_id, push_token, push_error, pms_hash) of a reservation's mapping, or None."""
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT id, qloapps_order_id, push_token, push_error, pms_hash FROM qloapps_reservation_mappings "
            "WHERE pms_reservation_id = :r"), {"r": reservation_id}).one_or_none()


def pms_reservation(engine: Engine, reservation_id: PmsId) -> PmsState | None:
    """The reservation as its PMS hotel has it now, read through the port (None: not there)."""
    with Session(engine) as session:
        pms = open_pms(session)
        hotel = pms.hotels_of_reservations([str(reservation_id)]).get(str(reservation_id))
        return None if hotel is None else pms.hotel(hotel).reservation_states([str(reservation_id)]).get(
            str(reservation_id))


def pms_lines(engine: Engine, config_id: int, reservation_id: PmsId) -> list[tuple[int, str, str, int]]:
    """The reservation's lines as QloApps should show them: (QloApps room type, from, to, adults), sorted."""
    state = pms_reservation(engine, reservation_id)
    if state is None:
        return []
    with engine.connect() as connection:
        types = {pms: qlo for pms, qlo in connection.execute(text(
            "SELECT pms_room_type_id, qloapps_room_type_id FROM qloapps_room_type_mappings WHERE config_id = :c"),
            {"c": config_id})}
    return sorted((int(types[line.room_type_id]), line.checkin.isoformat(), line.checkout.isoformat(),
                   int(line.adults)) for line in state.lines if line.room_type_id in types)


def pms_status(engine: Engine, reservation_id: PmsId) -> str | None:
    state = pms_reservation(engine, reservation_id)
    return None if state is None else state.status


def settle_capture(engine: Engine) -> int:
    """Mark every change the capture holds so far as sent (how many): what setting the catalog up left (the
    hotelmanangement PMS captures the availability of each room the import adds), so that what a relay then
    sends, and counts in its log, is what the test changed. The built-in PMS holds none."""
    with Session(engine) as session, session.begin():
        feed = open_pms(session).changes
        rows = [row for change in feed.claim(100_000) for row in change.row_ids]
        feed.mark_published(rows)
    return len(rows)


def reservation_messages_sent(procs: OutboundProcesses) -> int:
    """How many messages the relay sent for reservations, read off its closing line ("outbox relay stopped: N
    messages for M rows") less the availability pushes the worker logged: a PMS may queue the availability of
    the nights a reservation takes beside its change (the hotelmanangement PMS's capture does)."""
    found = re.search(r"outbox relay stopped: (\d+) messages for \d+ rows, 0 errors", procs.log("relay.log"))
    assert found is not None, procs.all_logs()
    availability = sum(procs.log(log.name).count("Availability of QloApps room type")
                       for log in procs.logs.glob("worker-*.log"))
    return int(found.group(1)) - availability


def all_changes_published(engine: Engine) -> bool:
    """The PMS's change capture has nothing left for the relay (the port's backlog)."""
    return unsent_changes(engine) == 0


def dead_letters(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT actor_name, queue_name, args, reason, error_class, error_message, retries, status "
            "FROM qloapps_dead_letters ORDER BY id")))


def sync_actions(engine: Engine, reservation_id: int) -> list[str]:
    """The push actions the sync log recorded for a reservation, oldest first (pushed_created, ...)."""
    with engine.connect() as connection:
        return list(connection.scalars(text(
            "SELECT action FROM qloapps_sync_logs WHERE details ->> 'pms_reservation_id' = :r ORDER BY id"),
            {"r": str(reservation_id)}))


# -- the simulator side -----------------------------------------------------------------------------------------


def orders_with_token(simulator: Any, token: str) -> list[int]:
    """Ids of the simulator's orders whose source carries *token*."""
    with simulator.store.lock:
        return sorted(i for i, o in simulator.store.table("orders").items() if token in str(o.get("source") or ""))


def order_state(simulator: Any, order_id: int) -> int:
    with simulator.store.lock:
        return int(simulator.store.table("orders")[order_id]["current_state"])


def order_customer(simulator: Any, order_id: int) -> tuple[str, str, str]:
    """(first name, last name, e-mail) of the order's customer."""
    with simulator.store.lock:
        customer = simulator.store.table("customers")[simulator.store.table("orders")[order_id]["id_customer"]]
        return str(customer["firstname"]), str(customer["lastname"]), str(customer["email"])


def qlo_lines(simulator: Any, order_id: int) -> list[tuple[int, str, str, int]]:
    """The order's room lines in the simulator: (room type, from, to, adults), sorted."""
    return sorted((rt, f, t, a) for rt, f, t, a, _ in _qlo_rows(simulator, order_id))


def qlo_cancelled_flags(simulator: Any, order_id: int) -> list[int]:
    return [c for *_, c in _qlo_rows(simulator, order_id)]


def _qlo_rows(simulator: Any, order_id: int) -> Iterator[tuple[int, str, str, int, int]]:
    with simulator.store.lock:
        rows = [dict(r) for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id]
    for r in rows:
        yield int(r["id_product"]), str(r["date_from"])[:10], str(r["date_to"])[:10], int(r["adults"]), \
            int(r["is_cancelled"])


def posts(simulator: Any) -> int:
    """How many booking creates the simulator received."""
    return simulator.request_counts["POST /api/bookings"]


def sql_burst(engine: Engine, room_types: list[PmsId], first: int, count: int, *,
              days_ahead: int = 400) -> list[PmsId]:
    """Reservations first..first+count-1 in one transaction, at the PMS's front desk: one night each, 20 a night
    over the four room types (5 rooms each), from *days_ahead* on: after the simulator's generated bookings."""
    bookings = [Booking(room_type_id=room_types[i % 4], checkin=stay(days_ahead + i // 20, nights=1)[0],
                        checkout=stay(days_ahead + i // 20, nights=1)[1], first="Guest",
                        last="N" + "".join(chr(97 + int(d)) for d in str(i)), email=f"guest{i}@example.com")
                for i in range(first, first + count)]
    return desk_for(engine).batch(bookings)
