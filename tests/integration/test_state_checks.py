"""The database's CHECKs allow exactly the values of the enums in qlosync.states, after every migration.

Migrations are history and spell their values out; the models build their CHECKs from the enums
(qlosync.db.base.one_of). A value added to an enum without a migration, or a migration that forgot one,
shows here as the column and the two sets.
"""

from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy import CheckConstraint, create_engine, text

from qlosync.db import migrate
from qlosync.db.models import Base
from qlosync.pms.builtin import tables as builtin_pms_tables  # noqa: F401  (on the metadata too)
from qlosync.states import values

QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _enum_checks() -> dict[str, tuple[CheckConstraint, type[StrEnum]]]:
    """Every enum-backed CHECK of the models, by the name PostgreSQL knows it by."""
    found = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and "enum" in constraint.info:
                # Attached to its table, the constraint already carries the naming convention's full name.
                found[str(constraint.name)] = (constraint, constraint.info["enum"])
    return found


def _allowed(definition: str) -> set[str]:
    return {value.replace("''", "'") for value in QUOTED.findall(definition)}


def _checks_after_upgrade(url: str) -> dict[str, str]:
    """conname -> pg_get_constraintdef of every CHECK, once *url* is upgraded to head."""
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'c' AND connamespace IN ('public'::regnamespace, 'qlosync'::regnamespace)"))
            return {name: definition for name, definition in rows}
    finally:
        engine.dispose()


def test_every_enum_check_of_the_database_allows_exactly_the_enums_values(db_factory):
    # Given a database migrated from empty to head
    checks = _checks_after_upgrade(db_factory(migrated=False))
    expected = _enum_checks()
    assert expected, "no enum-backed CHECK found in the models"
    # Then each enum-backed CHECK exists, allows the enum's values, no more, no fewer, and NULL when the model's does
    wrong = {}
    for name, (constraint, names) in sorted(expected.items()):
        definition = checks.get(name)
        column = constraint.info["column"]
        if definition is None:
            wrong[name] = "missing from the database"
        elif _allowed(definition) != set(values(names)):
            wrong[name] = f"{column}: database {sorted(_allowed(definition))}, {names.__name__} {sorted(values(names))}"
        elif (f"{column} IS NULL" in definition) != (f"{column} IS NULL" in str(constraint.sqltext)):
            wrong[name] = f"{column}: NULL allowed by only one of the database and the model"
    assert wrong == {}
    # And no CHECK of the database lists values that no enum names (a closed set the code does not know)
    listing = {name for name, definition in checks.items() if _allowed(definition)}
    assert listing - set(expected) == set()


def test_the_models_checks_are_built_from_the_enums():
    for name, (constraint, names) in _enum_checks().items():
        assert _allowed(str(constraint.sqltext)) == set(values(names)), name
