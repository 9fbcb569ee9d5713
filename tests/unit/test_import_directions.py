"""The layers import one way: qlosync.db knows nothing of qlosync.sync, and outbound sync may use inbound
sync (a push applies its read-back the way a pull would) but not the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "qlosync"


def imports_of(folder: Path) -> set[tuple[str, str]]:
    """(module file, imported module) for every import under *folder*, lazy ones inside functions too."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(PACKAGE.parent)), node.module))
            elif isinstance(node, ast.Import):
                found.update((str(path.relative_to(PACKAGE.parent)), alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize("folder, forbidden", [
    ("db", "qlosync.sync"),
    ("sync/inbound", "qlosync.sync.outbound"),
])
def test_a_layer_does_not_import_the_one_that_uses_it(folder, forbidden):
    wrong = sorted(f"{path} imports {module}" for path, module in imports_of(PACKAGE / folder)
                   if module == forbidden or module.startswith(forbidden + "."))
    assert wrong == []


def test_the_operator_log_has_its_own_module_and_no_sync_direction_defines_it():
    assert (PACKAGE / "sync" / "sync_log.py").exists()
    for path in (PACKAGE / "sync").rglob("*.py"):
        defined = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
        assert "sync_log" not in defined or path.name == "sync_log.py", path
