"""Contract: the captured 400s for a field a listing cannot use are the same on a resource without rows.

QloApps validates display, filter[...] and sort against the resource's definition, not its rows: the
captures were taken with bookings present, but the real server gives the same answer on a fresh install.
Each capture of that kind (codes 32, 35, 38 on a generic listing) is replayed against a simulator that has
no bookings at all, and must be answered with exactly the captured body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from qlosync.qloapps.simulator import Simulator
from tests.contract.captures import TEST_API_KEY, Capture, load_captures, replay, samples_dir, structural_differences

FIELD_ERRORS = {32, 35, 38}  # filter does not exist, unable to display, unable to filter (sort)


def _field_error_captures() -> list[str]:
    folder = samples_dir()
    out = []
    for capture in load_captures(folder) if folder.is_dir() else []:
        if capture.meta["method"] != "GET" or capture.meta["status"] != 400:
            continue
        codes = {e.get("code") for e in json.loads(capture.body or b"{}").get("errors", [])}
        if codes & FIELD_ERRORS:
            out.append(capture.number)
    return out or ["missing-folder"]


@pytest.fixture(scope="module")
def no_bookings() -> Iterator[Simulator]:
    """A fresh install: the demo hotel, no orders, no room lines."""
    sim = Simulator(api_key=TEST_API_KEY)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_the_field_errors_are_captured_for_orders_and_room_bookings(captures: dict[str, Capture]) -> None:
    paths = {captures[n].meta["path"] for n in _field_error_captures()}
    assert paths == {"/api/orders", "/api/room_bookings"}


@pytest.mark.parametrize("number", _field_error_captures())
def test_field_error_on_an_empty_resource(number: str, captures: dict[str, Capture], no_bookings: Simulator) -> None:
    capture = captures[number]
    table = capture.meta["path"].rsplit("/", 1)[1]
    assert not no_bookings.store.table(table), f"{table} should have no rows here"
    resp = replay(no_bookings.base_url, capture)
    diffs = structural_differences(capture, resp.status_code, resp.headers.get("Content-Type"), resp.content)
    assert diffs == [], f"{capture.name}: {capture.meta.get('note', '')[:120]}"
    assert resp.json() == json.loads(capture.body)  # word for word: the field lists come from the schema
