"""Benchmark: the PMS side of a full import, built-in PMS against the hotelmanangement adapter.

    .venv/bin/python bench/pms_writers.py [--bookings 10000] [--page-size 100] [--repeat 3]

What inbound sync asks of a PMS for each page of bookings, through the port and nothing else (no QloApps, no
qlosync mappings): find the page's guests by e-mail and phone, save the new ones, and write the page's
reservations (two lines each on average, as the simulator's bookings: half of them one room, half two rooms
of two room types, so two PMS reservations in the hotelmanangement PMS); one transaction per page. Then the
same bookings again with one line's dates moved (an overwrite of every booking). Both adapters run in one
throwaway database (the hotelmanangement test double loaded into ``public``, then qlosync's migrations, which
make the built-in PMS's tables), next to DATABASE_URL's (default: the local test PostgreSQL).

Prints the median seconds of each phase per adapter, their ratio, and one JSON line (``{"bench":
"pms_writers", ...}``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qlosync.crypto import generate_secret_key  # noqa: E402
from qlosync.db import migrate  # noqa: E402
from qlosync.db.session import make_engine, make_sessionmaker, transaction  # noqa: E402
from qlosync.pms.builtin.adapter import BuiltinPms  # noqa: E402
from qlosync.pms.hotelmanangement.adapter import HmsPms  # noqa: E402
from qlosync.pms.port import Guest, HotelPms, LineWrite, NewRoomType, PmsState, ReservationWrite  # noqa: E402
from qlosync.secrets import Secret  # noqa: E402
from qlosync.settings import Settings  # noqa: E402
from tests.hms.double import load_double  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ADAPTERS: dict[str, Callable[..., object]] = {"builtin": BuiltinPms, "hotelmanangement": HmsPms}


def _lines(i: int, room_types: list[str], shift: int) -> tuple[LineWrite, ...]:
    start = date(2031, 1, 1) + timedelta(days=i % 300 + shift)
    count = 1 + i % 2
    return tuple(LineWrite(None, room_types[k % 2], None, start, start + timedelta(days=2 + k), 2, 0, (),
                           Decimal("100.00"), Decimal("10.00")) for k in range(count))


def _write(state: PmsState | None, guest_id: str, lines: tuple[LineWrite, ...]) -> ReservationWrite:
    if state is not None:  # overwrite: the lines keep their ids (a state lists them in its write's order)
        lines = tuple(replace(new, id=old.id) for old, new in zip(state.lines, lines, strict=True))
    return ReservationWrite(state.reservation_id if state else None, guest_id, "confirmed", "webservice", "EUR",
                            sum((ln.price_without_tax for ln in lines), Decimal("0")),
                            sum((ln.tax for ln in lines), Decimal("0")), Decimal("0"),
                            datetime(2031, 1, 1, tzinfo=UTC), "QloApps order", lines)


def run(url: str, adapter: str, bookings: int, page_size: int) -> dict[str, float]:
    engine = make_engine(Settings(database_url=url, secret_key=Secret(generate_secret_key())))
    sessions = make_sessionmaker(engine)
    open_pms = ADAPTERS[adapter]
    with transaction(sessions) as session:
        pms = open_pms(session)
        hotel_id = pms.hotels()[0].id  # type: ignore[attr-defined]
        hotel: HotelPms = pms.hotel(hotel_id)  # type: ignore[attr-defined]
        tag = uuid.uuid4().hex[:6]
        room_types = [hotel.create_room_type(NewRoomType(f"{code}{tag}", code, Decimal("100"), 2, 0)).id
                      for code in ("DBL", "STE")]
    states: list[PmsState] = []
    times: dict[str, float] = {}
    for phase, shift in (("create", 0), ("overwrite", 1)):
        started = time.perf_counter()
        for first in range(0, bookings, page_size):
            page = range(first, min(first + page_size, bookings))
            with transaction(sessions) as session:
                hotel = open_pms(session).hotel(hotel_id)  # type: ignore[attr-defined]
                emails = [f"guest{i}.{tag}@example.com" for i in page]
                found = {g.email: g for g in hotel.guests_matching([], emails, [f"+1555{i:07d}" for i in page])}
                new = [Guest(None, "Ann", f"Lee {i}", e, f"+1555{i:07d}") for i, e in zip(page, emails) if e not in found]
                hotel.save_guests(new)
                found.update({g.email: g for g in new})
                writes = [_write(states[i] if phase == "overwrite" else None, str(found[e].id),
                                 _lines(i, room_types, shift)) for i, e in zip(page, emails)]
                written = hotel.write_reservations(writes)
                if phase == "create":
                    states.extend(written)
                else:
                    states[first:first + len(written)] = written
        times[phase] = time.perf_counter() - started
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=10000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    admin_url = make_url(os.environ.get("DATABASE_URL", DEFAULT_URL)).set(database="postgres")
    name = f"qlosync_bench_pms_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        load_double(url).dispose()
        migrate.upgrade(url)
        results: dict[str, dict[str, list[float]]] = {a: {"create": [], "overwrite": []} for a in ADAPTERS}
        for _ in range(args.repeat):
            for adapter in ADAPTERS:  # alternated, so that a busy moment of the machine hits both
                for phase, seconds in run(url, adapter, args.bookings, args.page_size).items():
                    results[adapter][phase].append(seconds)
        medians = {a: {p: statistics.median(v) for p, v in phases.items()} for a, phases in results.items()}
        for adapter, phases in medians.items():
            print(f"{adapter:>17}: " + ", ".join(f"{p} {s:.2f} s" for p, s in phases.items()))
        ratio = {p: medians["hotelmanangement"][p] / medians["builtin"][p] for p in ("create", "overwrite")}
        print("hotelmanangement / builtin: " + ", ".join(f"{p} {r:.2f}" for p, r in ratio.items()))
        print(json.dumps({"bench": "pms_writers", "bookings": args.bookings, "runs": results, "median": medians,
                          "ratio": ratio}))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
