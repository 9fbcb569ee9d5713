"""A database holding the hotelmanangement PMS (the test double) and qlosync's own schema, for the adapter's tests.

Made once per run as a template (the double loaded into ``public``, then qlosync's migrations to head, as a
deployment next to that PMS would be) and cloned for each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db import migrate
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.conftest import RUN_ID, create_database, drop_database, database_url_for
from tests.hms.double import load_double


@pytest.fixture(scope="session")
def hms_template(pg_admin: Engine) -> Iterator[str]:
    name = f"qlosync_test_{RUN_ID}_hms_tpl"
    with pg_admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = database_url_for(name)
    load_double(url).dispose()
    migrate.upgrade(url)
    yield name
    drop_database(pg_admin, name)


@pytest.fixture
def hms_url(pg_admin: Engine, hms_template: str) -> Iterator[str]:
    name = create_database(pg_admin, hms_template)
    yield database_url_for(name)
    drop_database(pg_admin, name)


@pytest.fixture
def hms_engine(hms_url: str, secret_key: Secret) -> Iterator[Engine]:
    # qlosync's own engine: its search_path finds qlosync's tables first, then the PMS's in public.
    engine = make_engine(Settings(database_url=hms_url, secret_key=secret_key))
    yield engine
    engine.dispose()


@pytest.fixture
def hms_sessions(hms_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(hms_engine)
