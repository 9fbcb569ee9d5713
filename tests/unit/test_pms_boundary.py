"""Sync code reaches the PMS through qlosync/pms/ only (issue 20): no module outside it (and the migrations,
which are history) imports the built-in PMS or names one of its tables.

Until the port exists, the modules that still cross are listed here. The list may only shrink: a new module
that crosses fails this test, and so does a listed module that no longer crosses (take it off the list).
"""

from __future__ import annotations

import ast
from pathlib import Path

from qlosync.db.base import Base
from qlosync.pms.builtin import tables  # noqa: F401  (puts the built-in PMS's tables on the metadata)

PACKAGE = Path(__file__).resolve().parents[2] / "qlosync"
PMS_PACKAGE = PACKAGE / "pms"
BUILTIN = "qlosync.pms.builtin"

#: Modules that still import the built-in PMS or name its tables, as found on 2026-12-03 (issue 20 empties it).
STILL_CROSSING = frozenset({
    "qlosync/cli/ari.py",
    "qlosync/cli/outbound.py",
    "qlosync/sync/ari/availability.py",
    "qlosync/sync/ari/rates.py",
    "qlosync/sync/inbound/apply.py",
    "qlosync/sync/inbound/catalog.py",
    "qlosync/sync/inbound/guests.py",
    "qlosync/sync/outbound/jobs.py",
    "qlosync/sync/outbound/mapper.py",
    "qlosync/sync/outbound/push.py",
    "qlosync/sync/outbox.py",
    "qlosync/sync/pms_state.py",
})


def pms_table_names() -> set[str]:
    return {name for name in Base.metadata.tables if name.startswith("pms_")}


def crossings(path: Path, table_names: set[str]) -> list[str]:
    """What in *path* reaches the built-in PMS directly: imports of it, string literals naming its tables."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module == BUILTIN or node.module.startswith(
                BUILTIN + ".") or (node.module == "qlosync.pms" and any(a.name == "builtin" for a in node.names))):
            found.append(f"imports {node.module}")
        elif isinstance(node, ast.Import):
            found.extend(f"imports {a.name}" for a in node.names if a.name.startswith(BUILTIN))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = set(node.value.replace('"', " ").replace(",", " ").replace("(", " ").replace(".", " ").split())
            found.extend(f"names table {name}" for name in sorted(words & table_names))
    return found


def crossing_modules() -> dict[str, list[str]]:
    table_names = pms_table_names()
    result = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if PMS_PACKAGE in path.parents:
            continue
        found = crossings(path, table_names)
        if found:
            result[str(path.relative_to(PACKAGE.parent))] = found
    return result


def test_the_pms_tables_are_known():
    assert {"pms_reservations", "pms_guests", "pms_outbox", "pms_room_types"} <= pms_table_names()


def test_no_new_module_reaches_the_built_in_pms_directly():
    new = {module: what for module, what in crossing_modules().items() if module not in STILL_CROSSING}
    assert new == {}, "go through qlosync.pms instead"


def test_the_list_of_modules_still_crossing_only_shrinks():
    gone = sorted(STILL_CROSSING - set(crossing_modules()))
    assert gone == [], "these no longer cross the boundary: take them off STILL_CROSSING"


def test_the_check_sees_an_import_and_a_table_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from qlosync.pms.builtin.tables import PmsGuest\nSQL = "SELECT id FROM pms_guests"\n')
    assert crossings(module, pms_table_names()) == ["imports qlosync.pms.builtin.tables", "names table pms_guests"]
