"""The scheduler's entry point: ``periodiq qlosync.schedule`` (run it with TZ=UTC).

periodiq enqueues ``schedule_tick`` every minute; the tick (run by an inbound worker) turns the minute
into pull slots of this process's ``QLOAPPS_SYNC_INTERVAL_MS``, which every tick message carries (so the
scheduler's setting counts, not the worker's). periodiq has no lock, so two schedulers enqueue every
tick twice: harmless, because each slot is claimed once in PostgreSQL by the pull that runs it (as long as
they share one interval).
It also enqueues ``reconcile_rates`` daily at 03:15 UTC (twice with two schedulers: the second finds
nothing to change).
"""

from qlosync.actors import broker, reconcile_rates, schedule_tick
from qlosync.runtime.middleware.heartbeat import beat_as_scheduler, running_under_periodiq
from qlosync.runtime.middleware.topology import declare_or_exit
from qlosync.runtime.middleware.tick_interval import TickInterval
from qlosync.runtime.pms_check import check_pms_at_start
from qlosync.settings import Settings

__all__ = ["broker", "reconcile_rates", "schedule_tick"]

# periodiq has no start or stop hooks, but it imports this module, so the scheduler's heartbeat starts
# here. Workers, tests and other tools import this module too (for the actors); only a periodiq process
# is a scheduler, so only there does a heartbeat start (and SIGTERM become a clean exit).
if running_under_periodiq():
    # periodiq itself would meet a refused or unreachable RabbitMQ at its first tick, with a traceback.
    declare_or_exit(broker, sorted(broker.get_declared_queues()), "Scheduler")
    _settings = Settings.from_env()
    # Its ticks would start pulls that fail on a database that is not the configured PMS.
    check_pms_at_start(_settings, "Scheduler")
    broker.add_middleware(TickInterval(_settings.sync_interval_ms))
    beat_as_scheduler(broker, _settings)
