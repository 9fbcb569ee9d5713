"""The admin HTTP API: ``create_app(settings)`` builds the FastAPI application ``qlosync api`` serves.

Resources (database engine, broker for sending messages, the heartbeat in ``qlosync_processes``) are
built when the app starts and disposed of when it stops, never at import time, so building the app does
no I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from qlosync import __version__
from qlosync.api.errors import install_error_handlers
from qlosync.api.guards import MAX_BODY_BYTES, CrossSiteGuard, DeclaredLengthGuard, HostGuard
from qlosync.api.routes import config, dlq, health, mappings, shops, status, sync
from qlosync.api.services import ApiServices
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.runtime.broker import build_broker
from qlosync.runtime.heartbeat import Heartbeat
from qlosync.settings import Settings

DESCRIPTION = """Operate qlosync over HTTP: trigger and follow pulls, read the status, change and test the
QloApps settings, requeue dead letters, map room types. Every `/api/` operation needs
`Authorization: Bearer <QLOSYNC_API_TOKEN>` (open only when no token is set, and then `qlosync api` listens
on a loopback address only), and so does `/metrics` (unless `QLOSYNC_API_LOOPBACK_METRICS` opens it to
scrapers on this machine). `/healthz` and `/readyz` need no token."""


class _AdminApi(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside FastAPI's own body limit, whose plain-text 413 would replace any answer given inside it.
        return DeclaredLengthGuard(super().build_middleware_stack(), MAX_BODY_BYTES)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        broker = build_broker(settings)
        app.state.services = ApiServices(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                                         broker=broker)
        # Listed by `qlosync status` like every other long-running process (it never blocks on PostgreSQL).
        heartbeat = Heartbeat(settings, role="api")
        heartbeat.start()
        try:
            yield
        finally:
            heartbeat.stop()
            broker.close()
            engine.dispose()

    app = _AdminApi(
        title="qlosync admin API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load its scripts from a CDN onto the page where the token is typed
        redoc_url=None,
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,  # counted as it arrives, so a chunked body without Content-Length too
    )
    app.state.api_token = settings.api_token
    app.state.loopback_metrics = settings.api_loopback_metrics
    app.add_middleware(CrossSiteGuard)
    app.add_middleware(HostGuard, token_set=settings.api_token is not None,
                       allowed_hosts=settings.api_allowed_hosts)
    install_error_handlers(app)
    for module in (sync, status, config, dlq, mappings, shops, health):
        app.include_router(module.router)
    return app
