"""The nightly full reconciliation is one more slot of the minute tick, at QLOSYNC_FULL_SYNC_AT UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from qlosync.errors import ConfigurationError
from qlosync.settings import Settings
from qlosync.sync.inbound.schedule_slots import PullSlot, nightly_slot, pull_slots, slots_in_minute

NIGHT = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
AT = time(2, 30)


def test_the_nightly_slot_falls_in_its_minute_only():
    assert nightly_slot(NIGHT, AT) == NIGHT
    assert nightly_slot(NIGHT + timedelta(seconds=42), AT) == NIGHT  # a late tick of the same minute
    assert nightly_slot(NIGHT - timedelta(minutes=1), AT) is None
    assert nightly_slot(NIGHT + timedelta(minutes=1), AT) is None
    assert nightly_slot(NIGHT, None) is None


def test_it_replaces_the_incremental_slot_at_the_same_instant():
    # 5-minute slots: 02:30 is one of them; the slot is claimed once, so it is the full one
    assert pull_slots(NIGHT, 300_000, NIGHT, AT) == [PullSlot(NIGHT, 0, "full")]
    # Any other minute is unchanged
    later = NIGHT + timedelta(minutes=5)
    assert pull_slots(later, 300_000, later, AT) == [PullSlot(s, d, "incremental")
                                                     for s, d in slots_in_minute(later, 300_000, later)]


def test_a_late_tick_still_sends_it_and_drops_the_catch_up_slot_that_would_compete_for_the_lock():
    now = NIGHT + timedelta(seconds=22)
    slots = pull_slots(NIGHT, 5_000, now, AT)
    assert slots[0] == PullSlot(NIGHT, 0, "full")
    # The 02:30:20 catch-up is gone; the slots still ahead are kept
    assert [(s.slot, s.kind) for s in slots[1:]] == [(NIGHT + timedelta(seconds=s), "incremental") for s in range(25, 60, 5)]


def test_a_time_between_interval_slots_is_its_own_slot():
    at = time(2, 30)
    slots = pull_slots(NIGHT, 7_000, NIGHT - timedelta(milliseconds=5), at)  # 7 s slots never hit 02:30:00
    assert slots[0] == PullSlot(NIGHT, 5, "full")
    assert all(s.kind == "incremental" and s.slot != NIGHT for s in slots[1:])


def test_two_ticks_of_the_minute_name_the_same_nightly_slot():
    a = [s for s in pull_slots(NIGHT, 1_000, NIGHT + timedelta(milliseconds=100), AT) if s.kind == "full"]
    b = [s for s in pull_slots(NIGHT, 1_000, NIGHT + timedelta(seconds=9), AT) if s.kind == "full"]
    assert [s.slot for s in a] == [s.slot for s in b] == [NIGHT]


# -- QLOSYNC_FULL_SYNC_AT ----------------------------------------------------------------------------------


def test_default_is_half_past_two_utc():
    assert Settings.from_env({}).full_sync_at == time(2, 30)
    assert Settings.from_env({"QLOSYNC_FULL_SYNC_AT": " "}).full_sync_at == time(2, 30)


@pytest.mark.parametrize(("value", "expected"), [
    ("02:30", time(2, 30)), ("2:05", time(2, 5)), ("00:00", time(0, 0)), ("23:59", time(23, 59)),
    (" 04:15 ", time(4, 15)), ("off", None), ("OFF", None), ("Off", None),
])
def test_time_of_day_or_off(value, expected):
    assert Settings.from_env({"QLOSYNC_FULL_SYNC_AT": value}).full_sync_at == expected


@pytest.mark.parametrize("value", ["24:00", "02:60", "2:5", "0230", "02:30:00", "2.30", "noon", "-1:30",
                                   "+2:30", "\uff12:30", "no", "false"])
def test_anything_else_is_a_one_line_error(value):
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"QLOSYNC_FULL_SYNC_AT": value})
    message = str(info.value)
    assert message.startswith("QLOSYNC_FULL_SYNC_AT must be a UTC time of day HH:MM")
    assert "or off" in message and repr(value) in message and "\n" not in message
