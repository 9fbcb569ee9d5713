"""Fresh things a test needs (a database cloned from the template, a RabbitMQ vhost), made ahead of the tests
that take them and thrown away behind them by one background thread.

Cloning and dropping a database mostly wait for PostgreSQL (WAL flushes, the checkpoint DROP DATABASE asks
for), and a vhost waits for rabbitmqctl to boot an Erlang VM: seconds per test on a loaded machine that the
test itself need not spend. Each test still gets one of its own that nobody used before.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Makes go before throw-aways, so that a test waiting for a spare never waits behind the cleanup of others.
_MAKE, _THROW_AWAY, _STOP = 0, 1, 2


class Spares(Generic[T]):
    """Keeps *ahead* things made by *make* ready once the first is taken; *throw_away* runs behind the tests.

    *threads* background threads share the work: the waits of one overlap those of the other.
    """

    def __init__(self, make: Callable[[], T], throw_away: Callable[[T], None], *, ahead: int, name: str,
                 threads: int = 1) -> None:
        self._make = make
        self._throw_away = throw_away
        self._ahead = ahead
        self._jobs: queue.PriorityQueue[tuple[int, int, tuple[T, ...]]] = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority; items themselves are never compared
        self._ready: queue.Queue[T | BaseException] = queue.Queue()
        self._errors: list[BaseException] = []
        self._started = False
        self._closing = False
        self._threads = [threading.Thread(target=self._work, name=f"spares-{name}-{i}", daemon=True)
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def take(self) -> T:
        """A spare nobody had, waiting for it to be made if none is ready yet."""
        if not self._started:
            self._started = True
            for _ in range(self._ahead):
                self._submit(_MAKE)
        self._submit(_MAKE)  # the one that replaces it
        item = self._ready.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def throw_away(self, item: T) -> None:
        """Hands *item* to the background threads to be thrown away; close() waits for it."""
        self._submit(_THROW_AWAY, item)

    def close(self) -> None:
        """Throws away what was handed back and the spares nobody took; raises the first failure of either."""
        self._closing = True
        for _ in self._threads:
            self._submit(_STOP)  # last in line: each thread finishes every job before it takes one
        for thread in self._threads:
            thread.join()
        while not self._ready.empty():
            left = self._ready.get_nowait()
            if not isinstance(left, BaseException):
                self._run_throw_away(left)
        if self._errors:
            raise self._errors[0]

    def _submit(self, kind: int, *items: T) -> None:
        self._jobs.put((kind, next(self._order), items))

    def _work(self) -> None:
        while True:
            kind, _, items = self._jobs.get()
            if kind == _STOP:
                break
            if kind == _MAKE:
                if not self._closing:
                    try:
                        self._ready.put(self._make())
                    except BaseException as exc:  # noqa: BLE001  (take() raises it in the test that waits)
                        self._ready.put(exc)
            else:
                for item in items:
                    self._run_throw_away(item)

    def _run_throw_away(self, item: T) -> None:
        try:
            self._throw_away(item)
        except Exception as exc:  # noqa: BLE001  (reported by close(), at the end of the session)
            self._errors.append(exc)
