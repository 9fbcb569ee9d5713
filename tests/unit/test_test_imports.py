"""Test modules share helpers through support modules and conftest.py, never through each other.

A helper imported from ``test_x.py`` ties the importer to that file's fixtures, marks and collection, and a
``_private`` name imported across modules is a helper nobody admits to sharing. Both belong in a support
module (public name) or, for fixtures, in the nearest conftest.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_test_module(name: str) -> bool:
    return name.split(".")[0] == "tests" and name.rsplit(".", 1)[-1].startswith("test_")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def resolved(node: ast.ImportFrom, importer: Path) -> str:
    """The absolute module name of ``from <module> import ...``, relative forms included."""
    if not node.level:
        return node.module or ""
    package = module_name(importer).split(".")
    if importer.name != "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def wrong_imports(path: Path, tree: ast.AST) -> list[str]:
    """What *path* imports from a test module, or privately from another module of tests/."""
    own = module_name(path)
    where = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno} imports {alias.name}" for alias in node.names
                      if is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            source = resolved(node, path)
            if source.split(".")[0] != "tests" or source == own:
                continue
            for alias in node.names:
                if is_test_module(source) or is_test_module(f"{source}.{alias.name}"):
                    found.append(f"{where}:{node.lineno} imports {alias.name} from test module {source}")
                elif is_private(alias.name):
                    found.append(f"{where}:{node.lineno} imports private {alias.name} from {source}")
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytest_plugins"
                                                  for t in node.targets):
            # A test module loaded as a plugin shares its fixtures the same hidden way.
            found += [f"{where}:{node.lineno} loads test module {item.value} as a plugin"
                      for item in ast.walk(node.value)
                      if isinstance(item, ast.Constant) and isinstance(item.value, str)
                      and is_test_module(item.value)]
    return found


def all_wrong_imports(folder: Path) -> list[str]:
    return sorted(problem for path in folder.rglob("*.py") if ".venv" not in path.parts
                  for problem in wrong_imports(path, ast.parse(path.read_text(), str(path))))


def test_no_test_module_is_imported_and_no_private_name_crosses_modules() -> None:
    assert all_wrong_imports(TESTS) == []


def checked(source: str, at: str = "tests/acceptance/test_here.py") -> list[str]:
    return wrong_imports(ROOT / at, ast.parse(source))


def test_the_check_sees_each_kind_of_wrong_import() -> None:
    # The check must see what it looks for, or the test above could never fail.
    assert checked("from tests.acceptance.test_scheduler_process import start_process") != []
    assert checked("from .test_scheduler_process import start_process") != []
    assert checked("from . import test_scheduler_process") != []
    assert checked("from tests.integration import test_rates") != []
    assert checked("import tests.integration.test_rates") != []
    assert checked("from tests.conftest import _db_url") != []
    assert checked("from ..conftest import _db_url") != []
    assert checked("def f():\n    from tests.runtime_support import _hidden\n") != []
    assert checked("pytest_plugins = ['tests.integration.test_rates']", at="tests/conftest.py") != []


def test_the_check_lets_support_modules_public_names_and_other_packages_through() -> None:
    assert checked("from tests.runtime_support import wait_until, fresh_vhost") == []
    assert checked("from tests.conftest import TEST_API_KEY, __doc__") == []
    assert checked("from .outbound_support import process_env") == []
    assert checked("from qlosync.sync import _anything") == []
    assert checked("import tests.runtime_support") == []
    # A module's own private names are its business.
    assert checked("from tests.acceptance.test_here import _own") == []
