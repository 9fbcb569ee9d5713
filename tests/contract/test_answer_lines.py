"""Contract: the room lines a push takes from its write's answer (qlosync/sync/outbound/read_back.py) are the ones
the real QloApps then held in /api/room_bookings, and the answers that cannot tell them are not taken.

Compared over the real captures: every POST and PUT /api/bookings answer, against the full room_bookings
listing captured later (161), on every field of a line the sync keeps (``map_line``), child ages and cancelled
flags apart (the answer has neither: their rules are checked on their own).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import pytest

from qlosync.qloapps.models import STATE_CANCELLED, STATE_REFUNDED, Booking, Order, RoomBooking
from qlosync.qloapps.payloads import parse_booking, parse_many, parse_order, parse_room_booking
from qlosync.sync.inbound.mapper import map_line
from qlosync.sync.outbound.read_back import answer_room_lines, lines_in_answer
from tests.contract.captures import Capture

ROOM_BOOKINGS = "161"  # every room line, taken after the bookings were written
ORDERS = "131"
CLOSED_ORDERS = "140"  # every cancelled (4) or refunded (5) order, with its state


def _answers(captures: dict[str, Capture]) -> list[tuple[str, Booking]]:
    out = []
    for number, capture in sorted(captures.items()):
        if capture.meta["method"] not in ("POST", "PUT") or capture.meta["status"] != 200:
            continue
        try:
            doc: Any = json.loads(capture.body)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("booking"), dict) and "associations" in doc["booking"]:
            out.append((number, parse_booking(doc)))
    return out


def _room_lines(captures: dict[str, Capture]) -> dict[int, RoomBooking]:
    lines = parse_many(json.loads(captures[ROOM_BOOKINGS].body), "bookings", parse_room_booking)
    return {line.id: line for line in lines}


def _kept(line: RoomBooking) -> dict[str, Any]:
    kept = dataclasses.asdict(map_line(line))
    del kept["child_ages"], kept["cancelled"]
    return kept


def test_every_room_of_every_captured_write_answer_is_its_room_line_as_qloapps_then_held(
        captures: dict[str, Capture]) -> None:
    held = _room_lines(captures)
    compared = 0
    for number, answer in _answers(captures):
        for line in answer_room_lines(answer, 0, cancelled=False):
            if line.id not in held:  # written after the listing was taken
                continue
            assert held[line.id].id_order == answer.id, number
            assert _kept(line) == _kept(held[line.id]), number
            compared += 1
    # Enough to mean something: the creates of 040-076 and the PUTs of 100-114 (date, room type, cancel,
    # occupancy, refund, an added room).
    assert compared >= 25


def test_a_line_without_children_has_no_child_ages_and_the_flags_follow_the_order_state(
        captures: dict[str, Capture]) -> None:
    held = _room_lines(captures).values()
    assert all(line.child_ages == () for line in held if line.children == 0)
    assert any(line.children > 0 and line.child_ages == () for line in held)  # why a child count is not enough
    states = {int(o["id"]): int(o["current_state"]) for o in json.loads(captures[CLOSED_ORDERS].body)["orders"]}
    cancelled = [line for line in held if states.get(line.id_order) == STATE_CANCELLED]
    assert cancelled and all(line.is_cancelled and line.is_refunded for line in cancelled)
    # a refunded order's lines are refunded, not always cancelled (112): such an answer is not taken
    refunded = [line for line in held if states.get(line.id_order) == STATE_REFUNDED]
    assert refunded and all(line.is_refunded for line in refunded)


# -- which answers are taken ----------------------------------------------------------------------------------

def _order_of(captures: dict[str, Capture], order_id: int) -> Order:
    orders = parse_many(json.loads(captures[ORDERS].body), "orders", parse_order)
    return next(o for o in orders if o.id == order_id)


def _stays(answer: Booking) -> Counter[tuple[int | None, Any, Any]]:
    return Counter((rt.id_room_type, rt.checkin_date, rt.checkout_date) for rt in answer.room_types for _ in rt.rooms)


@pytest.fixture
def single(captures: dict[str, Capture]) -> tuple[Booking, Order]:
    """040: order 1, one room; the answer's room set to no children (as a push of 2 adults gets it)."""
    answer = dict(_answers(captures))["040"]
    rt = answer.room_types[0]
    no_children = dataclasses.replace(rt, rooms=tuple(dataclasses.replace(r, child=0) for r in rt.rooms))
    return dataclasses.replace(answer, room_types=(no_children,)), _order_of(captures, 1)


def test_a_live_answer_with_the_stays_asked_for_gives_its_lines(single: tuple[Booking, Order]) -> None:
    answer, order = single
    lines = lines_in_answer(answer, order, _stays(answer))
    assert lines is not None and [line.id for line in lines] == list(order.room_booking_ids)
    assert not any(line.is_cancelled or line.is_refunded for line in lines)


def test_a_cancelled_order_gives_every_line_cancelled(single: tuple[Booking, Order]) -> None:
    answer, order = single
    lines = lines_in_answer(answer, dataclasses.replace(order, current_state=STATE_CANCELLED), None)
    assert lines is not None and all(line.is_cancelled and line.is_refunded for line in lines)


@pytest.mark.parametrize("why", ["children", "refunded", "other stays", "other lines", "no answer", "other order"])
def test_an_answer_that_cannot_tell_the_lines_is_not_taken(single: tuple[Booking, Order], why: str) -> None:
    answer, order = single
    stays = _stays(answer)
    rt = answer.room_types[0]
    if why == "children":
        answer = dataclasses.replace(answer, room_types=(dataclasses.replace(
            rt, rooms=tuple(dataclasses.replace(r, child=1) for r in rt.rooms)),))
    elif why == "refunded":
        order = dataclasses.replace(order, current_state=STATE_REFUNDED)
    elif why == "other stays":
        stays = Counter({(rt.id_room_type, rt.checkin_date, rt.checkout_date): 2})
    elif why == "other lines":  # the order, read after the write, has a line the answer does not show
        order = dataclasses.replace(order, room_booking_ids=(*order.room_booking_ids, 999))
    elif why == "other order":
        answer = dataclasses.replace(answer, id=order.id + 1)
    assert lines_in_answer(None if why == "no answer" else answer, order, stays) is None
