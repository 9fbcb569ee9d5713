"""Per-process resources for actors: built when a worker boots, never at import time.

A worker process builds one :class:`Runtime` in ``RuntimeMiddleware.before_worker_boot`` (after
dramatiq forked it, so no connection pool crosses a fork) and disposes of it at shutdown. Actors reach
it with :func:`current_runtime`. Tests install one explicitly with :func:`use_runtime`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import make_engine, make_sessionmaker, transaction
from qlosync.errors import ConfigurationError
from qlosync.settings import Settings


class RuntimeNotReadyError(ConfigurationError):
    """No Runtime is installed in this process (not a booted worker, and no test installed one)."""


@dataclass(frozen=True)
class Runtime:
    """What actors share within one process: the settings, the engine and its sessionmaker."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings)
        return cls(settings=settings, engine=engine, session_factory=make_sessionmaker(engine))

    def transaction(self) -> AbstractContextManager[Session]:
        """A session that commits when the block ends normally and rolls back on any error."""
        return transaction(self.session_factory)

    def close(self) -> None:
        self.engine.dispose()


_lock = threading.Lock()
_current: Runtime | None = None


def current_runtime() -> Runtime:
    """The runtime of this process; raises RuntimeNotReadyError outside a booted worker."""
    runtime = _current
    if runtime is None:
        raise RuntimeNotReadyError(
            "no qlosync runtime in this process: actors run inside a worker started with "
            "`dramatiq qlosync.actors` (tests: `with use_runtime(Runtime.build(settings)):`)"
        )
    return runtime


def install_runtime(runtime: Runtime | None) -> Runtime | None:
    """Make *runtime* the current one (None removes it); returns the previous one, not closed."""
    global _current
    with _lock:
        previous, _current = _current, runtime
    return previous


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Install *runtime* for the block, then restore the previous one (the caller closes *runtime*)."""
    previous = install_runtime(runtime)
    try:
        yield runtime
    finally:
        install_runtime(previous)
