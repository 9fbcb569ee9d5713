"""Probes and metrics, outside /api/. The probes need no token and reveal nothing; /metrics names shops and
counts their bookings, so it needs the token when one is set (see auth.require_metrics_access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from qlosync.api.auth import require_metrics_access
from qlosync.api.models import ErrorBody, Health, Readiness
from qlosync.api.services import ApiServices, services
from qlosync.db.session import check_database
from qlosync.errors import DatabaseUnavailableError
from qlosync.ops.metrics import render
from qlosync.runtime.topology import BrokerUnavailableError, connection

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready."}},
            summary="PostgreSQL and RabbitMQ are reachable")
def readyz(api: Annotated[ApiServices, Depends(services)]) -> JSONResponse:
    postgresql = rabbitmq = "ok"
    try:
        check_database(api.engine)
    except DatabaseUnavailableError as exc:
        postgresql = str(exc)
    try:
        with connection(api.settings.rabbitmq_url):
            pass
    except BrokerUnavailableError as exc:
        rabbitmq = str(exc)
    ready = postgresql == rabbitmq == "ok"
    body = Readiness(ready=ready, postgresql=postgresql, rabbitmq=rabbitmq)
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text exposition)",
            dependencies=[Depends(require_metrics_access)],
            responses={200: {"content": {"text/plain": {}}},
                       401: {"model": ErrorBody, "description": "Missing or wrong bearer token."},
                       503: {"model": ErrorBody, "description": "PostgreSQL down."}})
def metrics(api: Annotated[ApiServices, Depends(services)]) -> Response:
    body, content_type = render(api.engine, sync_interval_ms=api.settings.sync_interval_ms)
    return Response(content=body, media_type=content_type)
