"""Whether a database is a PMS an adapter can drive: one schema check per PMS (``qlosync pms check``).

A registry of its own, beside ``qlosync.pms.ADAPTERS``: a PMS can have its check before its adapter
(hotelmanangement, issue 21). Each check is imported when run, so ``qlosync --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from qlosync.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: The schema checks, by PMS name: "module:function(connection) -> list of problems".
SCHEMA_CHECKS: dict[str, str] = {
    "builtin": "qlosync.pms.builtin.check:check",
    "hotelmanangement": "qlosync.pms.hotelmanangement.schema:check",
}


def check_schema(connection: Connection, kind: str) -> list[str]:
    """What the database lacks to be PMS *kind*, one line each; an empty list: an adapter can drive it."""
    try:
        module_name, function_name = SCHEMA_CHECKS[kind].split(":")
    except KeyError:
        raise ConfigurationError(f"no schema check for PMS {kind!r} ({', '.join(sorted(SCHEMA_CHECKS))})") from None
    check: Callable[[Connection], list[str]] = getattr(import_module(module_name), function_name)
    return check(connection)
