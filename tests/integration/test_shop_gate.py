"""The per-shop gate in PostgreSQL: requests per second, concurrent requests and the circuit breaker,
shared by every client (every process) of a shop, against the real simulator and database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from qlosync.db.config_store import ShopConfig
from qlosync.db.session import make_engine
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsServerError
from qlosync.settings import Settings
from qlosync.sync.gate import GatePolicy, ShopGate, ShopUnavailableError, breaker_states, reset_breaker
from tests.runtime_support import wait_until


def _gate(engine: Engine, shop: ShopConfig, *, concurrent: int = 3, rps: float = 1000.0,
          policy: GatePolicy | None = None) -> ShopGate:
    return ShopGate(engine, shop.id, shop.name, max_concurrent=concurrent, requests_per_second=rps,
                    policy=policy or GatePolicy(lane_wait_s=30))


@pytest.fixture
def second_engine(settings: Settings) -> Iterator[Engine]:
    """Another pool on the same database: what a second worker process (or host) would have, qlosync's
    search_path included (a database shared with a PMS keeps public first by default)."""
    other = make_engine(settings)
    yield other
    other.dispose()


def test_requests_per_second_are_paced_across_clients(engine, second_engine, shop, simulator) -> None:
    # Two clients with their own pools share one budget of 20 requests per second (a burst of 20 at once).
    clients = [QloAppsClient(shop.base_url, shop.api_key, gate=_gate(e, shop, rps=20)) for e in (engine, second_engine)]
    started = time.monotonic()
    threads = [threading.Thread(target=lambda c=c: [c.ping() for _ in range(25)]) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    # 50 requests: 20 in the burst, then 30 spaced 50 ms apart, so at least 1.5 s whoever sent them.
    assert elapsed >= 1.45, elapsed
    assert sum(c.request_count for c in clients) == 50


def test_concurrent_requests_are_capped_across_clients(engine, second_engine, shop) -> None:
    gates = [_gate(e, shop, concurrent=2) for e in (engine, second_engine, engine, second_engine)]
    inside: list[int] = []
    release = threading.Event()
    lock = threading.Lock()

    def request(i: int) -> None:
        with gates[i].request():
            with lock:
                inside.append(i)
            release.wait(20)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(inside) == 2, what="two requests admitted")

    def held() -> int:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM qloapps_request_lanes WHERE config_id = :c "
                                  "AND holder IS NOT NULL"), {"c": shop.id}).scalar_one()

    assert held() == 2
    assert all(t.is_alive() for t in threads)  # the other two are waiting for a lane
    assert len(inside) == 2
    release.set()
    for t in threads:
        t.join(20)
    assert sorted(inside) == [0, 1, 2, 3]
    assert held() == 0


def test_a_dead_process_lane_expires(engine, shop) -> None:
    gate = _gate(engine, shop, concurrent=1)
    with gate.request():
        pass
    # A process killed mid-request leaves its lane held; its lease runs out instead of blocking the shop.
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_request_lanes SET holder = 'dead:1:x', expires_at = now() - interval '1 s' "
                       "WHERE config_id = :c"), {"c": shop.id})
    with gate.request():
        pass


def test_a_busy_lane_gives_up_with_a_clear_error(engine, shop) -> None:
    gate = _gate(engine, shop, concurrent=1, policy=GatePolicy(lane_wait_s=0.3))
    with gate.request(), pytest.raises(ShopUnavailableError, match="all 1 request lanes stayed busy"):
        with gate.request():
            pass


def test_a_lane_another_process_holds_gives_up_with_the_same_error(engine, shop) -> None:
    ours = _gate(engine, shop, concurrent=1, policy=GatePolicy(lane_wait_s=0.3))
    theirs = _gate(engine, shop, concurrent=1, policy=GatePolicy(lane_wait_s=0.3))  # its lanes are in PostgreSQL only
    with theirs.request(), pytest.raises(ShopUnavailableError, match="all 1 request lanes stayed busy"):
        with ours.request():
            pass
    with ours.request():  # and once it is given back, ours goes
        pass


def test_breaker_opens_after_failures_refuses_without_calling_and_recovers(engine, shop, simulator, caplog) -> None:
    client = QloAppsClient(shop.base_url, shop.api_key, gate=_gate(engine, shop, policy=GatePolicy(
        failure_threshold=3, base_open_s=60)))
    simulator.faults.add("http_500", 3)
    for _ in range(3):
        with pytest.raises(QloAppsServerError):
            client.ping()
    state = breaker_states(engine)[shop.id]
    assert state.failures == 3 and state.trips == 1 and state.open_until is not None
    assert sum("keeps failing" in r.message for r in caplog.records) == 1  # said once, when it opened
    assert "QloAppsServerError" in (state.last_error or "")
    sent = sum(simulator.request_counts.values())
    with pytest.raises(ShopUnavailableError, match="paused until"):
        client.ping()
    assert sum(simulator.request_counts.values()) == sent  # refused here, the website never saw it

    # When the pause is over one trial goes through; its failure opens the breaker for twice as long.
    _expire(engine, shop)
    simulator.faults.add("http_500", 1)
    with pytest.raises(QloAppsServerError):
        client.ping()
    state = breaker_states(engine)[shop.id]
    assert state.trips == 2
    assert sum("keeps failing" in r.message for r in caplog.records) == 2
    with engine.connect() as c:
        pause = c.execute(text("SELECT extract(epoch FROM open_until - now()) FROM qloapps_shop_gate "
                               "WHERE config_id = :c"), {"c": shop.id}).scalar_one()
    assert 100 < pause <= 120

    # A successful trial closes it.
    _expire(engine, shop)
    client.ping()
    state = breaker_states(engine)[shop.id]
    assert (state.failures, state.trips, state.open_until) == (0, 0, None)
    client.ping()


def test_bad_requests_do_not_trip_the_breaker(engine, shop, simulator) -> None:
    client = QloAppsClient(shop.base_url, shop.api_key, gate=_gate(engine, shop, policy=GatePolicy(failure_threshold=1)))
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017  (a 404: the website answered, it is not unwell)
            client.get_order(999_999)
    assert breaker_states(engine)[shop.id].open_until is None


def test_reset_breaker_by_hand(engine, shop, simulator) -> None:
    client = QloAppsClient(shop.base_url, shop.api_key, gate=_gate(engine, shop, policy=GatePolicy(failure_threshold=1)))
    simulator.faults.add("http_500", 1)
    with pytest.raises(QloAppsServerError):
        client.ping()
    assert breaker_states(engine)[shop.id].open_until is not None
    assert reset_breaker(engine, shop.id) is True
    client.ping()
    assert reset_breaker(engine, shop.id) is False


def _expire(engine: Engine, shop: ShopConfig) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_shop_gate SET open_until = now() - interval '1 ms' WHERE config_id = :c"),
                  {"c": shop.id})


def test_a_new_key_or_address_closes_the_breaker(engine, session_factory, secret_key, shop, simulator) -> None:
    from qlosync.crypto import KeyCipher
    from qlosync.db.config_store import save_config
    from qlosync.db.session import transaction
    from qlosync.secrets import Secret
    from tests.conftest import TEST_API_KEY

    client = QloAppsClient(shop.base_url, shop.api_key, gate=_gate(engine, shop, policy=GatePolicy(failure_threshold=1)))
    simulator.faults.add("http_500", 1)
    with pytest.raises(QloAppsServerError):
        client.ping()
    assert breaker_states(engine)[shop.id].open_until is not None
    with transaction(session_factory) as session:  # e.g. `qlosync config set --api-key-stdin` after a fix
        save_config(session, KeyCipher(secret_key), api_key=Secret(TEST_API_KEY))
    assert breaker_states(engine)[shop.id].open_until is None
    client.ping()


def test_a_refused_key_does_not_open_the_breaker(engine, shop, simulator) -> None:
    from qlosync.qloapps.errors import QloAppsAuthError

    client = QloAppsClient(shop.base_url, shop.api_key, gate=_gate(engine, shop, policy=GatePolicy(failure_threshold=1)))
    simulator.faults.add("unauthorized", 2)
    for _ in range(2):
        with pytest.raises(QloAppsAuthError):
            client.ping()
    assert breaker_states(engine)[shop.id].open_until is None  # fixing the key must take effect at once


def test_a_request_that_got_its_answer_keeps_it_when_the_gate_cannot_record_its_end(engine, shop, simulator,
                                                                                   caplog) -> None:
    gate = _gate(engine, shop)
    client = QloAppsClient(shop.base_url, shop.api_key, gate=gate)
    client.ping()

    def database_gone(*_args: object) -> None:
        raise ConnectionError("PostgreSQL restarted")

    gate._record = database_gone  # type: ignore[method-assign]
    assert client.ping()  # the answer is not lost (a create that went through must not look failed)
    assert any("could not record" in r.message for r in caplog.records)
