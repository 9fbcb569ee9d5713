"""Fixtures for the contract tests: the captures and one simulator that replays them all in order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.contract.captures import TEST_API_KEY, Capture, load_captures, replay, samples_dir
from tests.contract.plan import QUERY_SUBSTITUTIONS, build_plan


@dataclass
class Observed:
    """What the simulator answered to one replayed capture."""

    status: int
    content_type: str | None
    body: bytes


@pytest.fixture(scope="session")
def captures() -> dict[str, Capture]:
    """All captures by number; a missing folder is a failure, not a skip."""
    folder = samples_dir()
    if not folder.is_dir():
        pytest.fail(f"captures folder not found: {folder} (set QLOSYNC_SAMPLES_DIR)")
    found = {c.number: c for c in load_captures(folder)}
    if not found:
        pytest.fail(f"no captures in {folder}")
    return found


@pytest.fixture(scope="session")
def replayed(captures: dict[str, Capture]) -> Iterator[dict[str, Observed]]:
    """Replay the whole plan once against one simulator; map capture number -> observed answer."""
    from qlosync.qloapps.simulator import KNOWN_GAPS, Simulator

    sim = Simulator(api_key=TEST_API_KEY)
    sim.start()
    observed: dict[str, Observed] = {}
    session = requests.Session()
    try:
        for kind, value in build_plan():
            if kind == "clock":
                sim.store.clock.freeze(value)
            elif kind == "setup":
                value(sim)
            elif value in captures and value not in KNOWN_GAPS:
                subst = QUERY_SUBSTITUTIONS[value](sim) if value in QUERY_SUBSTITUTIONS else None
                resp = replay(sim.base_url, captures[value], session, subst)
                observed[value] = Observed(resp.status_code, resp.headers.get("Content-Type"), resp.content)
        yield observed
    finally:
        session.close()
        sim.stop()


@pytest.fixture
def scratch_simulator() -> Iterator[Any]:
    """A fresh simulator for the known-gap checks (they must not disturb the replay)."""
    from qlosync.qloapps.simulator import Simulator

    sim = Simulator(api_key=TEST_API_KEY)
    sim.start()
    sim.store.clock.freeze("2026-11-27 04:55:59")
    try:
        yield sim
    finally:
        sim.stop()
