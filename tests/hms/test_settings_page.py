"""The PMS's QloApps settings page stays current: each pull of a shop bound to a hotel writes that hotel's
``public.qloapps_config.last_successful_sync`` / ``last_sync_error``, in a transaction of its own that never
fails the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db.config_store import load_shop, save_config
from qlosync.db.session import make_engine, make_sessionmaker, transaction
from qlosync.pms import ADAPTERS
from qlosync.pms.hotelmanangement.settings_page import ERROR_LENGTH, report_sync
from qlosync.qloapps.client import QloAppsClient
from qlosync.secrets import Secret
from qlosync.settings import Settings
from qlosync.runtime.context import Runtime
from qlosync.states import RunKind, RunStatus, RunTrigger
from qlosync.sync.inbound import jobs, runs
from qlosync.sync.inbound.pull import PullDeps, run_pull
from tests.conftest import TEST_API_KEY
from tests.hms.workers import WorkersPms

HMS = "hotelmanangement"
HMS_ADAPTER = "qlosync.pms.hotelmanangement.adapter:HmsPms"


@pytest.fixture
def double_engine(hms_url: str) -> Iterator[Engine]:
    """Plain connections to the PMS (the double beside qlosync's schema)."""
    engine = create_engine(hms_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pms(double_engine: Engine) -> WorkersPms:
    return WorkersPms(double_engine)


def _configured(pms: WorkersPms, name: str) -> str:
    hotel = pms.hotel(name)
    pms.config(hotel, "http://127.0.0.1:9", "00:00:00:00")
    return hotel


def test_a_success_sets_the_time_and_clears_the_error(pms: WorkersPms) -> None:
    hotel, other = _configured(pms, "Seaside Inn"), _configured(pms, "Hill Lodge")
    with pms.engine.begin() as connection:
        session = Session(bind=connection)
        report_sync(session, hotel, succeeded=False, error="QloAppsAuthError: 401")
    assert pms.page(hotel) == (None, "QloAppsAuthError: 401")
    before = datetime.now(UTC)
    with pms.engine.begin() as connection:
        report_sync(Session(bind=connection), hotel, succeeded=True, error=None)
    succeeded_at, error = pms.page(hotel)
    assert succeeded_at is not None and succeeded_at >= before - timedelta(seconds=1)
    assert error is None
    assert pms.page(other) == (None, None)


def test_a_failure_keeps_the_last_success_and_a_line_of_bounded_length(pms: WorkersPms) -> None:
    hotel = _configured(pms, "Seaside Inn")
    with pms.engine.begin() as connection:
        report_sync(Session(bind=connection), hotel, succeeded=True, error=None)
    succeeded_at, _ = pms.page(hotel)
    with pms.engine.begin() as connection:
        report_sync(Session(bind=connection), hotel, succeeded=False, error="x" * 5000)
    assert pms.page(hotel) == (succeeded_at, "x" * ERROR_LENGTH)


def test_a_hotel_without_settings_or_an_id_of_another_kind_changes_nothing(pms: WorkersPms) -> None:
    hotel, bare = _configured(pms, "Seaside Inn"), pms.hotel("No QloApps here")
    with pms.engine.begin() as connection:
        for hotel_id in (bare, "1", "not-a-uuid"):
            report_sync(Session(bind=connection), hotel_id, succeeded=False, error="boom")
    assert pms.page(hotel) == (None, None)


@dataclass
class Pulled:
    pms: WorkersPms
    hotel: str
    deps: PullDeps
    client: QloAppsClient


@pytest.fixture
def bound_shop(hms_url: str, pms: WorkersPms, simulator: Any, secret_key: Secret,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Pulled]:
    """A shop bound to a PMS hotel with a settings row, syncing through the hotelmanangement adapter."""
    monkeypatch.setitem(ADAPTERS, HMS, HMS_ADAPTER)  # until qlosync.pms registers it
    hotel = _configured(pms, "Seaside Inn")
    engine = make_engine(Settings(database_url=hms_url, secret_key=secret_key, pms=HMS))
    session_factory = make_sessionmaker(engine)
    cipher = KeyCipher(secret_key)
    with transaction(session_factory) as session:
        save_config(session, cipher, name="seaside", base_url=simulator.base_url, api_key=Secret(TEST_API_KEY),
                    sync_enabled=True, pms_hotel_id=hotel)
    with transaction(session_factory) as session:
        shop = load_shop(session, cipher, "seaside")
    with QloAppsClient(shop.base_url, shop.api_key) as client:
        yield Pulled(pms, hotel, PullDeps(engine=engine, session_factory=session_factory, client=client, shop=shop,
                                          retry_booking=lambda _order_id: None), client)
    engine.dispose()


def test_each_pull_reports_how_it_ended(bound_shop: Pulled, simulator: Any) -> None:
    t = bound_shop
    report = run_pull(t.deps, kind=RunKind.FULL)
    assert report.status == RunStatus.SUCCEEDED, report.error
    succeeded_at, error = t.pms.page(t.hotel)
    assert succeeded_at is not None and error is None
    # QloApps fails the next pull: the page says why and keeps the last success.
    simulator.faults.add("http_500", count=None, method="GET", path="/api/orders")
    failed = run_pull(t.deps, kind=RunKind.FULL)
    assert failed.status == RunStatus.FAILED
    assert failed.error is not None and failed.error.startswith("QloAppsServerError")
    assert t.pms.page(t.hotel) == (succeeded_at, failed.error)
    simulator.faults.clear()
    assert run_pull(t.deps, kind=RunKind.FULL).status == RunStatus.SUCCEEDED
    later, error = t.pms.page(t.hotel)
    assert later is not None and later > succeeded_at and error is None


def test_the_key_never_reaches_the_page(bound_shop: Pulled) -> None:
    t = bound_shop
    runs.report_to_pms(t.deps.session_factory, "seaside", t.hotel, RunStatus.FAILED,
                       f"QloAppsAuthError: the shop refused key {TEST_API_KEY}", Secret(TEST_API_KEY))
    assert t.pms.page(t.hotel)[1] == "QloAppsAuthError: the shop refused key ********"


def test_a_report_that_fails_leaves_the_run_as_it_was(bound_shop: Pulled, caplog: pytest.LogCaptureFixture) -> None:
    t = bound_shop
    with t.pms.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE public.qloapps_config RENAME TO qloapps_config_gone")
    with caplog.at_level(logging.WARNING, logger="qlosync.sync.inbound.runs"):
        report = run_pull(t.deps, kind=RunKind.FULL)
    assert report.status == RunStatus.SUCCEEDED, report.error
    [warning] = [r for r in caplog.records if r.name == "qlosync.sync.inbound.runs"]
    assert warning.getMessage().startswith("Could not tell the PMS how the pull of seaside ended: ProgrammingError")
    assert TEST_API_KEY not in caplog.text


def test_a_shop_without_a_pms_hotel_or_a_skipped_run_reports_nothing(bound_shop: Pulled) -> None:
    t = bound_shop
    runs.report_to_pms(t.deps.session_factory, "seaside", None, RunStatus.FAILED, "boom")
    runs.report_to_pms(t.deps.session_factory, "seaside", t.hotel, RunStatus.SKIPPED, "another pull is running")
    assert t.pms.page(t.hotel) == (None, None)




def test_a_pull_its_configuration_stops_is_a_failure_on_the_page(bound_shop: Pulled, hms_url: str) -> None:
    t = bound_shop
    # Workers whose QLOSYNC_SECRET_KEY cannot decrypt the shop's stored key.
    settings = Settings(database_url=hms_url, secret_key=Secret(generate_secret_key()), pms=HMS)
    runtime = Runtime.build(settings)
    try:
        report = jobs.pull(runtime, "seaside", kind=RunKind.INCREMENTAL, trigger=RunTrigger.MANUAL, slot_at=None,
                           retry_booking=print)
    finally:
        runtime.close()
    assert report is not None and report.status == RunStatus.FAILED
    succeeded_at, error = t.pms.page(t.hotel)
    assert succeeded_at is None
    assert error is not None and error.startswith("SecretKeyError: the stored QloApps API key cannot be decrypted")
