"""Settings are read from the environment once and rejected with one clear line when wrong."""

from __future__ import annotations

import pytest

from qlosync.errors import ConfigurationError
from qlosync.secrets import Secret, mask
from qlosync.settings import DEFAULT_SYNC_INTERVAL_MS, Settings, with_heartbeat


def test_defaults_when_environment_is_empty():
    settings = Settings.from_env({})
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/qlosync"
    assert settings.rabbitmq_url.startswith("amqp://guest:guest@127.0.0.1:5672/%2F")
    assert "heartbeat=60" in settings.rabbitmq_url
    assert settings.sync_interval_ms == DEFAULT_SYNC_INTERVAL_MS == 300_000
    assert settings.secret_key is None
    assert (settings.log_level, settings.log_format) == ("INFO", "text")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("abc", "whole number"), ("999", "at least 1000"), ("-5", "at least 1000"), ("1.5", "whole number")],
)
def test_bad_sync_interval_is_rejected(value, fragment):
    with pytest.raises(ConfigurationError, match=fragment) as info:
        Settings.from_env({"QLOAPPS_SYNC_INTERVAL_MS": value})
    assert "QLOAPPS_SYNC_INTERVAL_MS" in str(info.value)
    assert "\n" not in str(info.value)


def test_interval_of_one_second_is_allowed():
    assert Settings.from_env({"QLOAPPS_SYNC_INTERVAL_MS": "1000"}).sync_interval_ms == 1000


def test_postgres_urls_are_switched_to_psycopg3():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/pms"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/pms"


@pytest.mark.parametrize("name,value", [("DATABASE_URL", "mysql://x/y"), ("RABBITMQ_URL", "http://x")])
def test_wrong_url_schemes_are_rejected(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


def test_existing_heartbeat_is_kept():
    assert with_heartbeat("amqp://h/%2F?heartbeat=10").endswith("heartbeat=10")


def test_log_settings_are_validated():
    assert Settings.from_env({"QLOSYNC_LOG_LEVEL": "debug", "QLOSYNC_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigurationError, match="QLOSYNC_LOG_FORMAT"):
        Settings.from_env({"QLOSYNC_LOG_FORMAT": "xml"})


def test_secret_key_is_masked_in_settings_repr():
    settings = Settings.from_env({"QLOSYNC_SECRET_KEY": "super-secret-value"})
    assert "super-secret-value" not in repr(settings)
    assert "super-secret-value" not in repr(settings.secret_key)
    assert settings.require_secret_key().reveal() == "super-secret-value"


def test_missing_secret_key_gives_a_clear_error():
    with pytest.raises(ConfigurationError, match="QLOSYNC_SECRET_KEY is not set"):
        Settings.from_env({}).require_secret_key()


def test_secret_cannot_be_pickled_or_printed():
    import pickle

    secret = Secret("abc123")
    assert "abc123" not in str(secret) and "abc123" not in f"{secret!r}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_mask_keeps_only_the_last_characters():
    assert mask("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456") == "*" * 28 + "3456"
    assert mask("short") == "*****"


@pytest.mark.parametrize("raw,allowed", [(None, False), ("", False), ("1", True), ("true", True), ("YES", True),
                                         ("0", False), ("off", False)])
def test_link_local_urls_are_refused_unless_allowed(raw, allowed):
    env = {} if raw is None else {"QLOSYNC_ALLOW_LINK_LOCAL_URLS": raw}
    assert Settings.from_env(env).allow_link_local_urls is allowed


def test_a_bad_link_local_flag_is_one_clear_line():
    with pytest.raises(ConfigurationError, match="QLOSYNC_ALLOW_LINK_LOCAL_URLS must be 1 or 0"):
        Settings.from_env({"QLOSYNC_ALLOW_LINK_LOCAL_URLS": "sometimes"})


@pytest.mark.parametrize("raw,schema", [(None, "qlosync"), ("", "qlosync"), (" hotel_sync ", "hotel_sync"),
                                        ("_q1", "_q1")])
def test_the_database_schema_defaults_to_qlosync(raw, schema):
    env = {} if raw is None else {"QLOSYNC_DB_SCHEMA": raw}
    assert Settings.from_env(env).db_schema == schema


@pytest.mark.parametrize("raw", ["public", "pg_sync", "information_schema", "Qlosync", "1sync", "q-sync",
                                 "q sync", "q;drop", "x" * 64])
def test_a_database_schema_that_is_not_a_plain_own_identifier_is_one_clear_line(raw):
    with pytest.raises(ConfigurationError, match="^QLOSYNC_DB_SCHEMA: "):
        Settings.from_env({"QLOSYNC_DB_SCHEMA": raw})


def test_every_engine_gets_the_schema_search_path_next_to_a_callers_options():
    from qlosync.db.session import connect_args

    settings = Settings(db_schema="hotel_sync")
    assert connect_args(settings, {}) == {"connect_timeout": 5, "options": "-c search_path=hotel_sync,public"}
    assert connect_args(settings, {"application_name": "x", "options": "-c statement_timeout=500"}) == {
        "connect_timeout": 5, "application_name": "x",
        "options": "-c search_path=hotel_sync,public -c statement_timeout=500"}
