"""Dead letters in ``qloapps.dlq``: list them, send one back to its queue."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Depends, Path, Query

from qlosync.api.models import MESSAGE_ID_PATTERN, DeadLetter, DeadLetterList, Requeued
from qlosync.api.routes.common import errors, operations_router
from qlosync.api.services import ApiServices, services
from qlosync.ops import dlq as dlq_ops
from qlosync.states import DeadLetterStatus

router = operations_router("dead letters")


@router.get("/dlq", response_model=DeadLetterList, responses=errors(), summary="List dead letters")
def list_dead_letters(
    api: Annotated[ApiServices, Depends(services)],
    status: Annotated[list[DeadLetterStatus],
                      Query(description="Which records (repeat for several).")] = [DeadLetterStatus.DEAD],  # noqa: B006
) -> DeadLetterList:
    """Browses qloapps.dlq first (nothing is consumed) and records any message that had no record."""
    letters = dlq_ops.list_dead_letters(api.settings, api.sessions, tuple(dict.fromkeys(status)))
    return DeadLetterList(dead_letters=[DeadLetter.model_validate(asdict(letter)) for letter in letters])


@router.post("/dlq/{message_id}/requeue", response_model=Requeued, responses=errors(404, 409),
             summary="Send a dead letter back to its queue")
def requeue(message_id: Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)],
            api: Annotated[ApiServices, Depends(services)]) -> Requeued:
    """Publishes the message back to its queue of origin with its retries reset (confirmed by RabbitMQ),
    then removes it from qloapps.dlq. 404 when it is not in the DLQ; 409 when it is not a dramatiq message."""
    dlq_ops.requeue_one(api.settings, api.sessions, message_id)
    return Requeued(requeued=[message_id])
