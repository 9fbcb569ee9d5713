"""A database holding the hotelmanangement PMS (the test double) and qlosync's own schema, for the adapter's tests.

Cloned for each test from the template the shared suites use for that adapter (tests/conftest.py
``hms_template_db``: the double loaded into ``public``, then qlosync's migrations to head, which install the
change capture, as a deployment next to that PMS would be).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.secrets import Secret
from qlosync.settings import Settings


@pytest.fixture
def hms_url(db_factory) -> str:  # type: ignore[no-untyped-def]
    """A clone of the hotelmanangement template the shared suites use (tests/conftest.py hms_template_db)."""
    return str(db_factory(pms="hotelmanangement"))


@pytest.fixture
def hms_engine(hms_url: str, secret_key: Secret) -> Iterator[Engine]:
    # qlosync's own engine: its search_path finds qlosync's tables first, then the PMS's in public.
    engine = make_engine(Settings(database_url=hms_url, secret_key=secret_key))
    yield engine
    engine.dispose()


@pytest.fixture
def hms_sessions(hms_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(hms_engine)
