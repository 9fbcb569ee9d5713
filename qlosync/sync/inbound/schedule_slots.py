"""Turn periodiq's minute ticks into pull slots of any interval >= 1 s.

Slots are the instants that are whole multiples of the interval since the Unix epoch (UTC), so every
process computes the same slots; each slot is claimed once in PostgreSQL by the pull that runs it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
