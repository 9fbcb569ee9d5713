"""periodiq ticks once a minute; the slots of any interval >= 1 s are derived from the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qlosync.sync.inbound.schedule_slots import slots_in_minute

MINUTE = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def test_five_second_interval_gives_twelve_slots_per_minute():
    slots = slots_in_minute(MINUTE, 5_000, now=MINUTE - timedelta(milliseconds=1))
    assert [s for s, _ in slots] == [MINUTE + timedelta(seconds=5 * i) for i in range(12)]
    assert [d for _, d in slots] == [1 + 5_000 * i for i in range(12)]


def test_five_minute_interval_has_a_slot_only_in_every_fifth_minute():
    assert [s for s, _ in slots_in_minute(MINUTE, 300_000, now=MINUTE)] == [MINUTE]
    assert slots_in_minute(MINUTE + timedelta(minutes=1), 300_000, now=MINUTE + timedelta(minutes=1)) == []


def test_intervals_that_do_not_divide_a_minute_follow_the_epoch():
    # 7 s slots: every process computes the same instants
    slots = [s for s, _ in slots_in_minute(MINUTE, 7_000, now=MINUTE - timedelta(seconds=1))]
    assert all(int(s.timestamp()) % 7 == 0 for s in slots)
    assert all(MINUTE <= s < MINUTE + timedelta(minutes=1) for s in slots)
    assert len(slots) in (8, 9)


def test_a_late_tick_sends_one_catch_up_slot_not_a_burst():
    late = MINUTE + timedelta(seconds=22)
    slots = slots_in_minute(MINUTE, 5_000, now=late)
    assert slots[0] == (MINUTE + timedelta(seconds=20), 0)
    assert [s for s, _ in slots[1:]] == [MINUTE + timedelta(seconds=s) for s in range(25, 60, 5)]
    assert slots[1][1] == 3_000


def test_delays_round_up_so_no_pull_starts_before_its_slot():
    now = MINUTE + timedelta(seconds=4, microseconds=999_500)
    slot, delay = slots_in_minute(MINUTE, 5_000, now=now)[1]
    assert slot == MINUTE + timedelta(seconds=5)
    assert delay == 1  # 0.5 ms rounded up, not down to 0


# -- many shops: each at its own offset ----------------------------------------------------------------------


def test_a_shops_offset_is_stable_and_inside_the_interval():
    from qlosync.sync.inbound.schedule_slots import slot_offset_ms

    assert slot_offset_ms("hotel-0001", 300_000) == slot_offset_ms("hotel-0001", 300_000)
    assert 0 <= slot_offset_ms("hotel-0001", 300_000) < 300_000
    assert slot_offset_ms("hotel-0001", 300_000) != slot_offset_ms("hotel-0002", 300_000)


def test_a_thousand_shops_spread_over_the_interval_instead_of_starting_together():
    from collections import Counter

    from qlosync.sync.inbound.schedule_slots import shop_slots

    starts: Counter[int] = Counter()
    for i in range(1, 1001):
        for minute in range(5):  # one 5-minute interval, ticked minute by minute
            at = MINUTE + timedelta(minutes=minute)
            for slot in shop_slots(f"hotel-{i:04d}", at, 300_000, at, None):
                starts[int(slot.slot.timestamp())] += 1
    assert sum(starts.values()) == 1000  # every shop exactly once per interval
    assert len(starts) > 250  # spread over the 300 seconds, about 3 a second ...
    assert max(starts.values()) <= 12  # ... and never a crowd


def test_the_nightly_slot_may_fall_after_midnight():
    from datetime import time

    from qlosync.sync.inbound.schedule_slots import nightly_slot

    midnight = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    # 23:30 plus a 40-minute offset is 00:10 the next day
    assert nightly_slot(midnight + timedelta(minutes=10), time(23, 30), 40 * 60_000) == midnight + timedelta(minutes=10)
    assert nightly_slot(midnight + timedelta(minutes=11), time(23, 30), 40 * 60_000) is None
