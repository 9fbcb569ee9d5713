"""Where the docs state a number or a rule that lives in the code, they state the code's."""

from __future__ import annotations

from qlosync.ops.shops import OVERDUE_INTERVALS
from qlosync.ops.status import SYNC_OVERDUE_GRACE_S, SYNC_OVERDUE_INTERVALS
from tests.deploy.entry_points import ROOT

INTERVAL = "`QLOAPPS_SYNC_INTERVAL_MS`"


def doc(name: str) -> str:
    return " ".join((ROOT / "docs" / name).read_text().split())  # line breaks do not matter


def test_both_overdue_rules_are_stated_where_either_is():
    # The shop list's state and the status verdict are two rules today; each page gives both, with the code's numbers.
    shops, runtime = doc("shops.md"), doc("runtime.md")
    assert f"older than {OVERDUE_INTERVALS} × {INTERVAL}" in shops
    assert f"older than {SYNC_OVERDUE_INTERVALS} × {INTERVAL} + {SYNC_OVERDUE_GRACE_S} s" in shops
    assert f"{SYNC_OVERDUE_INTERVALS} x {INTERVAL} (`SYNC_OVERDUE_INTERVALS`) + {SYNC_OVERDUE_GRACE_S} s" in runtime
    assert f"stricter, {OVERDUE_INTERVALS} x and no grace" in runtime


def test_slots_are_described_with_per_shop_offsets():
    # schedule_slots: epoch + offset (a hash of the shop's name) + k × interval, not multiples of the interval.
    for name in ("sync.md", "many-shops.md"):
        text = doc(name)
        assert f"`epoch + offset + k × " in text, name
        assert "multiples of the interval" not in text, name


def test_the_bad_input_list_names_the_missing_phone():
    bad_input = doc("outbound.md").split("## Bad input", 1)[1].split("## ", 1)[0]
    assert "without a phone number" in bad_input
