"""Turn periodiq's minute ticks into pull slots of any interval >= 1 s, plus the nightly full slot.

Slots are the instants that are whole multiples of the interval since the Unix epoch (UTC), so every
process computes the same slots; each slot is claimed once in PostgreSQL by the pull that runs it.
The nightly full reconciliation is one more slot, at ``QLOSYNC_FULL_SYNC_AT`` UTC every day, claimed
the same way (the unique ``(config_id, slot_at)``); an incremental slot at the same instant is replaced
by it, as the two could not both be claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slots_in_minute(minute: datetime, interval_ms: int, now: datetime) -> list[tuple[datetime, int]]:
    """(slot, delay in ms from *now*) for every slot in the minute starting at *minute*.

    Slots already in the past collapse into the latest of them, sent at once: a tick that runs late
    gives one catch-up pull, not a burst.
    """
    start = minute.astimezone(UTC).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    interval = timedelta(milliseconds=interval_ms)
    steps = -((start - EPOCH) // -interval)  # ceil: the first slot at or after the minute's start
    slot = EPOCH + steps * interval
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
    kind: str  # "incremental" every interval; "full" for the nightly reconciliation


def nightly_slot(minute: datetime, at: time | None) -> datetime | None:
    """The nightly full reconciliation's slot (*at* UTC) when it falls in the minute starting at *minute*."""
    if at is None:
        return None
    start = minute.astimezone(UTC).replace(second=0, microsecond=0)
    slot = datetime.combine(start.date(), at.replace(tzinfo=None), tzinfo=UTC)
    return slot if start <= slot < start + timedelta(minutes=1) else None


def pull_slots(minute: datetime, interval_ms: int, now: datetime, nightly_at: time | None) -> list[PullSlot]:
    """Every pull to enqueue for the minute starting at *minute*: its incremental slots and, once a day, the
    nightly full one.

    The nightly slot is never collapsed away (its instant is fixed, so two schedulers claim the same one).
    It replaces an incremental slot at the same instant, and when it is already due (the tick runs after its
    instant) it also replaces the catch-up incremental slot, which would only compete with it for the shop's
    pull lock.
    """
    incremental = [PullSlot(slot, delay, "incremental") for slot, delay in slots_in_minute(minute, interval_ms, now)]
    nightly = nightly_slot(minute, nightly_at)
    if nightly is None:
        return incremental
    due = nightly <= now
    full = PullSlot(nightly, 0 if due else -((nightly - now) // -timedelta(milliseconds=1)), "full")
    kept = [p for p in incremental if p.slot != nightly and not (due and p.delay_ms == 0)]
    return sorted([full, *kept], key=lambda p: (p.slot, p.kind != "full"))
