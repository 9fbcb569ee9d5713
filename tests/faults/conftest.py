"""Private PostgreSQL and RabbitMQ servers for the fault tests, owned by this test session.

The fault tests stop, restart and break their servers, so they never use the shared ones on 5432/5672:

* ``private_pg``: a cluster made with ``initdb`` in a temporary directory (run as the ``postgres`` user
  when the tests run as root), started with ``pg_ctl`` on a free port; a template database migrated once.
* ``private_rabbit``: a RabbitMQ node ``qlosync-faults-<id>@localhost`` on free AMQP and distribution
  ports, with its own mnesia, logs, Erlang cookie (its own HOME), config and an empty plugins file.

Both are session-scoped and always torn down (node stopped, cluster stopped, directories removed), also
when a test fails. Per test, ``database_url`` (overriding the shared one) clones the template on the
private cluster, and ``amqp_url`` is a fresh vhost on the private node.

Both listen on 127.0.0.1 only; ``listen_also(address)`` / ``forget(address)`` add and remove one more
address (the multi-host scenario's bridge), so the other scenarios see the servers as before.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.processes import free_port
from qlosync.db import migrate
from qlosync.pms import DEFAULT_PMS
from tests.conftest import copy_database_settings
from tests.hms.double import load_double

PG_BIN = Path(os.environ.get("QLOSYNC_FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
RABBIT_BIN = Path(os.environ.get("QLOSYNC_FAULTS_RABBIT_BIN", "/usr/lib/rabbitmq/bin"))
SESSION_ID = uuid.uuid4().hex[:8]


# -- PostgreSQL -------------------------------------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    directory: Path
    port: int
    run_as: list[str]
    #: Addresses besides 127.0.0.1 that the next (re)start listens on: see ``listen_also``.
    extra_addresses: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        addresses = ",".join(["127.0.0.1", *self.extra_addresses])
        options = f"-p {self.port} -k {self.directory} -c listen_addresses={addresses} -c fsync=off " \
                  "-c max_connections=300"
        result = subprocess.run([*self.run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                 str(self.directory / "server.log"), "-o", options, "-w", *args],
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {result.stdout}{result.stderr}\n{self.log()[-3000:]}")

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when this returns."""
        self.pg_ctl("restart", "-m", "fast")

    @property
    def hba(self) -> Path:
        return self.data / "pg_hba.conf"

    def listen_also(self, address: str, network: str) -> None:
        """Listen on *address* too and trust clients from *network* (a CIDR): a restart, as
        ``listen_addresses`` cannot change otherwise. For processes in other network namespaces."""
        self.extra_addresses.append(address)
        self._hba_line(f"host all all {network} trust", add=True)
        self.restart()

    def forget(self, address: str, network: str) -> None:
        """Undo ``listen_also`` for later tests: clients from *network* refused at once (reload); the
        address is left out from the next restart on (a restart now would cost every test a second)."""
        self.extra_addresses.remove(address)
        self._hba_line(f"host all all {network} trust", add=False)
        self.pg_ctl("reload")

    def _hba_line(self, line: str, *, add: bool) -> None:
        # Written as the server's owner: the data directory is not ours when the tests run as root.
        lines = [x for x in self.hba.read_text().splitlines() if x != line] + ([line] if add else [])
        subprocess.run([*self.run_as, "tee", str(self.hba)], input="\n".join(lines) + "\n", text=True,
                       check=True, capture_output=True, timeout=30)

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix=f"qlosync-faults-pg-{SESSION_ID}-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user, in a directory it owns
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    pg = PrivatePostgres(directory=directory, port=free_port(), run_as=run_as)
    try:
        subprocess.run([*run_as, str(PG_BIN / "initdb"), "-D", str(pg.data), "-A", "trust", "-U", "postgres",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
        pg.start()
        yield pg
    finally:
        try:
            if (pg.data / "postmaster.pid").exists():
                pg.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def private_template(private_pg: PrivatePostgres) -> str:
    engine = create_engine(private_pg.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as c:
        c.execute(text('CREATE DATABASE "faults_tpl"'))
    engine.dispose()
    migrate.upgrade(private_pg.url("faults_tpl"))
    return "faults_tpl"


@pytest.fixture(scope="session")
def private_hms_template(private_pg: PrivatePostgres) -> str:
    """The hotelmanangement adapter's template on the private cluster (as tests/conftest.py hms_template_db)."""
    engine = create_engine(private_pg.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as c:
        c.execute(text('CREATE DATABASE "faults_hms_tpl"'))
    engine.dispose()
    load_double(private_pg.url("faults_hms_tpl")).dispose()
    migrate.upgrade(private_pg.url("faults_hms_tpl"), pms="hotelmanangement")
    return "faults_hms_tpl"


#: The private template of each adapter's test databases.
PRIVATE_TEMPLATES = {"builtin": "private_template", "hotelmanangement": "private_hms_template"}


@pytest.fixture
def database_url(private_pg: PrivatePostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """This test's database on the private cluster (overrides the shared-server fixture), of the adapter under
    test when the test is parametrized by it (tests/conftest.py database_url)."""
    pms = request.getfixturevalue("pms_kind") if "pms_kind" in request.fixturenames else DEFAULT_PMS
    private_template: str = request.getfixturevalue(PRIVATE_TEMPLATES[pms])
    name = f"faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(private_pg.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{private_template}"'))
        copy_database_settings(c, private_template, name)
    yield private_pg.url(name)
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# -- RabbitMQ ---------------------------------------------------------------------------------------------------


@dataclass
class PrivateRabbit:
    directory: Path
    node: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def ctl(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def amqp_url(self, vhost: str) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def start_node(self) -> None:
        log = (self.directory / "server.out").open("ab")
        self.process = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:  # await_startup fails at once until the node is registered with epmd
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited:\n{self.log()[-3000:]}")
            if self.ctl("await_startup", "--timeout", "30", check=False, timeout=60).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.node} did not start:\n{self.log()[-3000:]}")
            time.sleep(0.5)

    def listen_also(self, address: str) -> None:
        """Accept AMQP on *address* too (same port), at once, for processes in other network namespaces.
        Started in the running node rather than in rabbitmq.conf so that no restart is needed and a later
        ``start_app`` (after the address is gone) does not try to bind it again; guest may already log in
        from anywhere (``loopback_users = none``)."""
        self.ctl("eval", f'ok = rabbit_networking:start_tcp_listener({{"{address}", {self.port}}}, 10).')

    def forget(self, address: str) -> None:
        """Close the listener of ``listen_also`` (its connections are gone by then)."""
        self.ctl("eval", f'rabbit_networking:stop_tcp_listener({{"{address}", {self.port}}}).', check=False)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def queues(self, vhost: str) -> dict[str, tuple[int, int]]:
        """{queue: (ready, unacked)} in *vhost*."""
        out = self.ctl("list_queues", "-q", "--no-table-headers", "-p", vhost, "name", "messages_ready",
                       "messages_unacknowledged").stdout
        rows = [line.split("\t") for line in out.splitlines() if line.strip()]
        return {name: (int(ready), int(unacked)) for name, ready, unacked in rows}

    def stop_node(self) -> None:
        if self.process is None:
            return
        self.ctl("stop", check=False, timeout=60)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def log(self) -> str:
        parts = [p.read_text(errors="replace") for p in [self.directory / "server.out",
                                                         *sorted((self.directory / "log").glob("*.log"))]
                 if p.exists()]
        return "\n".join(parts)


@pytest.fixture(scope="session")
def private_rabbit() -> Iterator[PrivateRabbit]:
    directory = Path(tempfile.mkdtemp(prefix=f"qlosync-faults-rmq-{SESSION_ID}-"))
    for sub in ("home", "mnesia", "log"):
        (directory / sub).mkdir()
    (directory / "enabled_plugins").write_text("[].\n")
    (directory / "rabbitmq-env.conf").write_text("")
    port = free_port()
    (directory / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n")
    node = f"qlosync-faults-{SESSION_ID}@localhost"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
        "HOME": str(directory / "home"),  # its own Erlang cookie
        "RABBITMQ_NODENAME": node, "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"), "RABBITMQ_LOG_BASE": str(directory / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
        "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }
    rabbit = PrivateRabbit(directory=directory, node=node, port=port, env=env)
    try:
        rabbit.start_node()
        yield rabbit
    finally:
        try:
            rabbit.stop_node()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def amqp_url(private_rabbit: PrivateRabbit) -> Iterator[str]:
    """A fresh vhost on the private node (guest has every permission on it)."""
    vhost = f"faults_{uuid.uuid4().hex[:8]}"
    private_rabbit.ctl("add_vhost", vhost)
    private_rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield private_rabbit.amqp_url(vhost)
    private_rabbit.ctl("start_app", check=False)  # a test that failed while the app was stopped
    private_rabbit.ctl("delete_vhost", vhost, check=False)


@pytest.fixture
def fleet(database_url, amqp_url, secret_key, tmp_path, shop, mapped_catalog, pms_kind):  # type: ignore[no-untyped-def]
    """The processes a scenario starts (none yet), all stopped when it ends; they drive the adapter under test."""
    from tests.faults.support import Fleet

    fleet = Fleet.build(database_url, amqp_url, secret_key.reveal(), tmp_path, QLOSYNC_PMS=pms_kind)
    yield fleet
    fleet.stop_all()
