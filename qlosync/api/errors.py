"""qlosync's errors as HTTP answers: one table from exception class to status, and a readable 422.

The answer is ``{"detail": "..."}`` with the error's own message: qlosync's messages are written for
operators and never carry the API key (the QloApps client scrubs it, the config store never prints it).
"""

from __future__ import annotations

import logging

import dramatiq.errors
import pika.exceptions
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qlosync.api.guards import too_large
from qlosync.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    PermanentError,
    QlosyncError,
    SyncDisabledError,
    TransientError,
)
from qlosync.db.config_store import UnknownShopError
from qlosync.fields import InvalidValueError
from qlosync.ops.dlq import NotRequeuableError
from qlosync.ops.shops.hotels import UnknownPmsHotelError
from qlosync.ops.sync import RunNotFoundError
from qlosync.runtime.dlq import DeadLetterNotFoundError
from qlosync.runtime.topology import BrokerUnavailableError, QueueConflictError
from qlosync.sync.inbound.catalog import MappingError

logger = logging.getLogger(__name__)

#: First match wins, so subclasses come before their bases.
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (UnknownShopError, 404),
    (RunNotFoundError, 404),
    (NotRequeuableError, 409),
    (DeadLetterNotFoundError, 404),
    (SyncDisabledError, 409),
    (QueueConflictError, 409),
    (MappingError, 409),
    (DatabaseUnavailableError, 503),
    (BrokerUnavailableError, 503),
    (InvalidValueError, 422),  # what request models cannot see, e.g. a link-local URL the settings refuse
    (UnknownPmsHotelError, 422),  # a pms_hotel_id the PMS has no hotel with
    (ConfigurationError, 400),
    (PermanentError, 400),
    (TransientError, 503),
    (QlosyncError, 400),
)

UNAVAILABLE_BROKER = "cannot reach RabbitMQ (or lost the connection)"
UNAVAILABLE_DATABASE = "cannot reach PostgreSQL (or lost the connection)"


#: What FastAPI raises its "error parsing the body" 400 from, other than JSONDecodeError (already a 422).
_UNREADABLE_JSON = ((UnicodeDecodeError, "invalid UTF-8"), (RecursionError, "nested too deeply"))


def status_for(exc: BaseException) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def _detail(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message})


async def _qlosync_error(_request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if status >= 500:
        logger.warning("Admin API: %s: %s", type(exc).__name__, exc, extra={"action": "api_unavailable"})
    return _detail(status, str(exc) or type(exc).__name__)


async def _broker_error(_request: Request, exc: Exception) -> JSONResponse:
    # dramatiq and pika errors name hosts at best; the class is what tells an operator what happened.
    logger.warning("Admin API: RabbitMQ unavailable: %s", type(exc).__name__, extra={"action": "api_unavailable"})
    return _detail(503, f"{UNAVAILABLE_BROKER}: {type(exc).__name__}")


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.warning("Admin API: PostgreSQL unavailable: %s", type(exc).__name__, extra={"action": "api_unavailable"})
    return _detail(503, UNAVAILABLE_DATABASE)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's default answer echoes each rejected input, which could be an API key: keep only where and why.
    problems = [{"loc": [str(p) if not isinstance(p, int) else p for p in error.get("loc", ())],
                 "msg": str(error.get("msg", "invalid")), "type": str(error.get("type", "value_error"))}
                for error in exc.errors()]
    summary = "; ".join(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}" for problem in problems)
    return JSONResponse(status_code=422, content={"detail": f"invalid request: {summary}", "errors": problems})


def _invalid_body(message: str) -> JSONResponse:
    problems = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
    return JSONResponse(status_code=422, content={"detail": f"invalid request: body: {message}", "errors": problems})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 413:
        return too_large()
    if exc.status_code == 400:
        # A body that is not UTF-8, or nested deeper than the JSON parser recurses, is as malformed as any
        # invalid JSON: the same 422 with `errors`, not FastAPI's bare 400.
        for cause, message in _UNREADABLE_JSON:
            if isinstance(exc.__cause__, cause):
                return _invalid_body(f"the JSON body is {message}")
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(QlosyncError, _qlosync_error)
    app.add_exception_handler(dramatiq.errors.BrokerConnectionError, _broker_error)
    app.add_exception_handler(pika.exceptions.AMQPConnectionError, _broker_error)
    app.add_exception_handler(OperationalError, _database_error)

