"""Engine and session factories, built from Settings (never at import time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import CursorResult, Engine, Executable, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.schema import connect_options
from qlosync.errors import DatabaseUnavailableError
from qlosync.pms import PMS_OPTION
from qlosync.settings import Settings


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    """An engine for DATABASE_URL; ``pool_pre_ping`` so a restarted PostgreSQL costs one retry, not a crash.

    The pool bounds the process's connections (QLOSYNC_DB_POOL_SIZE + QLOSYNC_DB_MAX_OVERFLOW): a pull holds
    up to three at once (its shop lock, the page being applied, the page being read ahead), so the default 25
    serves a worker's 8 threads all pulling.

    Every connection gets qlosync's search_path (its schema, then public: see qlosync.db.schema), added to
    any libpq ``options`` a caller passes in ``connect_args``.
    """
    given = kwargs.pop("connect_args", None)
    arguments = connect_args(settings, given if isinstance(given, dict) else {})
    options: dict[str, object] = {"pool_pre_ping": True, "connect_args": arguments,
                                  "pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
                                  "pool_timeout": 60,
                                  # open_pms() reads the adapter from here, whatever session it is given.
                                  "execution_options": {PMS_OPTION: settings.pms}}
    options.update(kwargs)
    return create_engine(settings.database_url, **options)


def connect_args(settings: Settings, given: dict[str, object]) -> dict[str, object]:
    """psycopg's connect arguments: a 5 s timeout and qlosync's search_path, plus *given* (its libpq ``options``
    added to the search_path's, not replacing it)."""
    arguments: dict[str, object] = {"connect_timeout": 5, **given}
    arguments["options"] = " ".join(
        part for part in (connect_options(settings.db_schema), str(given.get("options") or "")) if part)
    return arguments


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; the number of rows it changed.

    Session.execute is typed as returning a plain Result, which has no rowcount; for DML it is a CursorResult.
    """
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"not an UPDATE or DELETE: {type(statement).__name__}")
    return result.rowcount


def check_database(engine: Engine) -> None:
    """Raise DatabaseUnavailableError with one clear line if PostgreSQL does not answer."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach PostgreSQL at {engine.url.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
        ) from None
