"""Fixtures for sync tests: a configured shop pointing at the simulator, and pull dependencies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, load_shop, save_config
from qlosync.db.session import transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.secrets import Secret
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.inbound.pull import PullDeps
from tests.conftest import TEST_API_KEY


@pytest.fixture
def shop(simulator, session_factory: sessionmaker[Session], secret_key: Secret) -> ShopConfig:
    """The simulator configured as the default shop, sync enabled."""
    cipher = KeyCipher(secret_key)
    with transaction(session_factory) as session:
        save_config(session, cipher, base_url=simulator.base_url, api_key=Secret(TEST_API_KEY), sync_enabled=True)
    with transaction(session_factory) as session:
        return load_shop(session, cipher)


@pytest.fixture
def client(shop: ShopConfig) -> Iterator[QloAppsClient]:
    with QloAppsClient(shop.base_url, shop.api_key) as client:
        yield client


@pytest.fixture
def retried() -> list[int]:
    """Order ids a pull handed to their own retry message."""
    return []


@pytest.fixture
def deps(engine: Engine, session_factory, client, shop, retried) -> PullDeps:  # type: ignore[no-untyped-def]
    return PullDeps(engine=engine, session_factory=session_factory, client=client, shop=shop,
                    retry_booking=retried.append)


@pytest.fixture
def mapped_catalog(session_factory, client, shop) -> None:  # type: ignore[no-untyped-def]
    """QloApps room types and rooms imported and mapped to the reference PMS."""
    with transaction(session_factory) as session:
        import_catalog(session, client, shop)


@contextmanager
def simulated_shops(simulator: Any, engine: Engine, session_factory: sessionmaker[Session], secret_key: Secret,
                    names: Sequence[str], pms_hotels: Sequence[str | None] | None = None,
                    ) -> Iterator[list[tuple[Any, ShopConfig, PullDeps]]]:
    """Named simulator shops configured (sync on, each bound to its PMS hotel if given) with their pull deps."""
    cipher = KeyCipher(secret_key)
    hotels = list(pms_hotels) if pms_hotels is not None else [None] * len(names)
    out, clients = [], []
    try:
        for sim_shop, hotel_id in zip(simulator.add_shops(names), hotels, strict=True):
            with transaction(session_factory) as session:
                save_config(session, cipher, name=sim_shop.name, base_url=sim_shop.base_url,
                            api_key=Secret(TEST_API_KEY), sync_enabled=True, pms_hotel_id=hotel_id)
            with transaction(session_factory) as session:
                config = load_shop(session, cipher, sim_shop.name)
            client = QloAppsClient(config.base_url, config.api_key)
            clients.append(client)
            out.append((sim_shop, config, PullDeps(engine=engine, session_factory=session_factory, client=client,
                                                   shop=config, retry_booking=lambda _order_id: None)))
        yield out
    finally:
        for client in clients:
            client.close()
