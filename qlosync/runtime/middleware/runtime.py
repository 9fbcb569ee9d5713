"""Builds the per-process :class:`~qlosync.runtime.context.Runtime` when a worker boots; disposes of it at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dramatiq.middleware import Middleware, MiddlewareError

from qlosync.runtime.context import Runtime, install_runtime
from qlosync.runtime.pms_check import require_pms_or_exit
from qlosync.settings import Settings

logger = logging.getLogger(__name__)


class RuntimeBootError(MiddlewareError):
    """The runtime could not be built: the worker must not start (a MiddlewareError stops the boot)."""


class RuntimeMiddleware(Middleware):
    """Owns the process's Runtime: built in ``before_worker_boot``, closed in ``after_worker_shutdown``."""

    def __init__(self, settings: Settings, factory: Callable[[Settings], Runtime] = Runtime.build) -> None:
        self.settings = settings
        self.factory = factory
        self.runtime: Runtime | None = None
        self._previous_log_level: int | None = None

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        # dramatiq owns a worker's logging setup (handlers, format, --verbose); QLOSYNC_LOG_LEVEL still decides
        # how much of qlosync's own logging gets through (put back at shutdown: tests run workers in-process).
        qlosync_logger = logging.getLogger("qlosync")
        self._previous_log_level = qlosync_logger.level
        qlosync_logger.setLevel(self.settings.log_level)
        try:
            runtime = self.factory(self.settings)
        except Exception as exc:  # noqa: BLE001  (whatever it is, booting without a runtime is pointless)
            raise RuntimeBootError(f"cannot build the qlosync runtime: {type(exc).__name__}: {exc}") from exc
        try:
            # Once per worker process: every job would fail on a database that is not the configured PMS.
            require_pms_or_exit(runtime.engine, self.settings.pms, "Worker")
        except SystemExit:
            runtime.close()
            raise
        self.runtime = runtime
        install_runtime(runtime)
        logger.info("qlosync runtime ready.", extra={"action": "runtime_boot"})

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self._previous_log_level is not None:
            logging.getLogger("qlosync").setLevel(self._previous_log_level)
            self._previous_log_level = None
        runtime, self.runtime = self.runtime, None
        if runtime is None:
            return
        # Only uninstall our own runtime (a test may have installed another one meanwhile).
        previous = install_runtime(None)
        if previous is not runtime:
            install_runtime(previous)
        runtime.close()
        logger.info("qlosync runtime closed.", extra={"action": "runtime_shutdown"})
