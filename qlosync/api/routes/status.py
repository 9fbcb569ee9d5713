"""What an operator checks first: the same report as ``qlosync status --json``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from qlosync.api.models import StatusReport
from qlosync.api.routes.common import errors, operations_router
from qlosync.api.services import ApiServices, services
from qlosync.ops.status import status_report

router = operations_router("status")


@router.get("/status", response_model=StatusReport, responses=errors(), summary="Schema, shops, runs, backlog")
def status(api: Annotated[ApiServices, Depends(services)]) -> dict[str, Any]:
    """The schema revision; when it is current, also the processes and their heartbeats, queue depths, every
    shop's last runs, cursor, parked bookings, refused pushes, conflicts, the outbox backlog, dead letters,
    and `health` (`healthy`, `problems`). 200 whatever the verdict; never the API key."""
    return status_report(api.settings, api.engine, api.sessions)
