"""The rule for every value an operator gives qlosync, one function per field.

The CLI (through :mod:`qlosync.cli.params`), the admin API's request models, the CSV import and the stores
all call these, so a value one of them accepts is accepted by all. Each function returns the canonical
value or raises :class:`InvalidValueError` with one line that never repeats an API key, a URL (it may
carry a password) or a shop name (in a CSV whose columns slipped, it could be a key).
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from urllib.parse import SplitResult, urlsplit

from qlosync.states import ConflictStrategy, values
from qlosync.errors import ConfigurationError
from qlosync.secrets import Secret


class InvalidValueError(ConfigurationError, ValueError):
    """A value breaks its field's rule (bad usage). A ValueError too, so pydantic reports it as a 422."""


#: The largest PostgreSQL ``integer``: every id column and the hotel id.
INT32_MAX = 2**31 - 1
#: A shop's name appears in URL paths, logs and metric labels; it starts like a word so that it is
#: neither ``.``/``..`` in a path nor an option on the command line.
SHOP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
BASE_URL_MAX = 512  # qloapps_config.base_url
API_KEY_LENGTH = 32
#: The bounds of the check constraints on qloapps_config (migration 0007).
MAX_CONCURRENT_RANGE = (1, 64)
MAX_RPS_LIMIT = 1000.0
#: qlosync's PostgreSQL schema (QLOSYNC_DB_SCHEMA): a plain lower-case identifier, so it needs no quoting in
#: SQL nor in libpq's ``options``; not ``public`` (the point is a schema of its own) nor ``pg_*`` (reserved).
DB_SCHEMA_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
#: A PMS room type is named by its id or its code (pms_room_types.code).
PMS_ROOM_TYPE_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"

_SHOP_NAME = re.compile(SHOP_NAME_PATTERN)
_DB_SCHEMA = re.compile(DB_SCHEMA_PATTERN)
_PMS_ROOM_TYPE = re.compile(PMS_ROOM_TYPE_PATTERN)
_HOST = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Cloud instance-metadata services: they hand out the machine's credentials to whoever asks from it.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
ALLOW_LINK_LOCAL_HINT = "set QLOSYNC_ALLOW_LINK_LOCAL_URLS=1 to allow it"


def shop_name(value: str) -> str:
    if not isinstance(value, str) or not _SHOP_NAME.match(value):
        raise InvalidValueError("a shop name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                                "or digit")
    return value


def db_schema(value: str) -> str:
    if not isinstance(value, str) or not _DB_SCHEMA.match(value):
        raise InvalidValueError("a database schema is 1 to 63 lower-case letters, digits or '_', not starting "
                                "with a digit")
    if value == "public" or value.startswith("pg_") or value == "information_schema":
        raise InvalidValueError(f"{value!r} is not a schema of qlosync's own")
    return value


def base_url(value: str, *, allow_link_local: bool = False) -> str:
    """The shop's address as stored (no trailing ``/`` nor ``/api``); the client adds ``/api/``."""
    if len(value) > BASE_URL_MAX:
        raise InvalidValueError(f"the QloApps base URL is longer than {BASE_URL_MAX} characters")
    url = value  # not stripped: a space or line break at either end is refused like one inside, as by the API
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidValueError("the QloApps base URL must not contain spaces or control characters")
    if not url.startswith(("http://", "https://")):
        raise InvalidValueError("the QloApps base URL must start with http:// or https://")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        raise InvalidValueError("the QloApps base URL is not a valid URL") from None
    if "@" in parts.netloc:
        raise InvalidValueError("the QloApps base URL must not contain a user name or password (the API key is "
                                "given on its own)")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InvalidValueError("the QloApps base URL must not contain a query string or fragment")
    host = _host(parts)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InvalidValueError("the QloApps base URL has a port that is not a number from 1 to 65535")
    if not allow_link_local and _is_link_local(host):
        raise InvalidValueError("the QloApps base URL points at a link-local or cloud metadata address; "
                                + ALLOW_LINK_LOCAL_HINT)
    url = url.rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    return url


def _host(parts: SplitResult) -> str:
    hostname = parts.hostname
    if not hostname:
        raise InvalidValueError("the QloApps base URL has no host")
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(hostname)
        except ValueError:
            raise InvalidValueError("the QloApps base URL has an invalid IPv6 address") from None
    elif not _HOST.match(hostname):
        raise InvalidValueError("the QloApps base URL's host may have only letters, digits, '.', '-' and '_' "
                                "(write an international name in its xn-- form)")
    return hostname


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # The resolver also takes 2852039166, 0xa9fea9fe or 169.254.43518 for 169.254.169.254.
    if re.fullmatch(r"[0-9A-Fa-fXx.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_link_local(host: str) -> bool:
    if host.rstrip(".").lower() in METADATA_HOSTS:
        return True
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and (address.is_link_local or address in METADATA_ADDRESSES)


def api_key(value: Secret) -> Secret:
    """Only lengths and kinds of characters are ever said about the key."""
    key = value.reveal()
    if not key or any(c.isspace() for c in key):
        raise InvalidValueError("the QloApps API key is empty or contains white space")
    if len(key) != API_KEY_LENGTH:
        raise InvalidValueError(f"a QloApps API key has {API_KEY_LENGTH} characters; this one has {len(key)}")
    if not all("!" <= c <= "~" for c in key):
        raise InvalidValueError("a QloApps API key is made of printable ASCII characters only")
    return value


def _whole_number(value: int | str, what: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidValueError(f"{what} must be a whole number from {low} to {high}")
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only: int() would also take "\u0663" or "1_000", and a 100,000-digit number is no id.
        if len(text) > 24 or not re.fullmatch(r"[+-]?[0-9]+", text):
            raise InvalidValueError(f"{what} must be a whole number from {low} to {high}")
        value = int(text)
    if not low <= value <= high:
        raise InvalidValueError(f"{what} must be from {low} to {high}, got {value}")
    return value


def positive_int32(value: int | str, what: str = "the id") -> int:
    """An id or the hotel id: what PostgreSQL's ``integer`` holds, above zero."""
    return _whole_number(value, what, 1, INT32_MAX)


def hotel_id(value: int | str) -> int:
    return positive_int32(value, "the hotel id")


def conflict_strategy(value: str) -> str:
    if value not in values(ConflictStrategy):
        raise InvalidValueError(f"conflict strategy must be one of {', '.join(ConflictStrategy)}")
    return value


def max_concurrent_requests(value: int | str) -> int:
    return _whole_number(value, "max concurrent requests", *MAX_CONCURRENT_RANGE)


def max_requests_per_second(value: float | int | str) -> float:
    if isinstance(value, bool):
        raise InvalidValueError("max requests per second must be a number")
    if isinstance(value, str):
        if len(value) > 24:
            raise InvalidValueError(f"max requests per second must be above 0 and at most {MAX_RPS_LIMIT:g}")
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidValueError("max requests per second must be a number") from None
    rps = float(value)
    if not (math.isfinite(rps) and 0 < rps <= MAX_RPS_LIMIT):
        raise InvalidValueError(f"max requests per second must be above 0 and at most {MAX_RPS_LIMIT:g}, got {rps:g}")
    return rps


def pms_room_type(value: str) -> str:
    """A PMS room type's id or code. Ids are opaque text (qlosync.pms.port): what one is, the PMS decides."""
    if not _PMS_ROOM_TYPE.match(value):
        raise InvalidValueError("a PMS room type is its id or its code: 1 to 64 characters, no control characters")
    return value
