"""From nightly PMS prices to the fewest QloApps price rules, and the changes that get there.

Pure functions. Consecutive nights with one price become one rule (a fixed-price feature price, B43),
so the number of rules, and of requests, grows with the price changes, not with the nights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True, order=True)
class Run:
    """Nights date_from..date_to (inclusive) at one price, tax excluded."""

    date_from: date
    date_to: date
    price: Decimal

    def nights(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range((self.date_to - self.date_from).days + 1)]


@dataclass(frozen=True)
class Owned:
    """A rule qlosync owns, as QloApps has it now."""

    rule_id: int
    run: Run


@dataclass(frozen=True)
class RulePlan:
    """What to send: rules to create, rules to change (reused, fewer deletes), rules to delete."""

    create: tuple[Run, ...]
    update: tuple[tuple[int, Run], ...]
    delete: tuple[int, ...]
    keep: tuple[int, ...]

    @property
    def requests(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)


def runs(nightly: Mapping[date, Decimal]) -> list[Run]:
    """Group nights into runs of consecutive nights with the same price."""
    out: list[Run] = []
    for night in sorted(nightly):
        price = nightly[night]
        last = out[-1] if out else None
        if last is not None and last.price == price and last.date_to + timedelta(days=1) == night:
            out[-1] = Run(last.date_from, night, price)
        else:
            out.append(Run(night, night, price))
    return out


def plan(desired: Sequence[Run], owned: Sequence[Owned]) -> RulePlan:
    """Rules identical to a wanted run stay; the others are reused for the remaining runs, in date order;
    what is left over is created or deleted."""
    wanted = sorted(desired)
    by_run: dict[Run, list[int]] = {}
    for rule in sorted(owned, key=lambda o: o.rule_id):
        by_run.setdefault(rule.run, []).append(rule.rule_id)
    keep, missing = [], []
    for run in wanted:
        ids = by_run.get(run)
        if ids:
            keep.append(ids.pop(0))
        else:
            missing.append(run)
    spare = sorted((rule for rule in owned if rule.rule_id not in keep), key=lambda o: (o.run, o.rule_id))
    update = tuple((rule.rule_id, run) for rule, run in zip(spare, missing, strict=False))
    return RulePlan(
        create=tuple(missing[len(update):]),
        update=update,
        delete=tuple(rule.rule_id for rule in spare[len(update):]),
        keep=tuple(keep),
    )


def effective(owned: Sequence[Owned], nights: Sequence[date]) -> dict[date, list[Decimal]]:
    """Per night, the prices of the owned rules that cover it (exactly one is the goal)."""
    covering: dict[date, list[Decimal]] = {night: [] for night in nights}
    for rule in owned:
        for night in rule.run.nights():
            if night in covering:
                covering[night].append(rule.run.price)
    return covering
