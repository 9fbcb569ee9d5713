"""Turn periodiq's minute ticks into pull slots of any interval >= 1 s, plus the nightly full slot.

A shop's slots are the instants ``epoch + offset + k * interval`` (UTC), where the offset is derived from
the shop's name (:func:`slot_offset_ms`): stable, the same in every process, and different from shop to
shop, so 1,000 shops at a 5-minute interval start about 3 pulls a second instead of 1,000 at once. Each
slot is claimed once in PostgreSQL by the pull that runs it. The nightly full reconciliation is one more
slot a day, ``QLOSYNC_FULL_SYNC_AT`` UTC plus the shop's offset inside :data:`NIGHTLY_SPREAD`, claimed the
same way (the unique ``(config_id, slot_at)``); an incremental slot at the same instant is replaced by it,
as the two could not both be claimed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from qlosync.states import RunKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The nightly full reconciliations of all shops start within this window after QLOSYNC_FULL_SYNC_AT.
NIGHTLY_SPREAD = timedelta(hours=1)


def slot_offset_ms(shop: str, period_ms: int) -> int:
    """Where in each period the shop's slots fall: a stable hash of its name, whole milliseconds."""
    digest = hashlib.blake2b(shop.encode(), digest_size=8, person=b"qlosync-slot").digest()
    return int.from_bytes(digest, "big") % period_ms


def slots_in_minute(minute: datetime, interval_ms: int, now: datetime, offset_ms: int = 0) -> list[tuple[datetime, int]]:
    """(slot, delay in ms from *now*) for every slot in the minute starting at *minute*.

    Slots already in the past collapse into the latest of them, sent at once: a tick that runs late
    gives one catch-up pull, not a burst.
    """
    start = minute.astimezone(UTC).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    interval = timedelta(milliseconds=interval_ms)
    origin = EPOCH + timedelta(milliseconds=offset_ms % interval_ms)
    steps = -((start - origin) // -interval)  # ceil: the first slot at or after the minute's start
    slot = origin + steps * interval
    due: list[tuple[datetime, int]] = []
    latest_past: datetime | None = None
    while slot < end:
        if slot <= now:
            latest_past = slot
        else:
            # Rounded up: a pull must never start before its slot.
            due.append((slot, -((slot - now) // -timedelta(milliseconds=1))))
        slot += interval
    if latest_past is not None:
        due.insert(0, (latest_past, 0))
    return due


class PullSlot(NamedTuple):
    """One pull the tick enqueues: its slot, the delay from now in ms, and its kind."""

    slot: datetime
    delay_ms: int
    kind: RunKind  # incremental every interval; full for the nightly reconciliation


def nightly_slot(minute: datetime, at: time | None, offset_ms: int = 0) -> datetime | None:
    """The nightly full reconciliation's slot (*at* UTC plus *offset_ms*) when it falls in the minute starting
    at *minute* (an offset may carry it past midnight)."""
    if at is None:
        return None
    start = minute.astimezone(UTC).replace(second=0, microsecond=0)
    for day in (start.date() - timedelta(days=1), start.date()):
        slot = datetime.combine(day, at.replace(tzinfo=None), tzinfo=UTC) + timedelta(milliseconds=offset_ms)
        if start <= slot < start + timedelta(minutes=1):
            return slot
    return None


def nightly_offset(shop: str) -> timedelta:
    """How long after QLOSYNC_FULL_SYNC_AT the shop's nightly full reconciliation starts (whole seconds)."""
    return timedelta(seconds=slot_offset_ms(shop, int(NIGHTLY_SPREAD.total_seconds())))


def shop_slots(shop: str, minute: datetime, interval_ms: int, now: datetime, nightly_at: time | None) -> list[PullSlot]:
    """:func:`pull_slots` at the shop's own offsets (its incremental slots and its nightly slot)."""
    return pull_slots(minute, interval_ms, now, nightly_at, offset_ms=slot_offset_ms(shop, interval_ms),
                      nightly_offset_ms=int(nightly_offset(shop).total_seconds() * 1000))


def pull_slots(minute: datetime, interval_ms: int, now: datetime, nightly_at: time | None, *,
               offset_ms: int = 0, nightly_offset_ms: int = 0) -> list[PullSlot]:
    """Every pull to enqueue for the minute starting at *minute*: its incremental slots and, once a day, the
    nightly full one.

    The nightly slot is never collapsed away (its instant is fixed, so two schedulers claim the same one).
    It replaces an incremental slot at the same instant, and when it is already due (the tick runs after its
    instant) it also replaces the catch-up incremental slot, which would only compete with it for the shop's
    pull lock.
    """
    incremental = [PullSlot(slot, delay, RunKind.INCREMENTAL)
                   for slot, delay in slots_in_minute(minute, interval_ms, now, offset_ms)]
    nightly = nightly_slot(minute, nightly_at, nightly_offset_ms)
    if nightly is None:
        return incremental
    due = nightly <= now
    full = PullSlot(nightly, 0 if due else -((nightly - now) // -timedelta(milliseconds=1)), RunKind.FULL)
    kept = [p for p in incremental if p.slot != nightly and not (due and p.delay_ms == 0)]
    return sorted([full, *kept], key=lambda p: (p.slot, p.kind != RunKind.FULL))
