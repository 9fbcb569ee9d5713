"""One rule per field (qlosync.fields), whichever way a value comes in: `qlosync config set`, `qlosync
shops add`, and the CSV import refuse the issue's bad values the same way, in one line, exit 2 on the
command line, writing nothing; ids out of range are usage errors before any SQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from qlosync.cli import cli
from qlosync.ops import shops
from qlosync.ops.shops import ShopImportError
from tests.conftest import TEST_API_KEY
from tests.field_cases import BAD_VALUES, PASSWORD, Bad, with_bad

CASES = [pytest.param(bad, id=bad.id) for bad in BAD_VALUES]


def _run(database_url: str, secret_key, args: list[str], *, env: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
         stdin: str | None = None) -> Result:
    environment = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
                   "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F", **(env or {})}
    return CliRunner().invoke(cli, args, input=stdin, env=environment)


def _assert_refused(result: Result, says: str, *, exit_code: int = 2) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)[:2000]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:2000]
    assert says in lines[0], lines[0][:2000]
    assert result.stdout == "", result.stdout[:2000]
    assert PASSWORD not in result.output and TEST_API_KEY[:-1] not in result.output


def _shop_count(session_factory) -> int:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(QloAppsConfig)) or 0)


@pytest.mark.parametrize("bad", CASES)
def test_config_set_refuses_the_bad_value_in_one_line_and_writes_nothing(bad: Bad, database_url, secret_key,
                                                                          session_factory):
    fields = with_bad(bad, TEST_API_KEY)
    result = _run(database_url, secret_key,
                  ["config", "set", "--name", fields["name"], "--base-url", fields["base_url"], "--api-key-env",
                   "QLO_KEY", "--hotel-id", fields["id_hotel"]], env={"QLO_KEY": fields["api_key"]})
    _assert_refused(result, bad.says)
    assert _shop_count(session_factory) == 0


@pytest.mark.parametrize("bad", CASES)
def test_shops_add_refuses_the_bad_value_in_one_line_and_writes_nothing(bad: Bad, database_url, secret_key,
                                                                         session_factory):
    fields = with_bad(bad, TEST_API_KEY)
    result = _run(database_url, secret_key,
                  ["shops", "add", fields["name"], "--base-url", fields["base_url"], "--api-key-stdin",
                   "--id-hotel", fields["id_hotel"]], stdin=fields["api_key"] + "\n")
    _assert_refused(result, bad.says)
    assert _shop_count(session_factory) == 0


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.mark.parametrize("bad", CASES)
def test_csv_import_refuses_the_bad_value_on_its_line_and_writes_nothing(bad: Bad, session_factory, settings):
    fields = with_bad(bad, TEST_API_KEY)
    text = "name,base_url,api_key,id_hotel\n" + ",".join(_csv_cell(fields[c]) for c in
                                                         ("name", "base_url", "api_key", "id_hotel")) + "\n"
    with transaction(session_factory) as session, pytest.raises(ShopImportError) as refused:
        shops.import_csv(session, settings, text)
    assert len(refused.value.errors) == 1 and refused.value.errors[0].startswith("line ")  # where the row ends
    assert bad.says in refused.value.errors[0]
    assert "\n" not in refused.value.errors[0] and PASSWORD not in str(refused.value)
    assert _shop_count(session_factory) == 0


def test_a_stored_url_with_credentials_cannot_be_set_later_either(database_url, secret_key, session_factory):
    assert _run(database_url, secret_key, ["config", "set", "--base-url", "http://ok.test", "--api-key-stdin"],
                stdin=TEST_API_KEY + "\n").exit_code == 0
    result = _run(database_url, secret_key, ["config", "set", "--base-url", f"http://u:{PASSWORD}@ok.test"])
    _assert_refused(result, "must not contain a user name or password")
    shown = _run(database_url, secret_key, ["shops", "list", "--json"])
    assert '"base_url": "http://ok.test"' in shown.output and PASSWORD not in shown.output


def test_link_local_urls_are_stored_when_the_setting_allows_them(database_url, secret_key, session_factory):
    result = _run(database_url, secret_key, ["config", "set", "--base-url", "http://169.254.169.254",
                                             "--api-key-stdin"], stdin=TEST_API_KEY + "\n",
                  env={"QLOSYNC_ALLOW_LINK_LOCAL_URLS": "1"})
    assert result.exit_code == 0, result.output
    added = _run(database_url, secret_key, ["shops", "add", "meta", "--base-url", "http://[fe80::1]:8080",
                                            "--api-key-stdin"], stdin=TEST_API_KEY + "\n",
                 env={"QLOSYNC_ALLOW_LINK_LOCAL_URLS": "true"})
    assert added.exit_code == 0, added.output
    assert _shop_count(session_factory) == 2


@pytest.mark.parametrize("args,says", [
    (["mappings", "set", "99999999999999999999", "X"], "QloApps room type id must be from 1 to 2147483647"),
    (["mappings", "set", "0", "X"], "QloApps room type id must be from 1 to 2147483647, got 0"),
    (["mappings", "set", "--", "-1", "X"], "got -1"),
    (["conflicts", "resolve", "99999999999999999999", "--keep", "pms"], "conflict id must be from 1 to 2147483647"),
    (["push", "1" * 5000], "a PMS reservation id is 1 to 64 printable characters"),
    (["push", "a\tb"], "a PMS reservation id is 1 to 64 printable characters"),
    (["shops", "set", "x", "--max-concurrent", "99999999999999999999"], "max concurrent requests must be from 1"),
    (["shops", "set", "x", "--max-rps", "nan"], "max requests per second must be above 0"),
    (["config", "set", "--hotel-id", "abc"], "hotel id must be a whole number from 1 to 2147483647"),
], ids=["mapping-huge", "mapping-zero", "mapping-negative", "conflict-huge",
        "push-5000-digits", "push-control-character", "max-concurrent-huge", "max-rps-nan", "hotel-id-text"])
def test_out_of_range_ids_are_usage_errors_before_any_sql(args, says, database_url, secret_key):
    _assert_refused(_run(database_url, secret_key, args), says)


@pytest.mark.parametrize("reservation", ["99999999999999999999", "0", "not-a-number"])
def test_a_pms_reservation_id_is_the_pms_s_text_and_one_it_does_not_have_is_named(reservation, database_url,
                                                                                   secret_key):
    # PMS ids are opaque: what the PMS has no reservation with is found missing, not refused as a number
    result = _run(database_url, secret_key, ["push", reservation])
    assert result.exit_code == 1, result.output
    assert f"reservation {reservation}: does not exist in the PMS" in result.stderr and "Traceback" not in result.output


def test_mappings_set_refuses_a_room_type_the_shop_does_not_have(shop, mapped_catalog, database_url, secret_key,
                                                                  session_factory):
    from qlosync.db.models import QloAppsRoomTypeMapping

    with transaction(session_factory) as session:
        before = session.scalar(select(QloAppsRoomTypeMapping.pms_room_type_id)
                                .where(QloAppsRoomTypeMapping.qloapps_room_type_id == 1))
    result = _run(database_url, secret_key, ["mappings", "set", "777", str(before)])
    _assert_refused(result, "QloApps shop 'default' has no room type 777 in hotel 1 (its room types: 1, 2, 3, 4;",
                    exit_code=1)
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsRoomTypeMapping)
                              .where(QloAppsRoomTypeMapping.qloapps_room_type_id == 777)) == 0
