"""The closed sets of names qlosync stores and sends: run kinds and states, outbox operations, push actions...

One home that every layer imports (qlosync.db builds its CHECK constraints from these, sync and ops compare
and write them, the API shows them as OpenAPI enums), so that no layer has to import another for a word.
Each is a ``StrEnum``: a member *is* its value (``RunStatus.FAILED == "failed"``), so what reaches
PostgreSQL, JSON and the logs is the plain string, and rows read back as plain strings compare equal.
Migrations are history and spell their values out; tests/integration/test_state_checks.py holds the
database's CHECK constraints to these sets.

This module imports nothing of qlosync.
"""

from __future__ import annotations

from enum import StrEnum


def values(names: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of an enum, in order (for click.Choice, which would otherwise offer the members' names)."""
    return tuple(member.value for member in names)


# -- pull runs (qloapps_sync_state) -------------------------------------------------------------------------------


class RunKind(StrEnum):
    """How much of QloApps a pull reads."""

    FULL = "full"  # every order
    INCREMENTAL = "incremental"  # the orders changed since the cursor


class RunTrigger(StrEnum):
    """What started a pull."""

    SCHEDULE = "schedule"  # an incremental scheduler slot, every QLOAPPS_SYNC_INTERVAL_MS
    MANUAL = "manual"  # a person: `qlosync sync`, POST /sync
    FALLBACK = "fallback"  # an incremental pull that found the cursor untrustworthy and went full
    NIGHTLY = "nightly"  # the daily full reconciliation at QLOSYNC_FULL_SYNC_AT


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


# -- outbound -----------------------------------------------------------------------------------------------------


class OutboxOperation(StrEnum):
    """What a ``pms_outbox`` row asks for (written by the capture triggers of migrations 0002 to 0004)."""

    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"
    AVAILABILITY = "availability"  # a room type's closed nights or out-of-order rooms changed
    RATES = "rates"  # a room type's nightly prices changed


class PushAction(StrEnum):
    """What one push of a PMS reservation did in QloApps."""

    CREATED = "created"
    ADOPTED = "adopted"  # an earlier create's order was found (its token) and taken as the reservation's
    UPDATED = "updated"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"  # nothing to push: gone, closed before it reached QloApps, or in an open conflict
    CONFLICT = "conflict"  # both sides changed and the strategy is manual: a conflict was opened
    PULLED = "pulled"  # both sides changed and QloApps' version won: it was applied to the PMS


# -- both directions ----------------------------------------------------------------------------------------------


class Side(StrEnum):
    """One of the two systems: where a reservation was first made, whose version a conflict keeps."""

    PMS = "pms"
    QLOAPPS = "qloapps"


class ConflictStrategy(StrEnum):
    """Who wins when both sides changed a reservation since the last sync (qlosync.sync.conflicts.winner)."""

    QLOAPPS_WINS = "qloapps_wins"
    PMS_WINS = "pms_wins"
    NEWEST_WINS = "newest_wins"
    MANUAL = "manual"  # nothing changes on either side until a person resolves it


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class MatchMethod(StrEnum):
    """How a QloApps customer was matched with a PMS guest."""

    EMAIL = "email"
    PHONE_NAME = "phone_name"
    CREATED = "created"  # no guest matched: a new one was made
    MANUAL = "manual"
    PUSHED = "pushed"  # a customer a push created for the guest


class LogLevel(StrEnum):
    """Levels of the operator log (qloapps_sync_logs)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# -- the reference PMS --------------------------------------------------------------------------------------------


class ReservationStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PARTIALLY_PAID = "partially_paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PAYMENT_ERROR = "payment_error"


#: A reservation in one of these holds no room (migration 0002 spells them out in its triggers: history).
CLOSED_STATUSES = (ReservationStatus.CANCELLED, ReservationStatus.REFUNDED)


# -- operations ---------------------------------------------------------------------------------------------------


class DeadLetterStatus(StrEnum):
    DEAD = "dead"  # in qloapps.dlq, waiting for a person
    REQUEUED = "requeued"  # sent back to its queue
    SUCCEEDED = "succeeded"  # requeued, and it then succeeded
    PURGED = "purged"  # given up for good


class ProcessRole(StrEnum):
    """The long-running processes that beat in qlosync_processes; status lists them in this order."""

    WORKER = "worker"
    RELAY = "relay"
    SCHEDULER = "scheduler"
    API = "api"


# -- shops --------------------------------------------------------------------------------------------------------


class ShopState(StrEnum):
    """How a shop is doing, in attention order: breaker_open, failing and overdue need a person."""

    # The order of definition is the attention order (qlosync.ops.shops.status ranks by it).
    BREAKER_OPEN = "breaker_open"
    FAILING = "failing"
    OVERDUE = "overdue"
    OK = "ok"
    DISABLED = "disabled"
