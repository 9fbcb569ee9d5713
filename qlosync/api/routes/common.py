"""What the routes share: the authenticated router prefix and the documented error answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from qlosync.api.auth import require_token
from qlosync.api.models import ErrorBody, ValidationErrorBody

PREFIX = "/api/v1/qloapps"

_DESCRIPTIONS = {
    400: "qlosync refused the request; `detail` says why.",
    401: "Missing or wrong bearer token.",
    404: "No such shop, run, dead letter or room type.",
    409: "The request conflicts with the current state (sync disabled, already mapped, cannot be requeued).",
    503: "PostgreSQL or RabbitMQ cannot be reached.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, plus the ones every operation can give (401, 422, 503)."""
    documented: dict[int | str, dict[str, Any]] = {
        422: {"model": ValidationErrorBody, "description": "The request is malformed; `detail` says where and why."},
    }
    for status in sorted({401, 503, *statuses}):
        documented[status] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
    return documented


def operations_router(tag: str) -> APIRouter:
    """A router under /api/v1/qloapps whose every operation requires the bearer token."""
    return APIRouter(prefix=PREFIX, tags=[tag], dependencies=[Depends(require_token)])
