"""Shared fixtures: real PostgreSQL and RabbitMQ, isolated per test run, and the QloApps simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TEST_API_KEY = "QLOSYNCTESTKEY0123456789ABCDEFGH"  # 32 characters, like a real QloApps key


@pytest.fixture
def simulator() -> Iterator["Simulator"]:  # noqa: F821
    """A fresh QloApps simulator with the demo data, serving HTTP on a free loopback port."""
    from qlosync.qloapps.simulator import Simulator

    sim = Simulator(api_key=TEST_API_KEY)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
