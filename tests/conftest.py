"""Shared fixtures: real PostgreSQL and RabbitMQ, isolated per test run, and the QloApps simulator.

Each run gets a random id; under pytest-xdist every worker is a run of its own (its id ends in the worker's,
``gw0``...), so session fixtures are made once per worker. PostgreSQL: a template database migrated once per
run, cloned for every test that needs a database, dropped afterwards; the clones are made ahead of the tests
and dropped behind them, in the background (tests/spares.py). RabbitMQ: a vhost per run, deleted at the end,
and ``fresh_vhost`` (tests/runtime_support.py) for a test that needs one of its own, made ahead the same way.
A service that is down fails the run with the command that starts it; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from qlosync.crypto import generate_secret_key
from qlosync.db import migrate
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.pms import ADAPTERS, DEFAULT_PMS
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests import rabbitmq_admin
from tests.hms.double import load_double
from tests.pms_desk import DeskCannot
from tests.spares import Spares

pytest_plugins = ["tests.sync_fixtures", "tests.outbound_fixtures", "tests.serial_group"]

TEST_API_KEY = "QLOSYNCTESTKEY0123456789ABCDEFGH"  # 32 characters, like a real QloApps key
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1... when pytest-xdist runs this process
RUN_ID = uuid.uuid4().hex[:8] + (f"_{_XDIST_WORKER}" if _XDIST_WORKER else "")
ADMIN_URL = os.environ.get("QLOSYNC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("QLOSYNC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")


def database_url_for(name: str) -> str:
    """The URL of database *name* on the test PostgreSQL, with the admin's credentials."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def copy_database_settings(connection, template: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Give clone *name* the ALTER DATABASE ... SET settings of *template*, which CREATE DATABASE ... TEMPLATE
    does not copy (migration 0010's search_path, so plain connections find qlosync's tables)."""
    settings = connection.scalar(text(
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = :template AND s.setrole = 0"), {"template": template})
    for setting in settings or []:
        key, value = setting.split("=", 1)
        connection.execute(text(f'ALTER DATABASE "{name}" SET {key} TO {value}'))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any failure here means the service is unusable)
        pytest.exit(f"PostgreSQL is not reachable at {ADMIN_URL} ({exc}); run scripts/ensure-services", returncode=3)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def template_db(pg_admin: Engine) -> Iterator[str]:
    """A database migrated to head once per run, the template every test database is cloned from."""
    name = f"qlosync_test_{RUN_ID}_tpl"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    migrate.upgrade(database_url_for(name))
    yield name
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def hms_template_db(pg_admin: Engine) -> Iterator[str]:
    """The template of the hotelmanangement adapter's test databases: the test double of that PMS's schema
    (tests/hms/schema.sql) in ``public``, then qlosync's migrations (which install the change capture when
    QLOSYNC_PMS names that PMS). Made only by a run that has a test of that adapter."""
    name = f"qlosync_test_{RUN_ID}_hms_tpl"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    load_double(database_url_for(name)).dispose()
    migrate.upgrade(database_url_for(name), pms="hotelmanangement")
    yield name
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_database(pg_admin: Engine, template: str | None = None) -> str:
    name = f"qlosync_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        if template:
            copy_database_settings(connection, template, name)
    return name


def drop_database(pg_admin: Engine, name: str) -> None:
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_spares(pg_admin: Engine, template_db: str) -> Iterator[Spares[str]]:
    """Clones of the template made while the tests before run, and the tests' databases dropped while later
    ones run: each waits on PostgreSQL's disk flushes for up to seconds, the test need not."""
    spares = Spares(lambda: create_database(pg_admin, template_db), lambda name: drop_database(pg_admin, name),
                    ahead=2, name="databases", threads=2)
    yield spares
    spares.close()


@pytest.fixture(scope="session")
def hms_database_spares(pg_admin: Engine, hms_template_db: str) -> Iterator[Spares[str]]:
    """Clones of the hotelmanangement template, made ahead like ``database_spares`` (only once one is asked for)."""
    spares = Spares(lambda: create_database(pg_admin, hms_template_db), lambda name: drop_database(pg_admin, name),
                    ahead=2, name="hms-databases", threads=2)
    yield spares
    spares.close()


#: The session fixture of each adapter's migrated-template spares (the built-in's is every test's default).
TEMPLATE_SPARES = {"builtin": "database_spares", "hotelmanangement": "hms_database_spares"}


@pytest.fixture
def db_factory(pg_admin: Engine, database_spares: Spares[str], request: pytest.FixtureRequest) -> Iterator[object]:
    """Creates databases for one test (empty, or cloned from the migrated template of the PMS *pms*, the
    built-in one unless named) and drops them after."""
    created: list[tuple[Spares[str], str]] = []

    def create(*, migrated: bool = True, pms: str = DEFAULT_PMS) -> str:
        # Another adapter's spares are asked for only now: a run without its tests never makes its template.
        spares: Spares[str] = (database_spares if pms == DEFAULT_PMS else
                               request.getfixturevalue(TEMPLATE_SPARES[pms]))
        name = spares.take() if migrated else create_database(pg_admin)
        created.append((spares, name))
        return database_url_for(name)

    yield create
    for spares, name in created:
        spares.throw_away(name)


@pytest.fixture
def unused_database_name(database_spares: Spares[str]) -> Iterator[str]:
    """A database name nobody created yet (for commands that create it); dropped afterwards if they did."""
    name = f"qlosync_test_{RUN_ID}_{uuid.uuid4().hex[:8]}_new"
    yield name
    database_spares.throw_away(name)


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """An AMQP URL on a vhost that exists only for this test run."""
    vhost = f"qlosync_test_{RUN_ID}"
    try:
        rabbitmq_admin.add_vhost(vhost)
    except rabbitmq_admin.RabbitAdminError as exc:
        pytest.exit(f"cannot create a RabbitMQ vhost ({exc}); run scripts/ensure-services", returncode=3)
    yield f"{AMQP_URL}/{vhost}"
    rabbitmq_admin.delete_vhost(vhost)


def _add_vhost() -> str:
    vhost = f"qlosync_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    rabbitmq_admin.add_vhost(vhost)
    return vhost


@pytest.fixture(scope="session")
def vhost_spares() -> Iterator[Spares[str]]:
    """Vhosts for ``fresh_vhost``, added and deleted in the background: each rabbitmqctl call boots an Erlang VM."""
    spares = Spares(_add_vhost, rabbitmq_admin.delete_vhost, ahead=1, name="vhosts")
    yield spares
    spares.close()


@pytest.fixture
def database_url(db_factory, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    """A migrated database of its own for the test: of the adapter under test when the test is parametrized
    by ``pms_kind`` (through ``settings``), else of the built-in PMS (asking for ``pms_kind`` here would run
    every test that needs a database once per adapter)."""
    pms = request.getfixturevalue("pms_kind") if "pms_kind" in request.fixturenames else DEFAULT_PMS
    return db_factory(pms=pms)


@pytest.fixture
def secret_key() -> Secret:
    return Secret(generate_secret_key())


def _adapters_under_test() -> list[str]:
    """QLOSYNC_TEST_PMS: the adapters the shared suites run for, comma-separated, or ``all`` (the default: every
    adapter of qlosync.pms.ADAPTERS, as CI runs them)."""
    wanted = os.environ.get("QLOSYNC_TEST_PMS", "all").strip()
    kinds = sorted(ADAPTERS) if wanted == "all" else [k.strip() for k in wanted.split(",") if k.strip()]
    if unknown := set(kinds) - set(ADAPTERS):
        raise pytest.UsageError(f"QLOSYNC_TEST_PMS names no adapter {sorted(unknown)} ({', '.join(sorted(ADAPTERS))})")
    return kinds


@pytest.fixture(params=_adapters_under_test())
def pms_kind(request: pytest.FixtureRequest) -> str:
    """The PMS adapter under test: every test that uses ``settings`` runs once per adapter (tests/pms_desk.py)."""
    return str(request.param)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A test whose PMS desk cannot do what it asks (tests/pms_desk.py DeskCannot, raised in a fixture or in
    the test) is skipped with the reason, not failed: the one place that turns it into a skip."""
    outcome = yield
    if call.excinfo is None or not call.excinfo.errisinstance(DeskCannot) or call.when == "teardown":
        return
    report = outcome.get_result()
    path, line = item.reportinfo()[:2]
    report.outcome = "skipped"
    report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {call.excinfo.value}")


@pytest.fixture
def builtin_pms(pms_kind: str) -> None:
    """For tests of the built-in PMS itself (its tables, triggers, migrations), not of sync: they run for the
    built-in adapter only. Only for tests already parametrized by ``settings``; the others run once anyway."""
    if pms_kind != "builtin":
        pytest.skip("exercises the built-in PMS's own tables")


@pytest.fixture
def pms_environ(pms_kind: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """QLOSYNC_PMS of the adapter under test in os.environ, so that a CLI run (CliRunner overlays os.environ)
    reads and writes the PMS the ``settings`` fixture picked, not the default one."""
    monkeypatch.setenv("QLOSYNC_PMS", pms_kind)
    return pms_kind


@pytest.fixture(autouse=True)
def _adapter_under_test_in_environ(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pms_environ`` for every test parametrized by ``pms_kind``, whether it names it or not: a CLI run in a
    test that forgot it would otherwise drive the built-in PMS and could pass without touching the adapter
    under test. (Subprocesses get QLOSYNC_PMS from their own env: tests/acceptance/outbound_support.py.)"""
    if "pms_kind" in request.fixturenames:
        monkeypatch.setenv("QLOSYNC_PMS", request.getfixturevalue("pms_kind"))


@pytest.fixture
def settings(database_url: str, secret_key: Secret, pms_kind: str) -> Settings:
    return Settings(database_url=database_url, secret_key=secret_key, pms=pms_kind)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def simulator() -> Iterator["Simulator"]:  # noqa: F821
    """A fresh QloApps simulator with the demo data, serving HTTP on a free loopback port."""
    from qlosync.qloapps.simulator import Simulator

    sim = Simulator(api_key=TEST_API_KEY)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
