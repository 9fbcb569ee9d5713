"""The one place that names qlosync's RabbitMQ queues (as dramatiq's ``common.py`` does for its own).

Topology: every work queue ``Q`` has dramatiq's delay queue ``Q.DQ``; both dead-letter into the single
durable :data:`DLQ`. dramatiq's per-queue ``Q.XQ`` is *not* used by qlosync (see ``qlosync/runtime/broker.py``).
"""

from __future__ import annotations

from dramatiq.common import dq_name, q_name, xq_name

#: Work that comes from QloApps (bookings to import into the PMS).
INBOUND = "qloapps.inbound"
#: Work that goes to QloApps (reservations, availability and rates to push).
OUTBOUND = "qloapps.outbound"
#: The scheduler's minute ticks, on a queue of their own that every worker consumes: a tick never waits
#: behind a backlog of pulls in qloapps.inbound, where periodiq would drop it as too old (docs/sync.md).
SCHEDULE = "qloapps.schedule"
#: The one dead-letter queue for every queue above and their delay queues; no TTL: nothing expires.
DLQ = "qloapps.dlq"

WORK_QUEUES: tuple[str, ...] = (INBOUND, OUTBOUND, SCHEDULE)


def delay_queue(queue_name: str) -> str:
    """dramatiq's delay queue for *queue_name* (where retries wait for their backoff)."""
    return dq_name(queue_name)


def canonical(queue_name: str) -> str:
    """The work queue a (possibly delay) queue name belongs to: ``qloapps.inbound.DQ`` -> ``qloapps.inbound``."""
    return q_name(queue_name)


def is_delay_queue(queue_name: str) -> bool:
    return queue_name != canonical(queue_name)


def legacy_dead_letter_queue(queue_name: str) -> str:
    """The ``Q.XQ`` queue a stock dramatiq broker would have created (left behind by old deployments)."""
    return xq_name(queue_name)


def topology(work_queues: tuple[str, ...] = WORK_QUEUES, dead_letter_queue: str = DLQ) -> tuple[str, ...]:
    """Every queue qlosync declares, in declaration order (the DLQ first: the others point at it)."""
    names: list[str] = [dead_letter_queue]
    for queue_name in work_queues:
        names += [queue_name, delay_queue(queue_name)]
    return tuple(names)
