"""Sync code reaches the PMS through the port only (issue 20): no module outside qlosync/pms/ (and the
migrations, which are history) imports the built-in PMS or names one of its tables; they use qlosync.pms and
qlosync.pms.port."""

from __future__ import annotations

import ast
from pathlib import Path

from qlosync.db.base import Base
from qlosync.pms.builtin import tables  # noqa: F401  (puts the built-in PMS's tables on the metadata)

PACKAGE = Path(__file__).resolve().parents[2] / "qlosync"
PMS_PACKAGE = PACKAGE / "pms"
BUILTIN = "qlosync.pms.builtin"


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


def test_no_module_outside_the_pms_package_reaches_the_built_in_pms_directly():
    assert crossing_modules() == {}, "go through qlosync.pms and qlosync.pms.port instead"


def test_the_check_sees_an_import_and_a_table_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from qlosync.pms.builtin.tables import PmsGuest\nSQL = "SELECT id FROM pms_guests"\n')
    assert crossings(module, pms_table_names()) == ["imports qlosync.pms.builtin.tables", "names table pms_guests"]
