"""A settable UTC clock with one-second resolution, like QloApps' DATETIME columns."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

FMT = "%Y-%m-%d %H:%M:%S"


def parse_datetime(value: str) -> datetime:
    """Parse "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" (midnight) into a naive UTC datetime."""
    value = value.strip()
    if len(value) in (10, 19) and value[4:5] == "-" and value[7:8] == "-":
        try:  # fast path for the two usual shapes
            return datetime.fromisoformat(value) if len(value) == 19 else datetime.fromisoformat(value + " 00:00:00")
        except ValueError:
            pass
    for fmt in (FMT, "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


class Clock:
    """Wall clock in UTC, truncated to whole seconds; can be frozen, advanced and released."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """Current simulated time (naive UTC, microseconds dropped)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            real = datetime.now(timezone.utc).replace(tzinfo=None) + self._offset
        return real.replace(microsecond=0)

    def now_str(self) -> str:
        """Current simulated time formatted like QloApps ("YYYY-MM-DD HH:MM:SS")."""
        return self.now().strftime(FMT)

    def today(self) -> str:
        """Current simulated date ("YYYY-MM-DD")."""
        return self.now().strftime("%Y-%m-%d")

    def freeze(self, at: str | datetime | None = None) -> None:
        """Stop the clock at `at` (default: now)."""
        if isinstance(at, str):
            at = parse_datetime(at)
        with self._lock:
            pass
        moment = (at or self.now()).replace(microsecond=0)
        with self._lock:
            self._frozen = moment

    def advance(self, seconds: float) -> None:
        """Move the clock forward (works frozen or running)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen = self._frozen + timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        """Return to real time (any advance() offset made while running is kept)."""
        with self._lock:
            self._frozen = None

    @property
    def frozen(self) -> bool:
        """True while the clock is frozen."""
        return self._frozen is not None
