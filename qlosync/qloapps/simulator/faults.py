"""Fault injection: make chosen requests fail, hang or slow down, matched by method and path prefix."""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("http_500", "timeout", "unauthorized", "latency", "fatal_html", "error_after_commit", "hold")


@dataclass
class Fault:
    """One armed fault; count None means until cleared."""

    kind: str
    count: int | None = 1
    method: str | None = None
    path: str | None = None
    delay_s: float | None = None

    def matches(self, method: str, path: str) -> bool:
        """True when the request's method and path fit this fault."""
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or path.startswith(self.path)


class FaultInjector:
    """Thread-safe list of armed faults plus the gate that "hold" faults wait on."""

    def __init__(self, stopping: threading.Event) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._gate = threading.Event()
        self._stopping = stopping
        self.held = 0  # requests currently blocked by "hold"

    def add(self, kind: str, count: int | None = 1, method: str | None = None, path: str | None = None,
            delay_s: float | None = None) -> Fault:
        """Arm a fault (see KINDS)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        fault = Fault(kind, count, method, path, delay_s)
        with self._lock:
            self._faults.append(fault)
            if kind == "hold":
                self._gate.clear()
        return fault

    def clear(self) -> None:
        """Disarm every fault (held requests stay held until release())."""
        with self._lock:
            self._faults.clear()

    def release(self) -> None:
        """Let every request blocked by a "hold" fault continue."""
        self._gate.set()

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the server stops."""
        self._stopping.wait(seconds)

    def hold(self) -> None:
        """Block until release() or server stop."""
        with self._lock:
            self.held += 1
        try:
            while not self._gate.is_set() and not self._stopping.is_set():
                self._gate.wait(0.05)
        finally:
            with self._lock:
                self.held -= 1

    @property
    def armed(self) -> list[Fault]:
        """Snapshot of the armed faults."""
        with self._lock:
            return list(self._faults)
