"""Bulk writes on a session's own psycopg connection: pipelined ``executemany``, one round trip per statement.

Sync writes a page of bookings as a handful of statements (issue 14's fast path). SQLAlchemy's unit of work
costs more than the database for those rows (an object, identity-map entry and attribute events per row, and
multi-row INSERT texts that psycopg parses anew every time); psycopg's ``executemany`` sends one prepared
statement for all rows in pipeline mode. The statements run in the session's transaction, after its pending
ORM changes (flushed first), and the ORM knows nothing of the rows they write: callers use them for rows the
session has not loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.orm import Session


@contextmanager
def raw_cursor(session: Session) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the session's connection, after flushing what the session has pending."""
    session.flush()
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"bulk writes need a psycopg 3 connection, not {type(driver).__name__}")
    cursor = driver.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def returned_ids(cursor: psycopg.Cursor[Any]) -> list[int]:
    """The first column of every result set of an ``executemany(..., returning=True)``, in order."""
    ids: list[int] = []
    while True:
        row = cursor.fetchone()
        if row is not None:
            ids.append(row[0])
        if not cursor.nextset():
            return ids
