"""What every CLI command shares: settings, a lazily built engine, and the key cipher."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import click
import dramatiq.errors
import pika.exceptions
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from qlosync.crypto import KeyCipher
from qlosync.db import migrate
from qlosync.db.config_store import DEFAULT_SHOP
from qlosync.db.session import check_database, make_engine, make_sessionmaker, transaction
from qlosync.errors import ConfigurationError, DatabaseUnavailableError, QlosyncError
from qlosync.fields import InvalidValueError
from qlosync.settings import Settings
from qlosync.runtime.topology import BrokerUnavailableError, unreachable_message

# Exit codes (documented in the README): 0 ok, 1 a qlosync error, 2 bad usage, 3 a service is down,
# 4 `qlosync status` found qlosync unhealthy.
RET_OK = 0
RET_ERROR = 1
RET_USAGE = 2
RET_UNAVAILABLE = 3
RET_UNHEALTHY = 4


class CliError(click.ClickException):
    """A qlosync error shown as one line, with an exit code that says what kind of failure it was."""

    def __init__(self, message: str, exit_code: int = RET_ERROR) -> None:
        super().__init__(message)
        # click declares exit_code a ClassVar yet reads it from the instance it catches: one per error here.
        self.exit_code = exit_code  # type: ignore[misc]


@dataclass
class CliContext:
    """Built once per invocation by the ``qlosync`` group and handed to commands through ``ctx.obj``."""

    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)
    _schema_checked: bool = field(default=False, repr=False)

    @property
    def engine(self) -> Engine:
        """The engine, once PostgreSQL answered and the schema is the revision this qlosync needs.

        Checked here, once, so that every command reading qlosync's tables says "run `qlosync db upgrade`"
        on an unmigrated database instead of failing on the first missing table with a traceback.
        """
        engine = self.server_engine
        if not self._schema_checked:
            migrate.require_current_schema(engine, self.settings.database_url)
            self._schema_checked = True
        return engine

    @property
    def server_engine(self) -> Engine:
        """The engine once PostgreSQL answered, whatever the schema (`db`, `status` and `health` report it)."""
        if self._engine is None:
            self._engine = make_engine(self.settings)
            check_database(self._engine)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with transaction(make_sessionmaker(self.engine)) as session:
            yield session

    def cipher(self) -> KeyCipher:
        return KeyCipher(self.settings.require_secret_key())

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


P = ParamSpec("P")
R = TypeVar("R")


def command_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn qlosync errors into one-line CLI errors; everything else keeps its traceback (a bug).

    PostgreSQL or RabbitMQ unreachable (at connect or mid-command) is exit code 3; a value that breaks its
    field's rule (qlosync.fields) is bad usage, exit code 2.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (DatabaseUnavailableError, BrokerUnavailableError) as exc:
            raise CliError(str(exc), RET_UNAVAILABLE) from None
        except (pika.exceptions.AMQPConnectionError, dramatiq.errors.BrokerConnectionError) as exc:
            raise CliError(unreachable_message(_amqp_url(), exc), RET_UNAVAILABLE) from None
        except InvalidValueError as exc:
            raise CliError(str(exc), RET_USAGE) from None
        except ConfigurationError as exc:
            raise CliError(str(exc), RET_ERROR) from None
        except QlosyncError as exc:
            raise CliError(f"{type(exc).__name__}: {exc}", RET_ERROR) from None

    return wrapper


def _amqp_url() -> str:
    # dramatiq's errors do not say which RabbitMQ they tried; the command's settings do.
    obj = click.get_current_context().find_object(CliContext)
    return obj.settings.rabbitmq_url if obj is not None else Settings.from_env().rabbitmq_url


pass_cli = click.make_pass_decorator(CliContext)


class AliasedOption(click.Option):
    """An option whose later spellings are accepted but left out of --help."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        opts, self.opts = self.opts, self.opts[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts


#: The one spelling of "which shop" for every command that works on one: ``--shop NAME``. ``--name`` was
#: ``qlosync config``'s; it stays accepted so that scripts written for it keep working.
shop_option = click.option("--shop", "--name", "shop", cls=AliasedOption, default=DEFAULT_SHOP, show_default=True,
                           help="Which QloApps shop.")
