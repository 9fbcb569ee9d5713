"""Records every message dramatiq gives up on in ``qloapps_dead_letters``; the message stays in the DLQ.

dramatiq rejects (nacks) a message when its retries ran out, when it raised a permanent error, when its
actor does not exist, or when a middleware skipped and failed it; RabbitMQ then dead-letters it into
``qloapps.dlq``. ``after_nack`` sees all of these, so it is the one place that writes the record. It runs
after the nack was handed to the consumer: if the process dies in between, the message is still in the
DLQ and ``qlosync dlq list`` records it from its ``x-death`` header. Nothing here acks anything.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatiq.common import q_name
from dramatiq.errors import ActorNotFound
from dramatiq.middleware import Middleware, SkipMessage
from sqlalchemy.exc import SQLAlchemyError

from qlosync.db import dead_letters
from qlosync.errors import PermanentError, QlosyncError
from qlosync.runtime.context import current_runtime

logger = logging.getLogger(__name__)

#: Message option set by `qlosync dlq requeue`: how many times this message was requeued.
REQUEUE_OPTION = "qlosync_requeue_count"
#: Message options that describe one life in the queues; a requeue starts a new one without them.
RUN_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta")
#: Set on a message by a middleware that skipped it and took care of it itself (dropped_ticks sent a catch-up):
#: the skipped message is acked, not dead-lettered.
SKIP_HANDLED_OPTION = "qlosync_caught_up"


class DeadLetterMiddleware(Middleware):
    """Writes the dead-letter record when a message is rejected; marks requeued messages that succeed."""

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if message.options.get(SKIP_HANDLED_OPTION):
            return
        if not message.failed:
            # A skipped message that is not failed gets acked: silently dropped. qlosync drops nothing.
            logger.warning("Message %s was skipped: dead-lettering it.", message.message_id,
                           extra={"action": "dead_letter", "message_id": message.message_id})
            message.fail()

    def after_nack(self, broker: Any, message: Any) -> None:
        exception = getattr(message, "_exception", None)
        reason = _reason(broker, message, exception)
        retries = int(message.options.get("retries", 0))
        if reason == "retries_exhausted":
            retries -= 1  # Retries counted the attempt that just failed, which was not retried.
        extra = {"action": "dead_letter", "message_id": message.message_id, "actor": message.actor_name,
                 "queue": q_name(message.queue_name), "reason": reason}
        try:
            with current_runtime().transaction() as session:
                dead_letters.record_dead_letter(
                    session,
                    message_id=message.message_id,
                    actor_name=message.actor_name,
                    queue_name=q_name(message.queue_name),
                    args=message.args,
                    kwargs=message.kwargs,
                    reason=reason,
                    error_class=_qualified_name(exception),
                    error_message=_describe(exception),
                    retries=max(retries, 0),
                )
        except (SQLAlchemyError, QlosyncError):
            # The message is safe in the DLQ; `qlosync dlq list` will record it from its x-death header.
            logger.error("Could not record dead letter %s; it is in the DLQ all the same.", message.message_id,
                         exc_info=True, extra=extra)
            return
        logger.warning("Message %s (%s) from %s given up on: %s%s.", message.message_id, message.actor_name,
                       extra["queue"], reason, f" ({type(exception).__name__})" if exception else "", extra=extra)

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        # Only requeued messages (or redeliveries after a crash) can have a record: no query otherwise.
        if exception is not None or message.failed:
            return
        if not (message.options.get(REQUEUE_OPTION) or getattr(message, "redelivered", False)):
            return
        try:
            with current_runtime().transaction() as session:
                updated = dead_letters.mark_succeeded(session, message.message_id)
        except (SQLAlchemyError, QlosyncError):
            logger.error("Could not mark dead letter %s as succeeded.", message.message_id, exc_info=True,
                         extra={"action": "dead_letter_succeeded", "message_id": message.message_id})
            return
        if updated:
            logger.info("Requeued message %s succeeded.", message.message_id,
                        extra={"action": "dead_letter_succeeded", "message_id": message.message_id})


def _reason(broker: Any, message: Any, exception: BaseException | None) -> str:
    if isinstance(exception, ActorNotFound):
        return "actor_not_found"
    if exception is None or isinstance(exception, SkipMessage):
        return "skipped"
    if isinstance(exception, PermanentError):
        return "permanent"
    throws = message.options.get("throws")
    if not throws:
        try:
            throws = broker.get_actor(message.actor_name).options.get("throws")
        except ActorNotFound:
            throws = None
    if throws and isinstance(exception, throws):
        return "permanent"
    return "retries_exhausted"


def _qualified_name(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    cls = type(exception)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _describe(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    # qlosync's exceptions are written never to contain the API key; dead_letters.scrub() double-checks.
    return str(exception) or type(exception).__name__
