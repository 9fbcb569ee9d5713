"""Declarative base with a naming convention, so constraints get stable names in migrations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every qlosync table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False)


class PmsIdType(TypeDecorator[str]):
    """A PMS id in qlosync's own tables: opaque text (qlosync.pms.port.PmsId), whatever keys the PMS uses.

    Binds whatever it is given as text, so an integer key of the built-in PMS compares equal to its id.
    """

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


def in_values(column: str, values: Iterable[str]) -> str:
    """SQL for a CHECK that *column* holds one of *values* (all plain identifiers, never user input)."""
    # str(): a StrEnum member's repr is not its value.
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def one_of(column: str, names: type[StrEnum], *, name: str, nullable: bool = False) -> CheckConstraint:
    """A CHECK that *column* holds a value of *names* (or NULL when *nullable*).

    The enum rides along in the constraint's ``info``, so a test can hold the database's CHECK to it.
    """
    sql = in_values(column, names)
    return CheckConstraint(f"{column} IS NULL OR {sql}" if nullable else sql, name=name,
                           info={"enum": names, "column": column})
