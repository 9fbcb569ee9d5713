"""The PMS-side content hash over the port's PmsState: unmoved by ids becoming text, moved by what a push sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from qlosync.pms.port import GuestState, LineState, PmsState
from qlosync.sync.pms_state import pms_state_hash

#: pms_state_hash of STATE as the release before issue 20 computed it (integer ids), stored in mappings today.
STORED_BEFORE_TEXT_IDS = "86dbeeab7a8631f98555ecc7ab4108fe7a3284a50bff81c508e5a0bf833bd2fc"

STATE = PmsState(
    "12", "confirmed", "Front desk", Decimal("10.00"), GuestState("7", "Ann", "Lee", "ann@example.com", "+1 555"),
    (LineState("30", "5", "101", date(2027, 3, 1), date(2027, 3, 3), 2, 1, (4,), Decimal("180.00")),
     LineState("31", "6", None, date(2027, 3, 1), date(2027, 3, 2), 1, 0, (), Decimal("0.00"))))


def test_the_hash_of_a_reservation_synced_before_ids_were_text_is_unchanged():
    assert pms_state_hash(STATE) == STORED_BEFORE_TEXT_IDS


def test_ids_of_lines_and_guest_and_the_line_order_do_not_count():
    lines = tuple(replace(line, id=f"x{line.id}") for line in reversed(STATE.lines))
    moved = replace(STATE, reservation_id="99", guest=replace(STATE.guest, id="g-1"), lines=lines)
    assert pms_state_hash(moved) == STORED_BEFORE_TEXT_IDS


def test_opaque_ids_are_hashed_as_text_and_tell_rows_apart():
    def with_room_type(room_type_id: str) -> str:
        return pms_state_hash(replace(STATE, lines=(replace(STATE.lines[0], room_type_id=room_type_id),)))

    uuid = "6f1c2a9e-1b7d-4c1e-9a51-0d3e2f7b8c44"
    assert len({with_room_type("5"), with_room_type("05"), with_room_type(uuid), with_room_type("6")}) == 4


def test_what_a_push_sends_moves_the_hash():
    line = STATE.lines[0]
    for changed in (replace(STATE, status="cancelled"), replace(STATE, guest=replace(STATE.guest, phone="+1 556")),
                    replace(STATE, lines=(replace(line, room_id="102"), STATE.lines[1])),
                    replace(STATE, lines=(replace(line, price_without_tax=Decimal("181.00")), STATE.lines[1]))):
        assert pms_state_hash(changed) != STORED_BEFORE_TEXT_IDS
