"""Declares the worker's queues when it boots, so a conflicting queue stops it with one clear error."""

from __future__ import annotations

import logging
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class TopologyCheckMiddleware(Middleware):
    """Declares, before any consumer starts, every queue this worker will consume (and the DLQ).

    Without it a queue that RabbitMQ refuses to redeclare (PRECONDITION_FAILED) only shows up as a
    consumer thread logging and restarting forever; with it ``QueueConflictError`` (a MiddlewareError)
    aborts the worker's boot and names the fix.
    """

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        declare_topology = getattr(broker, "declare_topology", None)
        if declare_topology is None:  # not a QlosyncRabbitmqBroker (e.g. a StubBroker in a unit test)
            return
        # `dramatiq --queues` lands in Worker.consumer_whitelist (dramatiq 2.x, pinned below 3).
        whitelist = getattr(worker, "consumer_whitelist", None)
        queues = sorted(q for q in broker.get_declared_queues() if not whitelist or q_name(q) in whitelist)
        declare_topology(queues)
        logger.info("Declared queues %s.", ", ".join(queues), extra={"action": "declare_topology"})
