"""When an enabled shop's sync is overdue: the one rule behind the shop list's ``overdue`` state, the
``qlosync status`` verdict and the admin API (docs/shops.md, "Attention order")."""

from __future__ import annotations

#: Overdue once the last successful sync is older than this many sync intervals (QLOAPPS_SYNC_INTERVAL_MS):
#: two missed pulls in a row are tolerated, a third is not ...
OVERDUE_INTERVALS = 3
#: ... plus this much: periodiq ticks once a minute, and a pull takes time to finish.
OVERDUE_GRACE_S = 60


def overdue_after_s(sync_interval_ms: int) -> float:
    """How old a shop's last successful sync may get before it is overdue."""
    return OVERDUE_INTERVALS * sync_interval_ms / 1000 + OVERDUE_GRACE_S


def is_overdue(seconds_since_sync: float | None, configured_seconds_ago: float, sync_interval_ms: int) -> bool:
    """A shop that never synced is measured from when it was configured: a new one gets its first pulls' time."""
    age = configured_seconds_ago if seconds_since_sync is None else seconds_since_sync
    return age > overdue_after_s(sync_interval_ms)
