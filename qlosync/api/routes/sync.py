"""Pull bookings on request, and follow the runs (``qloapps_sync_state``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from qlosync.api.models import (
    INT64_MAX,
    MESSAGE_ID_PATTERN,
    SHOP_PATTERN,
    SyncAccepted,
    SyncRequest,
    SyncRun,
    SyncRunList,
)
from qlosync.api.routes.common import PREFIX, errors, operations_router
from qlosync.api.services import ApiServices, services
from qlosync.db.session import transaction
from qlosync.ops import sync as sync_ops

router = operations_router("sync")


@router.post("/sync", status_code=202, response_model=SyncAccepted, responses=errors(400, 404, 409),
             summary="Enqueue a pull of QloApps bookings")
def request_sync(body: SyncRequest, api: Annotated[ApiServices, Depends(services)]) -> SyncAccepted:
    """Enqueues a `pull_bookings` message for the inbound workers and answers at once; the run carries the
    message id, so `poll` finds it as soon as a worker has started it."""
    requested = sync_ops.request_pull(api.settings, api.sessions, body.shop, full=body.full, broker=api.broker)
    return SyncAccepted(message_id=requested.message_id, run_id=None, shop=requested.shop,
                        kind=requested.kind,
                        poll=f"{PREFIX}/sync-state?message_id={requested.message_id}")


@router.get("/sync-state", response_model=SyncRunList, responses=errors(404), summary="List pull runs, newest first")
def list_runs(
    api: Annotated[ApiServices, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=sync_ops.MAX_RUNS)] = 20,
    message_id: Annotated[str | None, Query(pattern=MESSAGE_ID_PATTERN, description="Only the run of this message.")] = None,
    shop: Annotated[str | None, Query(pattern=SHOP_PATTERN, description="Only this shop's runs.")] = None,
) -> SyncRunList:
    with transaction(api.sessions) as session:
        runs = sync_ops.list_runs(session, shop=shop, message_id=message_id, limit=limit)
    return SyncRunList(runs=list(runs))


@router.get("/sync-state/{run_id}", response_model=SyncRun, responses=errors(404), summary="One pull run")
def get_run(run_id: Annotated[int, Path(ge=1, le=INT64_MAX)], api: Annotated[ApiServices, Depends(services)]) -> SyncRun:
    with transaction(api.sessions) as session:
        run = sync_ops.get_run(session, run_id)
    return run
