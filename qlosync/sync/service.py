"""Glue between a process's resources and the sync functions: load the shop, open a client, build PullDeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, load_shop
from qlosync.db.session import transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.settings import Settings
from qlosync.sync.gate import GatePolicy, ShopGate
from qlosync.sync.inbound.pull import PullDeps, PullOptions, RunReport


def load_shop_config(settings: Settings, session_factory: sessionmaker[Session], name: str,
                     *, require_enabled: bool = False) -> ShopConfig:
    with transaction(session_factory) as session:
        return load_shop(session, KeyCipher(settings.require_secret_key()), name, require_enabled=require_enabled)


def open_client(settings: Settings, shop: ShopConfig, engine: Engine | None = None, *,
                gate: ShopGate | None = None) -> QloAppsClient:
    """A client of the shop; with *engine* (or *gate*), every request passes the shop's shared gate (limits,
    breaker)."""
    if gate is None and engine is not None:
        gate = shop_gate(settings, engine, shop)
    return QloAppsClient(shop.base_url, shop.api_key, connect_timeout=settings.http_connect_timeout_s,
                         read_timeout=settings.http_read_timeout_s, gate=gate)


def shop_gate(settings: Settings, engine: Engine, shop: ShopConfig) -> ShopGate:
    return ShopGate(engine, shop.id, shop.name, max_concurrent=shop.max_concurrent_requests,
                    requests_per_second=shop.max_requests_per_second,
                    policy=GatePolicy.from_settings(settings))


def pull_options(settings: Settings) -> PullOptions:
    interval = timedelta(milliseconds=settings.sync_interval_ms)
    # A slot that runs two intervals late is covered by any pull that started after it: one catch-up, no storm.
    return PullOptions(full_after=timedelta(hours=settings.full_sync_after_hours), stale_after=2 * interval,
                       bulk_min_orders=settings.bulk_pull_min_orders, bulk_lanes=settings.bulk_pulls)


@contextmanager
def pull_deps(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    shop: ShopConfig,
    retry_booking: Callable[[int], object],
    progress: Callable[[RunReport], None] | None = None,
) -> Iterator[PullDeps]:
    gate = shop_gate(settings, engine, shop)
    with open_client(settings, shop, gate=gate) as client:
        try:
            yield PullDeps(engine=engine, session_factory=session_factory, client=client, shop=shop,
                           retry_booking=retry_booking, options=pull_options(settings), progress=progress, gate=gate)
        finally:
            gate.flush()
