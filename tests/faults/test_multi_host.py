"""Scenario 8: three "hosts" (network namespaces, each with its own hostname) share one PostgreSQL and one
RabbitMQ, as a deployment on several machines would. Every host runs a scheduler and a worker for both
queues; two of them also run the outbox relay. Each host reaches PostgreSQL, RabbitMQ and QloApps (the
simulator, in this test process) only over a bridge, through the bridge's address: nothing is shared
through loopback, files or process memory.

It shows: every QloApps booking imported exactly once, every scheduler slot pulled once although three
schedulers enqueue it, a PMS burst pushed exactly once, nothing stuck, and the work really spread over
the hosts (their heartbeats in ``qlosync_processes``).

Needs root and ``ip netns`` (skipped otherwise). periodiq ticks at the start of each minute, so the first
scheduled pull comes after up to a minute.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import transaction
from tests.conftest import TEST_API_KEY
from tests.faults.support import (
    INBOUND, OUTBOUND, RELAY_CMD, SCHEDULER_CMD, Fleet, assert_in_agreement, consumers, disagreements, sql_burst,
    vhost_of, worker_cmd,
)
from tests.outbound_fixtures import pms_room_type
from tests.runtime_support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

HOSTS = ("a", "b", "c")
RELAY_HOSTS = ("a", "b")
BOOKINGS = 300
BURST = 100


# -- the hosts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hosts:
    """Network namespaces ``<prefix><a|b|c>`` on a bridge; *gateway* is the bridge's (root namespace) address."""

    prefix: str
    bridge: str
    gateway: str
    network: str

    def namespace(self, host: str) -> str:
        return f"{self.prefix}{host}"

    def address(self, host: str) -> str:
        return self.gateway.rsplit(".", 1)[0] + f".{11 + HOSTS.index(host)}"

    def command(self, host: str, cmd: list[str]) -> list[str]:
        """*cmd* run inside *host*: its network namespace and its own UTS namespace, so ``gethostname()``
        (the ``host`` of heartbeat rows) is ``host-<host>``. Every step execs, so the pid is the command's
        own and Fleet's SIGTERM reaches it directly."""
        return ["ip", "netns", "exec", self.namespace(host), "unshare", "--uts", "sh", "-c",
                f"hostname host-{host} && exec {shlex.join(cmd)}"]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def _free_subnet(run_id: str) -> int:
    """The x of a 10.231.x.0/24 not configured on this machine, starting from one derived from the run id
    (two runs at once on one machine, e.g. CI and a developer, must not share a bridge subnet)."""
    used = _ip("-4", "-o", "addr", "show").stdout
    start = int(run_id, 16) % 250
    for step in range(250):
        x = 1 + (start + step) % 250
        if f" 10.231.{x}." not in used:
            return x
    raise RuntimeError("no free 10.231.x.0/24 subnet")


def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("needs iproute2 (ip) and util-linux (unshare)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"ip netns is unavailable: {probe.stderr.strip()}")


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    """Three namespaces on a fresh bridge, removed at teardown whatever happened (created pieces only)."""
    _skip_unless_possible()
    run_id = uuid.uuid4().hex[:4]
    x = _free_subnet(run_id)
    prefix = f"qh{run_id}"  # interface names stay within 15 characters: qh1a2bbr, qh1a2ba, qh1a2bap
    net = Hosts(prefix=prefix, bridge=f"{prefix}br", gateway=f"10.231.{x}.1", network=f"10.231.{x}.0/24")
    made: list[str] = []
    try:
        created = _ip("link", "add", net.bridge, "type", "bridge", check=False)
        if created.returncode != 0:  # root without CAP_NET_ADMIN, e.g. in an unprivileged container
            pytest.skip(f"cannot create a bridge: {created.stderr.strip()}")
        made.append(net.bridge)
        _ip("addr", "add", f"{net.gateway}/24", "dev", net.bridge)
        _ip("link", "set", net.bridge, "up")
        for host in HOSTS:
            ns = net.namespace(host)
            _ip("netns", "add", ns)
            made.append(ns)
            # The root end keeps the namespace's name; the other end is eth0 inside the namespace
            _ip("link", "add", ns, "type", "veth", "peer", "name", f"{ns}p")
            _ip("link", "set", f"{ns}p", "netns", ns)
            _ip("-n", ns, "link", "set", f"{ns}p", "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{net.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "set", ns, "master", net.bridge, "up")
        yield net
    finally:
        for name in reversed(made):
            if name == net.bridge:
                _ip("link", "del", name, check=False)
            else:
                _ip("netns", "del", name, check=False)  # takes its veth pair along
                _ip("link", "del", name, check=False)  # in case the pair outlived a failed move


@pytest.fixture(scope="module")
def shared_servers(hosts: Hosts, private_pg, private_rabbit) -> Iterator[Hosts]:  # type: ignore[no-untyped-def]
    """The private PostgreSQL and RabbitMQ reachable from the hosts, through the bridge address only
    while this module runs."""
    private_pg.listen_also(hosts.gateway, hosts.network)
    try:
        private_rabbit.listen_also(hosts.gateway)
        try:
            yield hosts
        finally:
            private_rabbit.forget(hosts.gateway)
    finally:
        private_pg.forget(hosts.gateway, hosts.network)


@pytest.fixture
def simulator(hosts: Hosts) -> Iterator["Simulator"]:  # noqa: F821
    """The QloApps simulator on the bridge address (overrides the loopback one), so the hosts reach it;
    the `shop` fixture then stores that address as the shop's URL."""
    from qlosync.qloapps.simulator import Simulator

    sim = Simulator(api_key=TEST_API_KEY, host=hosts.gateway)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def _reaches(hosts: Hosts, host: str, address: str, port: int) -> bool:
    """Whether a TCP connection from inside *host* to address:port succeeds."""
    probe = subprocess.run(["ip", "netns", "exec", hosts.namespace(host), "timeout", "5", "bash", "-c",
                            f"exec 3<>/dev/tcp/{address}/{port}"], capture_output=True, timeout=30)
    return probe.returncode == 0


def _on_bridge(url: str, hosts: Hosts) -> str:
    assert "@127.0.0.1:" in url, url
    return url.replace("@127.0.0.1:", f"@{hosts.gateway}:")


# -- what the database says ------------------------------------------------------------------------------------


def _slot_runs(engine: Engine) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT config_id, slot_at, status, error FROM qloapps_sync_state WHERE slot_at IS NOT NULL "
            "ORDER BY slot_at"))]


def _live_hosts(engine: Engine) -> dict[str, set[str]]:
    """{host: roles} of processes whose last beat is within two of their periods, by PostgreSQL's clock."""
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT host, role FROM qlosync_processes WHERE stopped_at IS NULL "
            "AND last_beat_at > now() - make_interval(secs => 2 * beat_interval_s)")).all()
    live: dict[str, set[str]] = {}
    for host, role in rows:
        live.setdefault(host, set()).add(role)
    return live


def _worker_messages_by_host(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {host: int(done) for host, done in c.execute(text(
            "SELECT host, sum(messages_done) FROM qlosync_processes WHERE role = 'worker' GROUP BY host"))}


# -- the scenario ----------------------------------------------------------------------------------------------


def test_three_hosts_share_one_postgres_and_one_rabbitmq(
    shared_servers, simulator, shop, mapped_catalog, engine, session_factory, database_url, amqp_url, secret_key,
    private_pg, private_rabbit, tmp_path
):
    hosts: Hosts = shared_servers
    # A host has its own loopback: the servers are reachable through the bridge only
    for port in (private_pg.port, private_rabbit.port, simulator.port):
        assert not _reaches(hosts, "c", "127.0.0.1", port), port
        assert _reaches(hosts, "c", hosts.gateway, port), port
    simulator.store.generate_bookings(BOOKINGS, seed=8)
    with simulator.store.lock:
        orders_before = len(simulator.store.table("orders"))
    with transaction(session_factory) as session:
        room_types = [pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4)]
    # The hosts get the same database and vhost, through the bridge
    fleet = Fleet.build(_on_bridge(database_url, hosts), _on_bridge(amqp_url, hosts), secret_key.reveal(), tmp_path,
                        QLOAPPS_SYNC_INTERVAL_MS="5000", QLOSYNC_HEARTBEAT_SECONDS="1", TZ="UTC")
    vhost = vhost_of(amqp_url)
    try:
        for host in HOSTS:
            fleet.start(f"worker-{host}", hosts.command(host, worker_cmd(INBOUND, OUTBOUND)))
        wait_until(lambda: fleet.check_alive() or (consumers(private_rabbit, vhost, INBOUND) == len(HOSTS)
                                                   and consumers(private_rabbit, vhost, OUTBOUND) == len(HOSTS)),
                   timeout=60, interval=0.3, what="a consumer of each queue on every host")
        for host in RELAY_HOSTS:
            fleet.start(f"relay-{host}", hosts.command(host, RELAY_CMD))
        for host in HOSTS:
            fleet.start(f"scheduler-{host}", hosts.command(host, SCHEDULER_CMD))

        # Every process beats from its own host
        expected = {f"host-{h}": {"worker", "scheduler"} | ({"relay"} if h in RELAY_HOSTS else set()) for h in HOSTS}
        live: dict[str, set[str]] = {}

        def all_beating() -> bool:
            fleet.check_alive()
            live.clear()
            live.update(_live_hosts(engine))
            return live == expected

        wait_until(all_beating, timeout=60, interval=0.5, what=f"live processes on every host as started: {expected}")

        # The scheduled pulls import every booking exactly once
        problems: list[str] = []

        def imported() -> bool:
            fleet.check_alive()
            problems[:] = disagreements(engine, session_factory, simulator, shop.id)
            return not problems

        try:
            wait_until(imported, timeout=150, interval=1, what="every booking imported by the scheduled pulls")
        except BaseException:
            raise AssertionError("\n".join(problems[:30]) + f"\n{_slot_runs(engine)}\n{fleet.all_logs()}") from None
        wait_until(lambda: fleet.check_alive() or sum(r[2] == "succeeded" for r in _slot_runs(engine)) >= 2,
                   timeout=30, interval=0.5, what="two succeeded scheduled pulls")

        # A PMS burst reaches QloApps exactly once, pushed by the hosts' outbound workers
        reservations = sql_burst(engine, room_types, 0, BURST)
        # (the schedulers still run: the minute's future slots wait, unacked, as delayed pulls)
        assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url,
                            logs=fleet.all_logs(), settle_s=60, delayed_ok=(f"{INBOUND}.DQ",))

        # The work was spread: workers on at least two hosts did messages (beats carry the counts)
        done = wait_until(lambda: fleet.check_alive() or (
            (d := _worker_messages_by_host(engine)) and sum(n > 0 for n in d.values()) >= 2 and d),
            timeout=15, interval=0.5, what="workers on two hosts reporting messages done")
        assert set(done) == {f"host-{h}" for h in HOSTS}, done
    finally:
        fleet.stop_all()

    runs = _slot_runs(engine)
    # One run per (shop, slot), although three schedulers enqueued each slot
    per_slot = Counter((r[0], r[1]) for r in runs)
    assert [s for s, n in per_slot.items() if n > 1] == [], runs
    assert "already claimed" in fleet.text("worker"), fleet.all_logs()
    finished = [r for r in runs if r[2] != "running"]
    assert all(r[2] == "succeeded" or (r[2] == "skipped" and r[3] in (
        "another pull of this shop is running", "a later pull already covered this slot")) for r in finished), runs
    # One QloApps create per reservation, and nothing else added
    assert simulator.request_counts["POST /api/bookings"] == len(reservations) == BURST
    with simulator.store.lock:
        assert len(simulator.store.table("orders")) == orders_before + BURST
