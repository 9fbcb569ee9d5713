"""`qlosync config`: set, show masked, rotate, read back; the clear key never reaches disk or logs."""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from qlosync.cli import cli
from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db.config_store import load_shop
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.secrets import Secret
from qlosync.settings import Settings

API_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"


def _env(database_url: str, secret: str | None) -> dict[str, str | None]:
    return {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret, "QLOSYNC_LOG_LEVEL": "DEBUG"}


def _pg_dump(database_url: str) -> str:
    url = make_url(database_url)
    result = subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
         "--data-only", "--inserts", url.database or ""],
        capture_output=True, text=True, check=True,
    )
    return result.stdout


def _load(database_url: str, secret: str):
    engine = make_engine(Settings(database_url=database_url))
    try:
        with make_sessionmaker(engine)() as session:
            return load_shop(session, KeyCipher(Secret(secret)))
    finally:
        engine.dispose()


def test_config_round_trip_keeps_the_key_encrypted_and_out_of_logs(database_url, caplog):
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    old_secret = generate_secret_key()

    # Given a configuration saved with the key on stdin
    result = runner.invoke(
        cli,
        ["config", "set", "--base-url", "http://qlo.example.test/api/", "--api-key-stdin", "--enable", "--hotel-id", "1"],
        input=API_KEY + "\n",
        env=_env(database_url, old_secret),
    )
    assert result.exit_code == 0, result.output
    assert API_KEY not in result.output

    # When it is shown, the key is masked
    shown = runner.invoke(cli, ["config", "show", "--json"], env=_env(database_url, old_secret))
    assert shown.exit_code == 0, shown.output
    assert API_KEY not in shown.output
    assert '"api_key": "****************************7654"' in shown.output
    assert '"base_url": "http://qlo.example.test"' in shown.output

    # And after rotating to a new secret key, only the new key can read it back
    new_secret = generate_secret_key()
    rotated = runner.invoke(cli, ["config", "rotate-key"], env=_env(database_url, f"{new_secret},{old_secret}"))
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 1 API key" in rotated.output
    shop = _load(database_url, new_secret)
    assert shop.api_key.reveal() == API_KEY
    assert shop.sync_enabled is True and shop.base_url == "http://qlo.example.test"
    assert API_KEY not in repr(shop)

    # Then the clear key is in neither the database dump nor any log record
    if shutil.which("pg_dump"):
        dump = _pg_dump(database_url)
        assert "qloapps_config" in dump
        assert API_KEY not in dump
    assert API_KEY not in caplog.text


def test_key_is_never_taken_from_the_command_line(database_url):
    result = CliRunner().invoke(
        cli, ["config", "set", "--base-url", "http://x.test", "--api-key", API_KEY], env=_env(database_url, generate_secret_key())
    )
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_saving_a_key_without_secret_key_fails_clearly(database_url):
    result = CliRunner().invoke(
        cli, ["config", "set", "--base-url", "http://x.test", "--api-key-stdin"], input=API_KEY + "\n", env=_env(database_url, None)
    )
    assert result.exit_code == 1
    assert "QLOSYNC_SECRET_KEY is not set" in result.output
    assert "Traceback" not in result.output


def test_wrong_secret_key_gives_one_line_not_a_traceback(database_url):
    runner = CliRunner()
    runner.invoke(cli, ["config", "set", "--base-url", "http://x.test", "--api-key-stdin"], input=API_KEY + "\n",
                  env=_env(database_url, generate_secret_key()))
    result = runner.invoke(cli, ["config", "show"], env=_env(database_url, generate_secret_key()))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "cannot be decrypted" in result.output


@pytest.mark.parametrize("bad_key,fragment", [("short", "32 characters"), ("A" * 15 + " " + "A" * 16, "white space")])
def test_invalid_api_keys_are_refused(database_url, bad_key, fragment):
    result = CliRunner().invoke(
        cli, ["config", "set", "--base-url", "http://x.test", "--api-key-env", "QLO_KEY"],
        env={**_env(database_url, generate_secret_key()), "QLO_KEY": bad_key},
    )
    assert result.exit_code == 2  # a value that breaks its field's rule is bad usage
    assert fragment in result.output


def test_status_shows_the_configured_shop(database_url):
    runner = CliRunner()
    runner.invoke(cli, ["config", "set", "--base-url", "http://x.test", "--api-key-stdin"], input=API_KEY + "\n",
                  env=_env(database_url, generate_secret_key()))
    result = runner.invoke(cli, ["status"], env=_env(database_url, None))
    assert result.exit_code == 0, result.output
    assert "shop         default  http://x.test  sync off" in result.output
    assert "(none: next pull is full)" in result.output


@pytest.mark.parametrize("option", ["--id-hotel", "--hotel-id"])
def test_config_set_takes_the_hotel_id_as_id_hotel_and_in_its_old_spelling(database_url, option):
    secret = generate_secret_key()
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "set", "--base-url", "http://qlo.example.test", "--api-key-stdin", option, "5"],
                           input=API_KEY + "\n", env=_env(database_url, secret))
    assert result.exit_code == 0, result.output
    assert _load(database_url, secret).id_hotel == 5
    assert "--hotel-id" not in runner.invoke(cli, ["config", "set", "--help"]).output  # one spelling shown
