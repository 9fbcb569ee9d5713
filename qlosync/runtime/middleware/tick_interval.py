"""The scheduler's QLOAPPS_SYNC_INTERVAL_MS, carried in every ``schedule_tick`` it enqueues.

The tick runs on an inbound worker, but the interval belongs to the scheduler: that is where the guide
sets it, and every scheduler of a deployment stamps the same value, so the slots they describe agree
whichever worker turns them into pulls.
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import Middleware

#: The keyword argument of ``schedule_tick`` (and of the pulls it sends) that carries the interval.
INTERVAL_KWARG = "interval_ms"


class TickInterval(Middleware):
    """In the periodiq process: add the scheduler's interval to each message of *actor_names*."""

    def __init__(self, interval_ms: int, actor_names: frozenset[str] = frozenset({"schedule_tick"})) -> None:
        self.interval_ms = interval_ms
        self.actor_names = actor_names

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        # periodiq sends periodic actors without arguments; the kwargs dict is encoded after this hook.
        if message.actor_name in self.actor_names:
            message.kwargs.setdefault(INTERVAL_KWARG, self.interval_ms)
