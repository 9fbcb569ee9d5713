"""Rules that used to be spelled out in several places (issue 19) live in one, and the others call it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "qlosync"


def _modules() -> list[tuple[str, ast.AST]]:
    return [(str(path.relative_to(PACKAGE.parent)), ast.parse(path.read_text()))
            for path in PACKAGE.rglob("*.py") if "simulator" not in path.parts]


def _spelled_status(element: ast.expr) -> object:
    """"cancelled", or ReservationStatus.CANCELLED as the value it names."""
    if isinstance(element, ast.Attribute) and getattr(element.value, "id", None) == "ReservationStatus":
        return element.attr.lower()
    return getattr(element, "value", None)


def test_the_closed_reservation_statuses_are_listed_once():
    spelled = [where for where, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, (ast.Tuple, ast.List, ast.Set))
               and {_spelled_status(e) for e in node.elts} == {"cancelled", "refunded"}]
    assert spelled == ["qlosync/states.py"]


def test_one_module_asks_qloapps_for_its_currencies():
    callers = sorted({where for where, tree in _modules() for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr == "get_currency_codes"
                      and not where.startswith("qlosync/qloapps/")})
    assert callers == ["qlosync/sync/currencies.py"]


def test_int32_max_is_written_once():
    spelled = [where for where, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
               and getattr(node.left, "value", None) == 2 and getattr(node.right, "value", None) == 31]
    assert spelled == ["qlosync/fields.py"]
