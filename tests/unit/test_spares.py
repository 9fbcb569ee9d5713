"""tests/spares.py: each test gets a thing nobody had, and everything made is thrown away by close()."""

from __future__ import annotations

import itertools
import threading

import pytest

from tests.spares import Spares


class Ledger:
    def __init__(self, fail_make_at: int | None = None) -> None:
        self.numbers = itertools.count()
        self.made: list[int] = []
        self.thrown: list[int] = []
        self.lock = threading.Lock()
        self.fail_make_at = fail_make_at

    def make(self) -> int:
        with self.lock:
            number = next(self.numbers)
            if number == self.fail_make_at:
                raise RuntimeError("cannot make it")
            self.made.append(number)
            return number

    def throw_away(self, number: int) -> None:
        with self.lock:
            self.thrown.append(number)


@pytest.mark.parametrize("threads", [1, 2])
def test_taken_things_are_distinct_and_everything_made_is_thrown_away(threads: int) -> None:
    ledger = Ledger()
    spares = Spares(ledger.make, ledger.throw_away, ahead=2, name="test", threads=threads)
    taken = [spares.take() for _ in range(5)]
    assert len(set(taken)) == 5
    for number in taken:
        spares.throw_away(number)
    spares.close()
    assert sorted(ledger.thrown) == sorted(ledger.made)  # the spares nobody took too
    assert len(ledger.made) >= 5


def test_nothing_is_made_before_the_first_take() -> None:
    ledger = Ledger()
    spares = Spares(ledger.make, ledger.throw_away, ahead=3, name="test")
    spares.close()
    assert ledger.made == [] and ledger.thrown == []


def test_a_failed_make_is_raised_in_the_test_that_takes_it() -> None:
    ledger = Ledger(fail_make_at=0)
    spares = Spares(ledger.make, ledger.throw_away, ahead=0, name="test")
    with pytest.raises(RuntimeError, match="cannot make it"):
        spares.take()
    assert spares.take() == 1
    spares.throw_away(1)
    spares.close()
    assert ledger.thrown == [1]


def test_a_failed_throw_away_is_raised_by_close() -> None:
    def refuse(number: int) -> None:
        raise RuntimeError(f"cannot throw {number} away")

    spares = Spares(itertools.count().__next__, refuse, ahead=0, name="test")
    spares.throw_away(spares.take())
    with pytest.raises(RuntimeError, match="cannot throw 0 away"):
        spares.close()
