"""Settings from the environment: the only module that reads ``os.environ``.

``Settings.from_env()`` validates everything at start and raises :class:`ConfigurationError` with one
line naming the variable, so a bad deployment fails loudly instead of half-working.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from qlosync import fields
from qlosync.errors import ConfigurationError
from qlosync.pms import ADAPTERS
from qlosync.pms.checks import SCHEMA_CHECKS
from qlosync.secrets import Secret

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qlosync"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_SYNC_INTERVAL_MS = 300_000
MIN_SYNC_INTERVAL_MS = 1_000
DEFAULT_HEARTBEAT_S = 60
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DEFAULT_DB_SCHEMA = "qlosync"
DEFAULT_FULL_SYNC_AT = time(2, 30)  # UTC: the nightly full reconciliation of every enabled shop


@dataclass(frozen=True)
class Settings:
    """Everything qlosync needs to know about its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    rabbitmq_url: str = DEFAULT_RABBITMQ_URL
    sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS
    secret_key: Secret | None = field(default=None, repr=False)
    log_level: str = "INFO"
    log_format: str = "text"
    http_connect_timeout_s: float = 5.0
    http_read_timeout_s: float = 30.0
    full_sync_after_hours: float = 24.0
    full_sync_at: time | None = DEFAULT_FULL_SYNC_AT  # None: no nightly full reconciliation
    ari_days: int = 365
    # Operator surfaces: heartbeat period of every long-running process, the admin API's bearer token,
    # and the port (0 = off) on which a worker, relay or scheduler serves Prometheus metrics.
    heartbeat_s: float = 10.0
    api_token: Secret | None = field(default=None, repr=False)
    api_allowed_hosts: tuple[str, ...] = ()  # Host names the API answers to besides loopback (with a token)
    api_loopback_metrics: bool = False  # /metrics without the token for scrapers on this machine
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Bounded PostgreSQL connections per process (SQLAlchemy pool: steady size + burst overflow).
    db_pool_size: int = 10
    db_max_overflow: int = 15
    # The PostgreSQL schema of qlosync's own tables (the built-in PMS's pms_* tables stay in public).
    db_schema: str = DEFAULT_DB_SCHEMA
    # The PMS adapter sync reads and writes (qlosync.pms.ADAPTERS).
    pms: str = "builtin"
    # Fairness between shops: a full pull of a shop with more orders than bulk_pull_min_orders needs one
    # of bulk_pulls cluster-wide lanes, so big imports never take every worker thread.
    bulk_pulls: int = 2
    bulk_pull_min_orders: int = 2000
    run_retention_days: int = 30  # sync runs older than this are deleted daily (each shop's last one is kept)
    # A shop's circuit breaker: open after this many failed requests in a row, first for breaker_open_s
    # seconds, doubling up to 30 times that.
    breaker_failures: int = 3
    breaker_open_s: float = 60.0
    # A shop's base URL may point at a link-local or cloud metadata address only when this is on: such an
    # address hands out the host's cloud credentials, so a mistyped or hostile URL must not reach it.
    allow_link_local_urls: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        secret = env.get("QLOSYNC_SECRET_KEY", "").strip()
        token = env.get("QLOSYNC_API_TOKEN", "").strip()
        return cls(
            database_url=_database_url(env.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
            rabbitmq_url=with_heartbeat(env.get("RABBITMQ_URL", DEFAULT_RABBITMQ_URL)),
            sync_interval_ms=_int(env, "QLOAPPS_SYNC_INTERVAL_MS", DEFAULT_SYNC_INTERVAL_MS, MIN_SYNC_INTERVAL_MS),
            secret_key=Secret(secret) if secret else None,
            log_level=_choice(env, "QLOSYNC_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
            log_format=_choice(env, "QLOSYNC_LOG_FORMAT", "text", LOG_FORMATS),
            http_connect_timeout_s=_float(env, "QLOAPPS_HTTP_CONNECT_TIMEOUT_S", 5.0),
            http_read_timeout_s=_float(env, "QLOAPPS_HTTP_READ_TIMEOUT_S", 30.0),
            full_sync_after_hours=_float(env, "QLOAPPS_FULL_SYNC_AFTER_HOURS", 24.0),
            full_sync_at=_time_of_day(env, "QLOSYNC_FULL_SYNC_AT", DEFAULT_FULL_SYNC_AT),
            ari_days=_int(env, "QLOSYNC_ARI_DAYS", 365, 1),
            heartbeat_s=_float(env, "QLOSYNC_HEARTBEAT_SECONDS", 10.0),
            api_token=Secret(token) if token else None,
            api_allowed_hosts=_host_names(env, "QLOSYNC_API_ALLOWED_HOSTS"),
            api_loopback_metrics=_flag(env, "QLOSYNC_API_LOOPBACK_METRICS"),
            metrics_host=env.get("QLOSYNC_METRICS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            metrics_port=_int(env, "QLOSYNC_METRICS_PORT", 0, 0, unit=""),
            db_pool_size=_int(env, "QLOSYNC_DB_POOL_SIZE", 10, 1, unit="connections"),
            db_max_overflow=_int(env, "QLOSYNC_DB_MAX_OVERFLOW", 15, 0, unit="connections"),
            db_schema=_db_schema(env.get("QLOSYNC_DB_SCHEMA", "").strip() or DEFAULT_DB_SCHEMA),
            # A PMS with a schema check may be named before its adapter is registered: `alembic upgrade head`
            # then checks the database and installs its change capture, and processes refuse another database.
            pms=_choice(env, "QLOSYNC_PMS", "builtin", tuple(sorted(set(ADAPTERS) | set(SCHEMA_CHECKS)))),
            bulk_pulls=_int(env, "QLOSYNC_BULK_PULLS", 2, 1, unit="pulls"),
            bulk_pull_min_orders=_int(env, "QLOSYNC_BULK_PULL_MIN_ORDERS", 2000, 1, unit="orders"),
            run_retention_days=_int(env, "QLOSYNC_RUN_RETENTION_DAYS", 30, 1, unit="days"),
            breaker_failures=_int(env, "QLOSYNC_BREAKER_FAILURES", 3, 1, unit="requests"),
            breaker_open_s=_float(env, "QLOSYNC_BREAKER_OPEN_S", 60.0),
            allow_link_local_urls=_flag(env, "QLOSYNC_ALLOW_LINK_LOCAL_URLS"),
        )

    def require_secret_key(self) -> Secret:
        if self.secret_key is None:
            raise ConfigurationError(
                "QLOSYNC_SECRET_KEY is not set: it is needed to read or write the QloApps API key "
                "(generate one with `qlosync config generate-secret`)"
            )
        return self.secret_key

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _database_url(url: str) -> str:
    url = url.strip()
    # Accept the URLs people paste from docs (postgres://, postgresql://) and use psycopg 3 for them.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if not url.startswith("postgresql+psycopg://"):
        raise ConfigurationError(f"DATABASE_URL must be a postgresql:// URL, got scheme {url.split(':', 1)[0]!r}")
    return url


def _db_schema(name: str) -> str:
    try:
        return fields.db_schema(name)
    except fields.InvalidValueError as exc:
        raise ConfigurationError(f"QLOSYNC_DB_SCHEMA: {exc}, got {name!r}") from None


def with_heartbeat(url: str, heartbeat_s: int = DEFAULT_HEARTBEAT_S) -> str:
    """Return the AMQP URL with a ``heartbeat`` parameter, so dead connections are noticed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("amqp", "amqps"):
        raise ConfigurationError(f"RABBITMQ_URL must be an amqp:// URL, got scheme {parts.scheme!r}")
    query = dict(parse_qsl(parts.query))
    query.setdefault("heartbeat", str(heartbeat_s))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, unit: str = "milliseconds") -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number{' of ' + unit if unit else ''}, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = _FLAGS.get(raw.strip().lower())
    if value is None:
        raise ConfigurationError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")
    return value


def _time_of_day(env: Mapping[str, str], name: str, default: time) -> time | None:
    """A UTC time of day ``HH:MM`` (24-hour clock), or ``off`` for None."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value.lower() == "off":
        return None
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", value)
    if match:
        return time(int(match.group(1)), int(match.group(2)))
    raise ConfigurationError(f"{name} must be a UTC time of day HH:MM (00:00 to 23:59) or off, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...], upper: bool = False) -> str:
    raw = env.get(name, default).strip()
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def _host_names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated host names or addresses, lower case, without port (``[::1]`` as ``::1``); ``*``: any."""
    hosts = []
    for raw in env.get(name, "").split(","):
        host = raw.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
        if not host:
            continue
        if host != "*" and not (_HOST_NAME.match(host) or _is_ipv6(host)):
            raise ConfigurationError(f"{name} must be host names or addresses separated by commas, without "
                                     f"scheme or port (or *), got {raw.strip()!r}")
        hosts.append(host)
    return tuple(hosts)


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True
