"""Contract: the simulator answers every captured QloApps request with the same structure.

All captures are replayed in capture-time order (tests/contract/plan.py) against one simulator; for each
one we compare the status code, the content-type family (json/xml/html/none, empty or not) and the
structure of the body (JSON keys and value types, XML element tree). Values (ids, dates, totals,
references) may differ. Captures we deliberately do not reproduce are listed in KNOWN_GAPS and must
still differ (strict xfail), so a gap that closes gets noticed.
"""

from __future__ import annotations

import pytest

from qlosync.qloapps.simulator import KNOWN_GAPS as SIMULATOR_GAPS
from tests.contract.captures import Capture, load_captures, replay, samples_dir, structural_differences
from tests.contract.plan import build_plan

KNOWN_GAPS = {
    "054": "unpatched PHP 8 DivisionByZeroError (500 after commit); we emulate the patched server (056)",
    "271": "unpatched PHP 8 TypeError in updRoomRateAvail (500); we emulate the patched server (287)",
    "280": "PHP 8 PDO exception in updRoomRateAvail (500); we emulate the patched server (287)",
    "284": "PHP 8 PDO exception in updRoomRateAvail (500); we emulate the patched server (288)",
}

_FOLDER = samples_dir()
_NUMBERS = [c.number for c in load_captures(_FOLDER)] if _FOLDER.is_dir() else ["missing-folder"]


def test_gap_lists_agree() -> None:
    assert KNOWN_GAPS.keys() == SIMULATOR_GAPS.keys()


def test_plan_covers_every_capture(captures: dict[str, Capture]) -> None:
    planned = [v for k, v in build_plan() if k == "capture"]
    assert sorted(set(captures) - set(planned)) == []
    assert len(planned) == len(set(planned))


def _params() -> list:
    out = []
    for number in _NUMBERS:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[number])] if number in KNOWN_GAPS else []
        out.append(pytest.param(number, marks=marks, id=number))
    return out


@pytest.mark.parametrize("number", _params())
def test_capture(number: str, captures: dict, replayed: dict, request: pytest.FixtureRequest) -> None:
    assert number in captures, f"captures folder missing or incomplete: {_FOLDER}"
    capture = captures[number]
    if number in KNOWN_GAPS:
        sim = request.getfixturevalue("scratch_simulator")
        resp = replay(sim.base_url, capture)
        diffs = structural_differences(capture, resp.status_code, resp.headers.get("Content-Type"), resp.content)
    else:
        seen = replayed[number]
        diffs = structural_differences(capture, seen.status, seen.content_type, seen.body)
    assert diffs == [], f"{capture.name}: {capture.meta.get('note', '')[:120]}"
