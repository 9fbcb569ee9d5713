"""The built-in PMS's change capture: triggers write ``pms_outbox``; the feed claims and marks its rows.

Rows are written by the database triggers of migrations 0002 (reservations, their lines and guests), 0003
(rates) and 0004 (closed nights, rooms out of order, stays on such room types), in the writer's own
transaction, and by :meth:`OutboxFeed.request_push`. The relay claims unsent rows with ``FOR UPDATE SKIP
LOCKED``, so several relays never publish the same row at once, and the rows of one reservation (or of one
room type's rates, or availability) coalesce into one change: one push.

The outbox keys rows by the tables' integer ids; the port sees them as text (:mod:`.ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from qlosync.pms.builtin.ids import as_key
from qlosync.pms.builtin.tables import PmsOutbox
from qlosync.pms.port import Backlog, CapturedChange, PmsId, ReservationChange, RoomTypeChange
from qlosync.states import OutboxOperation

CHANNEL = "qlosync_outbox"


class OutboxFeed:
    """The port's :class:`~qlosync.pms.port.ChangeFeed` over ``pms_outbox``."""

    channel: str = CHANNEL

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, limit: int) -> list[CapturedChange]:
        """Lock up to *limit* unsent rows (oldest first, skipping rows another relay holds): one change per
        reservation, and one per room type and operation (rates, availability)."""
        rows = self.session.execute(
            select(PmsOutbox.id, PmsOutbox.aggregate, PmsOutbox.aggregate_id, PmsOutbox.payload, PmsOutbox.operation,
                   PmsOutbox.created_at)
            .where(PmsOutbox.published_at.is_(None))
            .order_by(PmsOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        reservations: dict[int, ReservationChange] = {}
        room_types: dict[tuple[int, str], RoomTypeChange] = {}
        for row_id, aggregate, aggregate_id, payload, operation, created_at in rows:
            payload = payload or {}
            if aggregate == "room_type":
                start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
                found = room_types.setdefault((aggregate_id, operation),
                                              RoomTypeChange(str(aggregate_id), operation, start, end))
                found.date_from, found.date_to = min(found.date_from, start), max(found.date_to, end)
                found.row_ids.append(row_id)
                continue
            change = reservations.setdefault(aggregate_id,
                                             ReservationChange(str(aggregate_id), first_created_at=created_at))
            change.row_ids.append(row_id)
            # A deleted reservation's mappings lost their link to it: the trigger kept their ids.
            for mapping_id in payload.get("mapping_ids", []) or []:
                if int(mapping_id) not in change.mapping_ids:
                    change.mapping_ids.append(int(mapping_id))
        return [*reservations.values(), *room_types.values()]

    def mark_published(self, row_ids: Sequence[int]) -> None:
        if not row_ids:
            return
        self.session.execute(update(PmsOutbox).where(PmsOutbox.id.in_(list(row_ids)))
                             .values(published_at=func.now(), attempts=PmsOutbox.attempts + 1, last_error=None))

    def backlog(self) -> Backlog:
        count, oldest = self.session.execute(
            select(func.count(), func.min(PmsOutbox.created_at)).where(PmsOutbox.published_at.is_(None))).one()
        return Backlog(int(count or 0), oldest)

    def request_push(self, reservation_id: PmsId, reason: str) -> None:
        key = as_key(reservation_id)
        if key is None:
            raise ValueError(f"{reservation_id!r} cannot name a reservation of the built-in PMS")
        self.session.add(PmsOutbox(aggregate="reservation", aggregate_id=key, operation=OutboxOperation.UPDATE,
                                   payload={"reason": reason}))
        notify(self.session)


def notify(session: Session) -> None:
    """Wake the relays (PostgreSQL delivers it at commit, and not at all on a rollback)."""
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def mark_sync_writes(session: Session) -> None:
    # Transaction-local (the third argument): the capture triggers skip this transaction's writes only.
    session.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))


# --- installing and removing the capture triggers ---------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """One capture trigger as migrations 0002 to 0004 created it; the functions stay where they are."""

    name: str
    table: str
    definition: str  # what follows ``CREATE TRIGGER name``, with {table} for the table

    def create_sql(self) -> str:
        return f"CREATE TRIGGER {self.name} {self.definition.format(table=self.table)}"


def _statement_triggers(table: str, function: str) -> list[Trigger]:
    """Statement-level capture of a table whose changes name a room type and nights (rates, availability)."""
    return [
        Trigger("qlosync_capture_insert", table, "AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"),
        Trigger("qlosync_capture_update", table, "AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
                f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"),
        Trigger("qlosync_capture_delete", table, "AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"),
    ]


#: Every capture trigger. Not the ``updated_at`` touch triggers nor the hotel and mapping triggers: those
#: keep the PMS's own data right, captured or not.
TRIGGERS: tuple[Trigger, ...] = (
    Trigger("qlosync_capture", "pms_reservations",
            "AFTER INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()"),
    Trigger("qlosync_capture_delete", "pms_reservations",
            "BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()"),
    Trigger("qlosync_capture", "pms_reservation_lines",
            "AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()"),
    Trigger("qlosync_capture", "pms_guests",
            "AFTER UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()"),
    *_statement_triggers("pms_room_type_rates", "qlosync_capture_rate_change"),
    *_statement_triggers("pms_closed_nights", "qlosync_capture_pms_closed_nights"),
    *_statement_triggers("pms_room_outages", "qlosync_capture_pms_room_outages"),
    Trigger("qlosync_stay_change", "pms_reservation_lines",
            "AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION qlosync_capture_stay_change()"),
    Trigger("qlosync_stay_change", "pms_reservations",
            "AFTER UPDATE OF status ON {table} FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
            "EXECUTE FUNCTION qlosync_capture_stay_change()"),
)


def installed(session: Session) -> set[tuple[str, str]]:
    """(table, trigger) of the capture triggers there are now."""
    found = session.execute(text(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgrelid = ANY(CAST(:tables AS regclass[])) AND t.tgname = ANY(:names)"),
        {"tables": sorted({t.table for t in TRIGGERS}), "names": sorted({t.name for t in TRIGGERS})})
    return {(str(table), str(name)) for table, name in found}


def install(session: Session) -> None:
    """Create the capture triggers that are missing (on the functions the migrations made); idempotent."""
    present = installed(session)
    for trigger in TRIGGERS:
        if (trigger.table, trigger.name) not in present:
            session.execute(text(trigger.create_sql()))


def remove(session: Session) -> None:
    """Drop the capture triggers: PMS writes no longer reach the outbox (nor QloApps) until installed again."""
    for trigger in TRIGGERS:
        session.execute(text(f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table}"))
