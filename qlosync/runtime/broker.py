"""The dramatiq broker qlosync runs on: RabbitMQ, one shared dead-letter queue, bounded retries.

* Every queue ``Q`` and its delay queue ``Q.DQ`` dead-letter into ONE durable ``qloapps.dlq`` without a
  TTL (dramatiq would give each queue a ``Q.XQ`` that silently drops dead letters after 7 days). The queue
  of origin stays in the message body (``queue_name``) and in RabbitMQ's ``x-death`` header.
* ``confirm_delivery=True``: a retry is re-enqueued (confirmed) before the failed delivery is acked, so a
  lost publish raises instead of losing the message. Acks happen only after the actor returns.
* Retries: exponential backoff with jitter, bounded; every qlosync actor has ``throws=(PermanentError,)``
  so permanent failures go to the DLQ at once and everything else (timeouts, 5xx, connection errors,
  lock contention) backs off.
* A message on a qlosync queue that qlosync did not send (another application's JSON on the same vhost, or
  a dramatiq message for an actor qlosync does not have) is moved to the DLQ with why and acked, before
  dramatiq decodes it: :mod:`qlosync.runtime.foreign`.

Why dramatiq is pinned below 3 (``dramatiq[rabbitmq]>=2.0,<3`` in pyproject.toml):
:class:`QlosyncRabbitmqBroker` overrides protected helpers of dramatiq's ``RabbitmqBroker``
(``_build_queue_arguments``, ``_declare_queue``, ``_declare_dq_queue``, ``_declare_xq_queue``, ``flush``,
``consumer_class``) and :mod:`qlosync.runtime.foreign` subclasses its ``_RabbitmqConsumer``.
They are not public API and may change in a major release; ``tests/integration/test_broker_topology.py``
checks against the real RabbitMQ that the declared arguments are what the broker actually has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, overload

import dramatiq
import dramatiq.broker
import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from qlosync.errors import ConfigurationError, PermanentError
from qlosync.runtime.foreign import ForeignAwareConsumer
from qlosync.runtime.middleware.dead_letters import DeadLetterMiddleware
from qlosync.runtime.middleware.dropped_ticks import CatchUpDroppedTicks
from qlosync.runtime.middleware.heartbeat import WorkerHeartbeat
from qlosync.runtime.middleware.metrics import WorkerMetrics
from qlosync.runtime.middleware.runtime import RuntimeMiddleware
from qlosync.runtime.middleware.tick_thread import TickThread
from qlosync.runtime.middleware.topology import TopologyCheckMiddleware
from qlosync.runtime.queues import DLQ, SCHEDULE, WORK_QUEUES, delay_queue
from qlosync.settings import Settings, with_heartbeat
from qlosync.runtime.topology import QueueConflictError, declare, queue_arguments

#: RabbitMQ's default consumer timeout: a delivery left unacked longer than this closes the channel.
RABBITMQ_CONSUMER_TIMEOUT_MS = 30 * 60 * 1000
#: Default wall-clock limit of one actor run; a hung HTTP call is interrupted and retried.
DEFAULT_TIME_LIMIT_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter for every failure that is not a PermanentError.

    The n-th retry (n = 0, 1, ...) waits ``min_backoff_ms * 2**n`` times a random factor in [1, 2),
    capped at ``max_backoff_ms`` (then 50-100% of it). Defaults: 8 retries, waits of about
    2-4 s, 4-8 s, 8-16 s, ... 128-256 s, then 2.5-5 min: given up on after roughly 7-13.5 minutes.
    """

    max_retries: int = 8
    min_backoff_ms: int = 2_000
    max_backoff_ms: int = 5 * 60 * 1000

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.min_backoff_ms <= 0 or self.max_backoff_ms < self.min_backoff_ms:
            raise ConfigurationError(f"invalid retry policy {self!r}")
        # A worker holds a delayed message unacked until its eta: it must stay well inside the consumer timeout.
        if self.max_backoff_ms > RABBITMQ_CONSUMER_TIMEOUT_MS // 3:
            raise ConfigurationError(
                f"max_backoff_ms={self.max_backoff_ms} is too close to RabbitMQ's consumer timeout "
                f"({RABBITMQ_CONSUMER_TIMEOUT_MS} ms): delayed retries would be redelivered early"
            )


class QlosyncRabbitmqBroker(RabbitmqBroker):
    """dramatiq's RabbitMQ broker with every queue dead-lettering into one durable, TTL-less queue."""

    def __init__(self, *, dead_letter_queue: str = DLQ, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dead_letter_queue = dead_letter_queue

    def queue_arguments(self, queue_name: str) -> dict[str, object]:
        """The arguments this broker declares *queue_name* (or its delay queue) with."""
        return queue_arguments(queue_name, dead_letter_queue=self.dead_letter_queue, max_priority=self.max_priority)

    # -- dramatiq internals (see the module docstring on the version pin) --------------------------------

    @property
    def consumer_class(self) -> type[ForeignAwareConsumer]:
        return ForeignAwareConsumer

    def _build_queue_arguments(self, queue_name: str) -> dict[str, object]:
        return self.queue_arguments(queue_name)

    def _declare_queue(self, queue_name: str) -> Any:
        return self._declare(queue_name, self.queue_arguments(queue_name))

    def _declare_dq_queue(self, queue_name: str) -> Any:
        return self._declare(delay_queue(queue_name), self.queue_arguments(queue_name))

    def _declare_xq_queue(self, queue_name: str) -> Any:
        # Called once per work queue by dramatiq: all of them share the one DLQ.
        return self._declare(self.dead_letter_queue, self.queue_arguments(self.dead_letter_queue))

    def _declare(self, queue_name: str, arguments: dict[str, object]) -> Any:
        try:
            return declare(self.channel, queue_name, arguments)
        except QueueConflictError:
            # RabbitMQ closed the channel; drop it so the next call opens a fresh one. dramatiq's own
            # retry loop only catches pika errors, so this clear error reaches the caller unchanged.
            del self.channel
            raise

    def flush(self, queue_name: str) -> None:
        """Drop the messages of a work queue and its delay queue (never the shared DLQ)."""
        for name in (queue_name, delay_queue(queue_name)):
            try:
                self.channel.queue_purge(name)
            except pika.exceptions.AMQPChannelError:
                del self.channel  # a missing queue closes the channel: reopen and go on

    def declare_topology(self, queue_names: Iterable[str] | None = None) -> None:
        """Declare (on RabbitMQ, now) the given or all declared queues, their delay queues and the DLQ."""
        for queue_name in queue_names if queue_names is not None else sorted(self.get_declared_queues()):
            self.declare_queue(queue_name, ensure=True)


def build_middleware(settings: Settings, *, retry_policy: RetryPolicy, time_limit_ms: int,
                     tick_queue: str = SCHEDULE) -> list[Middleware]:
    """The whole middleware stack, in order (hooks named ``after_*`` run in reverse order)."""
    stack: list[Middleware] = [
        # dramatiq's defaults, kept: AgeLimit only acts on actors given max_age; Callbacks/Pipelines are cheap.
        AgeLimit(),
        TimeLimit(time_limit=time_limit_ms),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=retry_policy.max_retries,
            min_backoff=retry_policy.min_backoff_ms,
            max_backoff=retry_policy.max_backoff_ms,
        ),
        # periodiq's: accepts the `periodic` actor option and drops ticks older than 30 s (no tick storms);
        # qlosync's subclass sends a dropped one again as a catch-up, so its pull slots are not lost.
        CatchUpDroppedTicks(),
        # The ticks' queue gets a worker thread of its own: a tick never waits for a thread busy with a pull.
        TickThread(tick_queue),
        # qlosync's own. CurrentMessage lets sync code log the message id.
        CurrentMessage(),
        TopologyCheckMiddleware(),
        RuntimeMiddleware(settings),
        DeadLetterMiddleware(),
        WorkerHeartbeat(settings),
    ]
    if settings.metrics_port:
        stack.append(WorkerMetrics())
    return stack


def build_broker(
    settings: Settings,
    *,
    retry_policy: RetryPolicy | None = None,
    time_limit_ms: int = DEFAULT_TIME_LIMIT_MS,
    work_queues: Iterable[str] = WORK_QUEUES,
    dead_letter_queue: str = DLQ,
    tick_queue: str = SCHEDULE,
) -> QlosyncRabbitmqBroker:
    """A broker for ``settings.rabbitmq_url``; connects lazily (building it does no I/O)."""
    broker = QlosyncRabbitmqBroker(
        url=with_heartbeat(settings.rabbitmq_url),
        confirm_delivery=True,
        dead_letter_queue=dead_letter_queue,
        middleware=build_middleware(settings, retry_policy=retry_policy or RetryPolicy(), time_limit_ms=time_limit_ms,
                                    tick_queue=tick_queue),
    )
    # Declared up front (no I/O yet) so `dramatiq qlosync.actors` consumes every work queue, even one
    # whose actors are not written yet; `--queues` narrows it down.
    for queue_name in work_queues:
        broker.declare_queue(queue_name)
    return broker


def setup_broker(settings: Settings | None = None) -> QlosyncRabbitmqBroker:
    """Build the broker from RABBITMQ_URL and make it dramatiq's global broker (the only place that does)."""
    broker = build_broker(settings if settings is not None else Settings.from_env())
    dramatiq.set_broker(broker)
    return broker


P = ParamSpec("P")
R = TypeVar("R")
# The decorator made inside qlosync_actor is generic on its own, not in qlosync_actor's P and R.
_P = ParamSpec("_P")
_R = TypeVar("_R")


class ActorDecorator(Protocol):
    """What ``@qlosync_actor(...)`` returns: keeps the function's signature so ``.send(...)`` is checked."""

    def __call__(self, fn: Callable[P, R], /) -> dramatiq.Actor[P, R]: ...


@overload
def qlosync_actor(
    fn: Callable[P, R],
    *,
    queue_name: str,
    actor_name: str | None = None,
    time_limit_ms: int | None = None,
    max_retries: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
    broker: dramatiq.Broker | None = None,
    **options: Any,
) -> dramatiq.Actor[P, R]: ...


@overload
def qlosync_actor(
    fn: None = None,
    *,
    queue_name: str,
    actor_name: str | None = None,
    time_limit_ms: int | None = None,
    max_retries: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
    broker: dramatiq.Broker | None = None,
    **options: Any,
) -> ActorDecorator: ...


def qlosync_actor(
    fn: Callable[P, R] | None = None,
    *,
    queue_name: str,
    actor_name: str | None = None,
    time_limit_ms: int | None = None,
    max_retries: int | None = None,
    throws: tuple[type[BaseException], ...] = (),
    broker: dramatiq.Broker | None = None,
    **options: Any,
) -> dramatiq.Actor[P, R] | ActorDecorator:
    """Declare a dramatiq actor with qlosync's defaults: a PermanentError (or *throws*) is never retried.

    ``broker`` defaults to the global one, which :func:`setup_broker` must have set first (dramatiq
    would otherwise silently build a broker on localhost).
    """
    if broker is None and dramatiq.broker.global_broker is None:
        raise ConfigurationError("call qlosync.runtime.broker.setup_broker() before declaring actors")
    actor_options: dict[str, Any] = dict(options, throws=(PermanentError, *throws))
    if time_limit_ms is not None:
        actor_options["time_limit"] = time_limit_ms
    if max_retries is not None:
        actor_options["max_retries"] = max_retries

    def decorate(func: Callable[_P, _R], /) -> dramatiq.Actor[_P, _R]:
        make_actor = dramatiq.actor(actor_name=actor_name, queue_name=queue_name, broker=broker, **actor_options)
        return make_actor(func)

    return decorate if fn is None else decorate(fn)
