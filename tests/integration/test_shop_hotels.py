"""Every shop belongs to one PMS hotel (issue 20 item 4): `shops add/set --pms-hotel`, `config set --pms-hotel`
and the CSV's pms_hotel_id column set it, check it against the PMS's hotels and clear it with ''; `shops list`
and `config show` show it, and the PMS's only hotel when none is set."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY
from tests.hotel_support import first_hotel, one_hotel, second_hotel


def _cli(database_url: str, secret_key: Secret, *args: str, stdin: str | None = None) -> Result:
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
           "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    result = CliRunner().invoke(cli, list(args), input=stdin, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _stored(session_factory, secret_key: Secret, name: str) -> str | None:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return load_shop(session, KeyCipher(secret_key), name).pms_hotel_id


def _add(database_url: str, secret_key: Secret, name: str, *options: str) -> Result:
    return _cli(database_url, secret_key, "shops", "add", name, "--base-url", f"http://{name}.test",
                "--api-key-stdin", *options, stdin=TEST_API_KEY + "\n")


def _listed(database_url: str, secret_key: Secret) -> tuple[list[list[str]], dict[str, dict[str, object]]]:
    """`shops list`: each line's words, and the --json rows by name."""
    table = _cli(database_url, secret_key, "shops", "list")
    rows = json.loads(_cli(database_url, secret_key, "shops", "list", "--json").output)["shops"]
    return [line.split() for line in table.output.splitlines()], {row["name"]: row for row in rows}


def test_a_single_hotel_pms_needs_no_hotel_set_and_says_which_one_is_used(database_url, secret_key, engine,
                                                                          session_factory, pms_environ):
    only = first_hotel(engine).id
    added = _add(database_url, secret_key, "solo")
    assert (added.exit_code, added.output.strip()) == (0, "added shop 'solo' (http://solo.test, sync on, 4 at once, 25/s)")
    assert _stored(session_factory, secret_key, "solo") is None
    lines, rows = _listed(database_url, secret_key)
    assert lines[0][:4] == ["NAME", "STATE", "PMS", "HOTEL"]
    assert lines[1][:4] == ["solo", "ok", only, "(only)"]
    assert (rows["solo"]["pms_hotel_id"], rows["solo"]["effective_pms_hotel_id"]) == (None, only)
    # Naming the only hotel works too, and shows it as set
    assert _cli(database_url, secret_key, "shops", "set", "solo", "--pms-hotel", only).exit_code == 0
    lines, rows = _listed(database_url, secret_key)
    assert lines[1][:3] == ["solo", "ok", only] and lines[1][3] != "(only)"
    assert (rows["solo"]["pms_hotel_id"], rows["solo"]["effective_pms_hotel_id"]) == (only, only)


def test_shops_add_and_set_take_a_pms_hotel_refuse_an_unknown_one_and_clear_it(database_url, secret_key, engine,
                                                                              session_factory, pms_environ):
    first, b = first_hotel(engine).id, second_hotel(engine)
    added = _add(database_url, secret_key, "hotel-b", "--pms-hotel", b)
    assert (added.exit_code, added.output.strip()) == (
        0, f"added shop 'hotel-b' (http://hotel-b.test, sync on, 4 at once, 25/s, PMS hotel {b})")
    assert _stored(session_factory, secret_key, "hotel-b") == b
    # An id the PMS has no hotel with: exit 1 (a refused request, like an unknown shop), the hotels named,
    # nothing created or changed
    unknown = f"Error: the PMS has no hotel '999' (its hotels: {one_hotel(engine)}, {b} (B)); the PMS hotel must " \
              "be one of these ids"
    refused = _add(database_url, secret_key, "hotel-x", "--pms-hotel", "999")
    assert (refused.exit_code, refused.output.strip().splitlines()[-1]) == (1, unknown)
    changed = _cli(database_url, secret_key, "shops", "set", "hotel-b", "--pms-hotel", "999", "--max-rps", "3")
    assert (changed.exit_code, changed.output.strip().splitlines()[-1]) == (1, unknown)
    with transaction(session_factory) as session:
        assert list(session.scalars(select(QloAppsConfig.name))) == ["hotel-b"]
        assert load_shop(session, KeyCipher(secret_key), "hotel-b").max_requests_per_second == 25.0
    assert _stored(session_factory, secret_key, "hotel-b") == b
    # Ids are the PMS's text as it writes them: " 2" or "02" is no hotel of it
    assert _cli(database_url, secret_key, "shops", "set", "hotel-b", "--pms-hotel", f"0{b}").exit_code == 1
    # Moved to the first hotel, then cleared with '': with two hotels, a shop with none shows "not set"
    moved = _cli(database_url, secret_key, "shops", "set", "hotel-b", "--pms-hotel", first)
    assert moved.exit_code == 0 and moved.output.strip().endswith(f", PMS hotel {first})"), moved.output
    assert _stored(session_factory, secret_key, "hotel-b") == first
    cleared = _cli(database_url, secret_key, "shops", "set", "hotel-b", "--pms-hotel", "")
    assert cleared.exit_code == 0 and "PMS hotel" not in cleared.output, cleared.output
    assert _stored(session_factory, secret_key, "hotel-b") is None
    lines, rows = _listed(database_url, secret_key)
    assert lines[1][:5] == ["hotel-b", "ok", "not", "set", "none"]
    assert (rows["hotel-b"]["pms_hotel_id"], rows["hotel-b"]["effective_pms_hotel_id"]) == (None, None)
    # Other changes keep the hotel
    assert _cli(database_url, secret_key, "shops", "set", "hotel-b", "--pms-hotel", b).exit_code == 0
    assert _cli(database_url, secret_key, "shops", "set", "hotel-b", "--max-rps", "3").exit_code == 0
    assert _stored(session_factory, secret_key, "hotel-b") == b
    _, rows = _listed(database_url, secret_key)
    assert (rows["hotel-b"]["pms_hotel_id"], rows["hotel-b"]["effective_pms_hotel_id"]) == (b, b)


def test_config_set_takes_a_pms_hotel_refuses_an_unknown_one_and_clears_it(database_url, secret_key, engine,
                                                                          session_factory, pms_environ):
    b = second_hotel(engine)
    saved = _cli(database_url, secret_key, "config", "set", "--base-url", "http://c.test", "--api-key-stdin",
                 "--pms-hotel", b, stdin=TEST_API_KEY + "\n")
    assert (saved.exit_code, saved.output.strip()) == (
        0, f"saved QloApps configuration 'default' (http://c.test, sync off, PMS hotel {b})")
    assert _stored(session_factory, secret_key, "default") == b
    shown = json.loads(_cli(database_url, secret_key, "config", "show", "--json").output)
    assert (shown["pms_hotel_id"], shown["effective_pms_hotel_id"]) == (b, b)
    refused = _cli(database_url, secret_key, "config", "set", "--pms-hotel", "nine")
    assert (refused.exit_code, refused.output.strip()) == (
        1, f"Error: the PMS has no hotel 'nine' (its hotels: {one_hotel(engine)}, {b} (B)); the PMS hotel must "
           "be one of these ids")
    assert _stored(session_factory, secret_key, "default") == b
    # A new shop with an unknown hotel is not created either
    assert _cli(database_url, secret_key, "config", "set", "--shop", "other", "--base-url", "http://o.test",
                "--api-key-stdin", "--pms-hotel", "nine", stdin=TEST_API_KEY + "\n").exit_code == 1
    with transaction(session_factory) as session:
        assert list(session.scalars(select(QloAppsConfig.name))) == ["default"]
    assert _cli(database_url, secret_key, "config", "set", "--pms-hotel", "").exit_code == 0
    assert _stored(session_factory, secret_key, "default") is None
    shown_text = _cli(database_url, secret_key, "config", "show").output
    assert [line.split() for line in shown_text.splitlines() if "pms_hotel" in line] == [
        ["pms_hotel_id", "None"], ["effective_pms_hotel_id", "None"]]


def test_csv_import_takes_a_pms_hotel_id_column_and_refuses_an_unknown_hotel_with_its_line(
        database_url, secret_key, engine, session_factory, tmp_path: Path, pms_environ):
    first, b = first_hotel(engine).id, second_hotel(engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,base_url,api_key,pms_hotel_id\n"
                   f"one,http://one.test,{TEST_API_KEY},{b}\n"
                   f"two,http://two.test,{TEST_API_KEY},77\n"
                   f"three,http://three.test,{TEST_API_KEY},\n"
                   f"four,http://four.test,{TEST_API_KEY},{TEST_API_KEY}\n")
    failed = _cli(database_url, secret_key, "shops", "import", str(bad))
    assert failed.exit_code == 1
    known = f"(its hotels: {one_hotel(engine)}, {b} (B)); the PMS hotel must be one of these ids"
    # (a cell as long as an API key is masked, in case the columns slipped)
    assert failed.output.splitlines() == [
        f"line 3: the PMS has no hotel '77' {known}",
        f"line 5: the PMS has no hotel '{'*' * 28}{TEST_API_KEY[-4:]}' {known}",
        f"Error: 2 error(s) in {bad}; nothing was imported"]
    with transaction(session_factory) as session:
        assert session.scalar(select(QloAppsConfig.id)) is None
    good = tmp_path / "good.csv"
    good.write_text("name,base_url,api_key,pms_hotel_id\n"
                    f"one,http://one.test,{TEST_API_KEY},{b}\n"
                    f"two,http://two.test,{TEST_API_KEY},{first}\n"
                    f"three,http://three.test,{TEST_API_KEY},\n")
    assert _cli(database_url, secret_key, "shops", "import", str(good)).output.strip() == "created 3 shop(s), updated 0"
    assert [_stored(session_factory, secret_key, n) for n in ("one", "two", "three")] == [b, first, None]
    # An empty cell keeps the stored hotel, like every empty cell of the import
    again = tmp_path / "again.csv"
    again.write_text(f"name,base_url,api_key,pms_hotel_id\none,,,\ntwo,,,{b}\n")
    assert _cli(database_url, secret_key, "shops", "import", str(again)).output.strip() == "created 0 shop(s), updated 2"
    assert [_stored(session_factory, secret_key, n) for n in ("one", "two", "three")] == [b, b, None]
