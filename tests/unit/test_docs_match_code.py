"""Where the docs state a number or a rule that lives in the code, they state the code's."""

from __future__ import annotations

from qlosync.ops.overdue import OVERDUE_GRACE_S, OVERDUE_INTERVALS
from tests.deploy.entry_points import ROOT

INTERVAL = "`QLOAPPS_SYNC_INTERVAL_MS`"


def doc(name: str) -> str:
    return " ".join((ROOT / "docs" / name).read_text().split())  # line breaks do not matter


def test_the_one_overdue_rule_is_stated_with_the_codes_numbers():
    # The shop list's state and the status verdict share one rule; both pages give it, neither a second one.
    shops, runtime = doc("shops.md"), doc("runtime.md")
    assert f"older than {OVERDUE_INTERVALS} × {INTERVAL} + {OVERDUE_GRACE_S} s" in shops
    assert f"{OVERDUE_INTERVALS} x {INTERVAL} (`OVERDUE_INTERVALS`) + {OVERDUE_GRACE_S} s (`OVERDUE_GRACE_S`)" in runtime
    assert "the same rule as the shop table's `overdue` state" in runtime
    assert "stricter" not in runtime and "looser rule" not in shops


def test_slots_are_described_with_per_shop_offsets():
    # schedule_slots: epoch + offset (a hash of the shop's name) + k × interval, not multiples of the interval.
    for name in ("sync.md", "many-shops.md"):
        text = doc(name)
        assert f"`epoch + offset + k × " in text, name
        assert "multiples of the interval" not in text, name


def test_the_bad_input_list_names_the_missing_phone():
    bad_input = doc("outbound.md").split("## Bad input", 1)[1].split("## ", 1)[0]
    assert "without a phone number" in bad_input
