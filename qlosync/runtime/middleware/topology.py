"""Declares the worker's queues when it boots, so a conflicting queue, or a RabbitMQ that cannot be reached or
refuses the worker (missing vhost, wrong password), stops it with one clear error and no traceback."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq.errors
import pika.exceptions
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from qlosync.runtime.topology import QueueConflictError, unreachable_message

logger = logging.getLogger(__name__)

#: The worker's exit code when RabbitMQ cannot be reached at boot: dramatiq's own RET_CONNECT, and qlosync's
#: "a service is down" of the CLI.
EXIT_UNAVAILABLE = 3
#: The exit code when a queue exists with other arguments (another application's, or an older qlosync's): the
#: CLI's "a qlosync error", as `qlosync broker setup` exits on the same conflict.
EXIT_CONFLICT = 1


class TopologyCheckMiddleware(Middleware):
    """Declares, before any consumer starts, every queue this worker will consume (and the DLQ).

    Without it a queue that RabbitMQ refuses to redeclare (PRECONDITION_FAILED) only shows up as a
    consumer thread logging and restarting forever; with it the worker process ends with the
    ``QueueConflictError``'s paragraph (every argument that differs, and the fix) on one line, and exit code 1.
    A RabbitMQ that cannot be reached, or refuses the login or the vhost, ends the worker process with one
    line naming host, vhost and reason, and exit code 3.
    """

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        if not hasattr(broker, "declare_topology"):  # not a QlosyncRabbitmqBroker (e.g. a StubBroker in a unit test)
            return
        # `dramatiq --queues` lands in Worker.consumer_whitelist (dramatiq 2.x, pinned below 3).
        whitelist = getattr(worker, "consumer_whitelist", None)
        queues = sorted(q for q in broker.get_declared_queues() if not whitelist or q_name(q) in whitelist)
        # dramatiq would log a failed connect with a traceback, start the consumers anyway and restart them
        # every 3 s forever. SystemExit passes its hook runner and its worker process (no traceback), and the
        # main process then stops the others and exits with the same code.
        declare_or_exit(broker, queues, "Worker")


def declare_or_exit(broker: Any, queues: list[str], process: str) -> None:
    """Declare *queues* on the broker's RabbitMQ, or end the process with one line: exit code 3 when RabbitMQ
    cannot be reached or refuses it (wrong password, missing vhost), 1 when a queue exists with other arguments."""
    pika_logger = logging.getLogger("pika")
    level = pika_logger.level
    # pika logs each step of a refused connect, at ERROR; the one line below says it all.
    pika_logger.setLevel(logging.CRITICAL)
    try:
        broker.declare_topology(queues)
    except (dramatiq.errors.BrokerConnectionError, pika.exceptions.AMQPConnectionError) as exc:
        # dramatiq keeps a list when given several URLs (`a;b`); the first is the one it tries first.
        params = broker.parameters[0] if isinstance(broker.parameters, list) else broker.parameters
        logger.critical("%s not started: %s.", process, unreachable_message(params, exc),
                        extra={"action": "boot_failed"})
        raise SystemExit(EXIT_UNAVAILABLE) from None
    except QueueConflictError as exc:
        # Raised on, it would print a traceback from dramatiq's worker process; the paragraph says it all.
        logger.critical("%s not started: %s", process, exc, extra={"action": "boot_failed", "queue": exc.queue_name})
        raise SystemExit(EXIT_CONFLICT) from None
    finally:
        pika_logger.setLevel(level)
    logger.info("Declared queues %s.", ", ".join(queues), extra={"action": "declare_topology"})
