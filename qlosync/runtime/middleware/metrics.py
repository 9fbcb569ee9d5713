"""dramatiq's Prometheus middleware, served the qlosync way: on QLOSYNC_METRICS_PORT, with qlosync's own
metrics (:mod:`qlosync.runtime.metrics`) summed over every worker process of the ``dramatiq`` run."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import dramatiq.middleware.prometheus as dramatiq_prometheus

from qlosync.runtime.metrics import serve_worker_metrics, worker_metrics_dir


class WorkerMetrics(dramatiq_prometheus.Prometheus):
    """dramatiq's message metrics plus qlosync's; the exposition fork binds QLOSYNC_METRICS_HOST:PORT
    (dramatiq's own fork would bind 0.0.0.0:9191 whatever the settings say)."""

    @property
    def forks(self) -> list[Callable[[], int]]:
        return [serve_worker_metrics]

    def after_process_boot(self, broker: Any) -> None:
        directory = worker_metrics_dir()
        os.makedirs(directory, exist_ok=True)
        # dramatiq reads the directory from this module global when it boots and when a worker stops.
        dramatiq_prometheus.DB_PATH = directory
        super().after_process_boot(broker)  # type: ignore[no-untyped-call]  # dramatiq's Prometheus: unannotated
