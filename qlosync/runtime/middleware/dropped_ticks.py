"""periodiq's middleware, plus what qlosync does with the periodic messages it drops.

periodiq drops a periodic message that is older than ``skip_delay`` (30 s) when a worker takes it. That keeps a
scheduler that was stopped, or workers that were busy, from running a burst of stale ticks. But a dropped
``schedule_tick`` loses its minute's pull slots. qlosync's DeadLetterMiddleware, which lets no skipped message
go, would dead-letter it, and nobody can usefully requeue such a dead letter. So a dropped periodic message is:

* logged as a WARNING (``tick_dropped``);
* counted (``qlosync_scheduler_ticks_dropped_total``);
* sent again at once as a catch-up: the same actor and arguments, but without periodiq's ``scheduled_at``, so it
  is not dropped again. A ``schedule_tick`` is also told the minute it stands for. Its slots that are already in
  the past collapse into one pull, sent at once (``schedule_slots.slots_in_minute``), so no slot is lost;
* then acked, not dead-lettered.

A message delivered twice is caught up twice, which is harmless: each slot is claimed once in PostgreSQL, and the
daily actors find nothing left to do. If the catch-up cannot be sent (RabbitMQ gone), the error fails the stale
message, and it is dead-lettered with that error: it is not lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dramatiq.common import q_name
from dramatiq.message import Message
from dramatiq.middleware import SkipMessage
from periodiq import PeriodiqMiddleware

from qlosync.runtime import metrics
from qlosync.runtime.middleware.dead_letters import RUN_OPTIONS, SKIP_HANDLED_OPTION

logger = logging.getLogger(__name__)

#: The keyword argument that tells a caught-up ``schedule_tick`` which minute it stands for (ISO 8601, UTC).
MINUTE_KWARG = "minute"
TICK_ACTOR = "schedule_tick"
SKIP_DELAY_S = 30
# Options of the dropped message that describe its own life, not the work: the catch-up starts afresh.
_NOT_CARRIED = frozenset({"scheduled_at", SKIP_HANDLED_OPTION, *RUN_OPTIONS})


class CatchUpDroppedTicks(PeriodiqMiddleware):  # type: ignore[misc]  # periodiq has no type hints
    """periodiq's PeriodiqMiddleware (the ``periodic`` actor option, stale ticks dropped) with catch-ups."""

    def __init__(self, skip_delay: int = SKIP_DELAY_S) -> None:
        super().__init__(skip_delay=skip_delay)

    def before_process_message(self, broker: Any, message: Any) -> None:
        try:
            super().before_process_message(broker, message)
        except SkipMessage:
            catch_up(broker, message, self.skip_delay)
            raise


def catch_up(broker: Any, message: Any, skip_delay_s: int = SKIP_DELAY_S) -> Message[Any]:
    """Send the catch-up of a dropped periodic message and mark the dropped one as caught up."""
    # periodiq writes it as str() of a pendulum datetime: ISO 8601 with its offset.
    scheduled_at = datetime.fromisoformat(message.options["scheduled_at"]).astimezone(UTC)
    kwargs = dict(message.kwargs)
    if message.actor_name == TICK_ACTOR:
        kwargs[MINUTE_KWARG] = scheduled_at.isoformat()
    options = {k: v for k, v in message.options.items() if k not in _NOT_CARRIED}
    again: Message[Any] = broker.enqueue(Message(queue_name=q_name(message.queue_name), actor_name=message.actor_name,
                                   args=tuple(message.args), kwargs=kwargs, options=options))
    message.options[SKIP_HANDLED_OPTION] = True
    metrics.count_dropped_tick(message.actor_name)
    age_s = (datetime.now(UTC) - scheduled_at).total_seconds()
    logger.warning(
        "%s scheduled at %s was %.0f s old when a worker took it (periodiq drops periodic messages older than"
        " %s s: workers busy or stopped); sent again as %s so its work is not lost.",
        message.actor_name, scheduled_at.isoformat(), age_s, skip_delay_s, again.message_id,
        extra={"action": "tick_dropped", "message_id": message.message_id, "actor": message.actor_name,
               "catch_up_message_id": again.message_id})
    return again
