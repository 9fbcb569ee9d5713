"""Fixtures the acceptance tests share: the outbound processes on a test's own database and vhost, and the
PMS room types they push."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from qlosync.db.session import transaction
from tests.acceptance.outbound_support import OutboundProcesses, process_env, settle_capture
from tests.outbound_fixtures import pms_room_type
from tests.runtime_support import fresh_vhost  # noqa: F401  (fixture)


@pytest.fixture
def processes(engine: Engine, database_url, secret_key, fresh_vhost, tmp_path,  # noqa: F811
              shop, mapped_catalog, pms_kind) -> Iterator[Callable[..., OutboundProcesses]]:
    """Starts a worker and a relay on this test's database and vhost (ready to consume and LISTENing), driving
    the PMS adapter under test."""
    started: list[OutboundProcesses] = []

    def start(*, read_timeout_s: float = 2.0, relay_args: tuple[str, ...] = ()) -> OutboundProcesses:
        env = process_env(database_url, fresh_vhost, secret_key.reveal(), read_timeout_s=read_timeout_s,
                          QLOSYNC_PMS=pms_kind)
        settle_capture(engine)  # the catalog's setup is not what the test sends
        procs = OutboundProcesses(env=env, logs=tmp_path, engine=engine, relay_args=relay_args)
        started.append(procs)
        procs.start_worker()
        procs.start_relay()
        return procs

    yield start
    for procs in started:
        procs.stop()


@pytest.fixture
def room_types(session_factory, shop, mapped_catalog) -> tuple[int, int]:
    """Two PMS room types, mapped to QloApps room types 1 and 2."""
    with transaction(session_factory) as session:
        return pms_room_type(session, shop.id, 1), pms_room_type(session, shop.id, 2)
