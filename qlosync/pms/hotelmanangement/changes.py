"""The hotelmanangement PMS's change capture: triggers on its tables write ``hms_outbox``; the feed claims its rows.

That PMS's schema is not qlosync's, so no migration touches it: :func:`install` (run after ``alembic upgrade
head`` when ``QLOSYNC_PMS=hotelmanangement``, or by ``qlosync pms install``) creates the trigger functions in
qlosync's schema, where ``hms_outbox`` is, and the ``qlosync_*`` triggers on the PMS's tables in ``public``;
:func:`remove` drops both. Nothing else of the PMS's schema changes.

What is captured, in the writer's own transaction, mirroring the built-in PMS's triggers (migrations 0002 to
0004, 0011):

* a reservation inserted, changed or deleted (``create``, ``update``, ``cancel``: 'Cancelled', a soft delete
  or a delete), a change of its ``reservation_guests`` rows, a change of the primary guest of its live
  reservations: one ``reservation`` row per PMS reservation. Skipped in a transaction marked by
  :func:`mark_sync_writes` (qlosync's own inbound apply: pushing it back would be an echo).
* a reservation's stay, units, room type, status or soft delete: ``availability`` of the old and the new room
  type for the nights concerned; a room type's ``qty`` or soft delete, and a room inserted, deleted, moved to
  another room type or changing status ('Out of Service'): ``availability`` of the room types concerned; a
  room type's ``price_per_night``: ``rates``. Those two cover every night qlosync pushes (today in UTC and
  :data:`ARI_DAYS` - 1 more) since that PMS has one price and one state for all nights. Rooms and ``qty`` changed
  in a marked transaction are qlosync's catalog import copying QloApps' own: skipped. A stay change is
  captured, as the built-in PMS's are, only on a room type with a room out of service (that PMS has no closed
  nights): nothing else makes qlosync hold rooms, so elsewhere a stay changes no hold. There it is captured
  even under :func:`mark_sync_writes`: a booking QloApps made or cancelled changes how many rooms its holds
  must take.

The feed turns a PMS reservation into the port's reservation: its group (``hms_reservation_groups.group_id``,
else the reservation itself, one made at the front desk).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from qlosync.errors import ConfigurationError
from qlosync.pms.hotelmanangement.tables import HmsOutbox, HmsReservationGroup
from qlosync.pms.port import Backlog, CapturedChange, PmsId, ReservationChange, RoomTypeChange
from qlosync.settings import Settings
from qlosync.states import OutboxOperation

CHANNEL = "qlosync_hms_outbox"
#: The nights a rate or room change is pushed for (QLOSYNC_ARI_DAYS' default; install takes the setting).
ARI_DAYS = Settings.ari_days
PMS_SCHEMA = "public"


class HmsFeed:
    """The port's :class:`~qlosync.pms.port.ChangeFeed` over ``hms_outbox``."""

    channel: str = CHANNEL

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, limit: int) -> list[CapturedChange]:
        """Lock up to *limit* unsent rows (oldest first, skipping rows another relay holds): one change per
        reservation group, and one per room type and operation (rates, availability)."""
        rows = self.session.execute(
            select(HmsOutbox.id, HmsOutbox.aggregate, HmsOutbox.aggregate_id, HmsOutbox.payload,
                   HmsOutbox.operation, HmsOutbox.created_at)
            .where(HmsOutbox.published_at.is_(None))
            .order_by(HmsOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        groups = _groups_of(self.session, {row.aggregate_id for row in rows if row.aggregate == "reservation"})
        reservations: dict[str, ReservationChange] = {}
        room_types: dict[tuple[str, str], RoomTypeChange] = {}
        for row_id, aggregate, aggregate_id, payload, operation, created_at in rows:
            if aggregate == "room_type":
                payload = payload or {}
                start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
                found = room_types.setdefault((aggregate_id, operation),
                                              RoomTypeChange(aggregate_id, operation, start, end))
                found.date_from, found.date_to = min(found.date_from, start), max(found.date_to, end)
                found.row_ids.append(row_id)
                continue
            group_id = groups.get(aggregate_id, aggregate_id)
            change = reservations.setdefault(group_id, ReservationChange(group_id, first_created_at=created_at))
            change.row_ids.append(row_id)
        return [*reservations.values(), *room_types.values()]

    def mark_published(self, row_ids: Sequence[int]) -> None:
        if not row_ids:
            return
        self.session.execute(update(HmsOutbox).where(HmsOutbox.id.in_(list(row_ids)))
                             .values(published_at=func.now(), attempts=HmsOutbox.attempts + 1, last_error=None))

    def backlog(self) -> Backlog:
        count, oldest = self.session.execute(
            select(func.count(), func.min(HmsOutbox.created_at)).where(HmsOutbox.published_at.is_(None))).one()
        return Backlog(int(count or 0), oldest)

    def request_push(self, reservation_id: PmsId, reason: str) -> None:
        """Queue a push of a group (named by its id; a member's id names its group too, when claimed)."""
        try:
            key = str(uuid.UUID(reservation_id))
        except (ValueError, TypeError, AttributeError):
            raise ValueError(f"{reservation_id!r} cannot name a reservation of the hotelmanangement PMS") from None
        self.session.add(HmsOutbox(aggregate="reservation", aggregate_id=key, operation=OutboxOperation.UPDATE,
                                   payload={"reason": reason}))
        self.session.flush()
        notify(self.session)


def _groups_of(session: Session, reservation_ids: set[str]) -> dict[str, str]:
    """PMS reservation id → its group's id, for those that belong to a group (the others are their own)."""
    if not reservation_ids:
        return {}
    found = session.execute(select(HmsReservationGroup.reservation_id, HmsReservationGroup.group_id)
                            .where(HmsReservationGroup.reservation_id.in_(sorted(reservation_ids))))
    return {str(member): str(group) for member, group in found}


def notify(session: Session) -> None:
    """Wake the relays (PostgreSQL delivers it at commit, and not at all on a rollback)."""
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def mark_sync_writes(session: Session) -> None:
    # Transaction-local, as with the built-in PMS: the capture triggers skip this transaction's writes.
    session.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))


# --- the trigger functions -----------------------------------------------------------------------------------

#: How a function of ours starts: in qlosync's schema, running with qlosync's search_path whoever fires it (a
#: PMS writer's search_path is just public), like the built-in PMS's functions since migration 0010.
_HEAD = """CREATE OR REPLACE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, public AS $$"""

#: A reservation, its guests rows, its primary guest: one 'reservation' row per PMS reservation concerned.
RESERVATION_FUNCTION = "qlosync_hms_capture_reservation"
_RESERVATION_BODY = """
DECLARE
    ids uuid[] := '{{}}';
    operation text := 'update';
    payload jsonb := '{{}}';
BEGIN
    IF coalesce(current_setting('qlosync.origin', true), '') = 'qloapps' THEN
        RETURN NULL;  -- qlosync's own inbound apply: pushing it back would be an echo
    END IF;
    -- The PMS's API sets these on every save: a save that changes nothing else changes nothing.
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'updated_at' - 'modified_time')
                          = (to_jsonb(OLD) - 'updated_at' - 'modified_time') THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'reservations' THEN
        IF TG_OP = 'INSERT' THEN
            ids := ARRAY[NEW.id];
            operation := 'create';
        ELSIF TG_OP = 'UPDATE' THEN
            ids := ARRAY[NEW.id];
            IF (NEW.status = 'Cancelled' AND OLD.status IS DISTINCT FROM 'Cancelled')
               OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN
                operation := 'cancel';
            END IF;
        ELSE
            ids := ARRAY[OLD.id];
            operation := 'cancel';
            payload := jsonb_build_object('deleted', true);
        END IF;
    ELSIF TG_TABLE_NAME = 'reservation_guests' THEN
        IF TG_OP <> 'INSERT' THEN ids := ids || OLD.reservation_id; END IF;
        IF TG_OP <> 'DELETE' THEN ids := ids || NEW.reservation_id; END IF;
        -- Rows deleted by the cascade of a reservation's delete: that delete already said 'cancel'.
        SELECT coalesce(array_agg(DISTINCT r.id), '{{}}') INTO ids FROM public.reservations r WHERE r.id = ANY(ids);
    ELSIF TG_OP = 'UPDATE' THEN  -- guests: every live reservation of the guest shows the new details
        SELECT coalesce(array_agg(r.id), '{{}}') INTO ids FROM public.reservations r
        WHERE r.primary_guest_id = NEW.id AND r.status <> 'Cancelled' AND r.deleted_at IS NULL;
    END IF;
    IF cardinality(ids) > 0 THEN
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'reservation', id::text, operation, payload FROM unnest(ids) AS id;
        PERFORM pg_notify('{channel}', '');
    END IF;
    RETURN NULL;
END $$"""

#: One 'availability' row per room type a statement's stays touched, for the nights they cover.
STAYS_FUNCTION = "qlosync_hms_capture_stays"
_STAY_CHANGED = ("(o.room_type_id, o.check_in, o.check_out, o.units_requested, o.status, o.deleted_at) "
                 "IS DISTINCT FROM (n.room_type_id, n.check_in, n.check_out, n.units_requested, n.status, "
                 "n.deleted_at)")
#: The room types a stay change can change a hold of: those with a room out of service (every night).
_HELD_TYPES = ("room_type_id IN (SELECT r.room_type_id FROM public.rooms r WHERE r.status = 'Out of Service' "
               "AND r.room_type_id IS NOT NULL)")
_STAYS_BODY = """
DECLARE
    added integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability',
               jsonb_build_object('from', min(check_in), 'to', max(check_out) - 1)
        FROM new_rows WHERE {held} GROUP BY room_type_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability',
               jsonb_build_object('from', min(check_in), 'to', max(check_out) - 1)
        FROM (SELECT o.room_type_id, o.check_in, o.check_out FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE {changed}
              UNION ALL
              SELECT n.room_type_id, n.check_in, n.check_out FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE {changed}) AS changed
        WHERE {held} GROUP BY room_type_id;
    ELSE
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability',
               jsonb_build_object('from', min(check_in), 'to', max(check_out) - 1)
        FROM old_rows WHERE {held} GROUP BY room_type_id;
    END IF;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        PERFORM pg_notify('{channel}', '');
    END IF;
    RETURN NULL;
END $$"""

#: The nights a change that holds for every night covers: today (UTC, as qlosync's pushes count) onwards.
_HORIZON = ("jsonb_build_object('from', (now() AT TIME ZONE 'UTC')::date, "
            "'to', (now() AT TIME ZONE 'UTC')::date + {last})")

#: A room type's price: 'rates'; its number of sellable rooms or its soft delete: 'availability'.
ROOM_TYPES_FUNCTION = "qlosync_hms_capture_room_types"
_ROOM_TYPES_BODY = """
DECLARE
    added integer;
    total integer := 0;
BEGIN
    INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
    SELECT 'room_type', n.id::text, 'rates', {horizon}
    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.price_per_night IS DISTINCT FROM n.price_per_night;
    GET DIAGNOSTICS added = ROW_COUNT;
    total := total + added;
    IF coalesce(current_setting('qlosync.origin', true), '') = 'qloapps' THEN
        -- qlosync's catalog import raising qty to QloApps' own rooms: nothing to push back
        IF total > 0 THEN
            PERFORM pg_notify('{channel}', '');
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
    SELECT 'room_type', n.id::text, 'availability', {horizon}
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.qty IS DISTINCT FROM n.qty OR o.deleted_at IS DISTINCT FROM n.deleted_at;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF total + added > 0 THEN
        PERFORM pg_notify('{channel}', '');
    END IF;
    RETURN NULL;
END $$"""

#: A room added, removed, moved to another room type or changing status: 'availability' of its room types.
ROOMS_FUNCTION = "qlosync_hms_capture_rooms"
_ROOMS_BODY = """
DECLARE
    added integer;
BEGIN
    IF coalesce(current_setting('qlosync.origin', true), '') = 'qloapps' THEN
        RETURN NULL;  -- qlosync's catalog import copies QloApps' own room types and rooms: nothing to push back
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability', {horizon}
        FROM (SELECT DISTINCT room_type_id FROM new_rows WHERE room_type_id IS NOT NULL) AS changed;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability', {horizon}
        FROM (SELECT o.room_type_id FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE (o.status, o.room_type_id) IS DISTINCT FROM (n.status, n.room_type_id)
              UNION
              SELECT n.room_type_id FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE (o.status, o.room_type_id) IS DISTINCT FROM (n.status, n.room_type_id)) AS changed
        WHERE room_type_id IS NOT NULL;
    ELSE
        INSERT INTO {schema}.hms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id::text, 'availability', {horizon}
        FROM (SELECT DISTINCT room_type_id FROM old_rows WHERE room_type_id IS NOT NULL) AS changed;
    END IF;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        PERFORM pg_notify('{channel}', '');
    END IF;
    RETURN NULL;
END $$"""

FUNCTIONS = (RESERVATION_FUNCTION, STAYS_FUNCTION, ROOM_TYPES_FUNCTION, ROOMS_FUNCTION)


def function_sql(schema: str, ari_days: int = ARI_DAYS) -> list[str]:
    """``CREATE OR REPLACE FUNCTION`` of each trigger function, in *schema* (where ``hms_outbox`` is)."""
    if ari_days < 1:
        raise ConfigurationError(f"the ARI horizon must be at least 1 day, got {ari_days}")
    values = {"schema": schema, "channel": CHANNEL, "changed": _STAY_CHANGED, "held": _HELD_TYPES,
              "horizon": _HORIZON.format(last=int(ari_days) - 1)}
    bodies = {RESERVATION_FUNCTION: _RESERVATION_BODY, STAYS_FUNCTION: _STAYS_BODY,
              ROOM_TYPES_FUNCTION: _ROOM_TYPES_BODY, ROOMS_FUNCTION: _ROOMS_BODY}
    return [_HEAD.format(schema=schema, name=name) + bodies[name].format(**values) for name in FUNCTIONS]


# --- the triggers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """One capture trigger on a table of the PMS (in ``public``)."""

    name: str
    table: str
    definition: str  # what follows ``CREATE TRIGGER name``, with {table} and {function}
    function: str

    def create_sql(self, schema: str) -> str:
        return (f"CREATE TRIGGER {self.name} "
                + self.definition.format(table=f"{PMS_SCHEMA}.{self.table}", function=f"{schema}.{self.function}()"))


def _row(table: str, events: str) -> Trigger:
    return Trigger("qlosync_capture", table, f"AFTER {events} ON {{table}} FOR EACH ROW EXECUTE FUNCTION {{function}}",
                   RESERVATION_FUNCTION)


def _statements(table: str, prefix: str, function: str, events: Sequence[str]) -> list[Trigger]:
    """Statement-level triggers with their transition tables: one outbox row per room type a statement
    touched, however many rows it wrote (an import of a page of bookings is one statement)."""
    tables = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
              "DELETE": "OLD TABLE AS old_rows"}
    return [Trigger(f"{prefix}_{event.lower()}", table,
                    f"AFTER {event} ON {{table}} REFERENCING {tables[event]} FOR EACH STATEMENT "
                    "EXECUTE FUNCTION {function}", function)
            for event in events]


ALL_EVENTS = ("INSERT", "UPDATE", "DELETE")

#: Every capture trigger, all named qlosync_* (the only objects qlosync adds to the PMS's tables).
TRIGGERS: tuple[Trigger, ...] = (
    _row("reservations", "INSERT OR UPDATE OR DELETE"),
    *_statements("reservations", "qlosync_stays", STAYS_FUNCTION, ALL_EVENTS),
    _row("reservation_guests", "INSERT OR UPDATE OR DELETE"),
    _row("guests", "UPDATE"),
    *_statements("room_types", "qlosync_ari", ROOM_TYPES_FUNCTION, ("UPDATE",)),
    *_statements("rooms", "qlosync_ari", ROOMS_FUNCTION, ALL_EVENTS),
)
TABLES = tuple(sorted({trigger.table for trigger in TRIGGERS}))


def outbox_schema(session: Session) -> str:
    """The schema of qlosync's ``hms_outbox`` (qlosync's own), where the functions go."""
    schema = session.scalar(text(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass('hms_outbox')"))
    if schema is None:
        raise ConfigurationError("qlosync's table hms_outbox is missing: run `qlosync db upgrade` first")
    return str(schema)


def installed(session: Session) -> list[str]:
    """The capture's objects there are now (``trigger NAME on TABLE``, ``function SCHEMA.NAME()``), sorted."""
    triggers = session.execute(text(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND n.nspname = :schema AND c.relname = ANY(:tables) AND t.tgname = ANY(:names)"),
        {"schema": PMS_SCHEMA, "tables": list(TABLES), "names": sorted({t.name for t in TRIGGERS})})
    functions = session.execute(text(
        "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname = ANY(:names) AND p.pronargs = 0"), {"names": list(FUNCTIONS)})
    wanted = {(trigger.table, trigger.name) for trigger in TRIGGERS}
    return sorted([f"trigger {name} on {table}" for table, name in triggers if (table, name) in wanted]
                  + [f"function {schema}.{name}()" for schema, name in functions])


def install(session: Session, ari_days: int = ARI_DAYS) -> list[str]:
    """Create (or replace) the functions and create the triggers that are missing; idempotent. What it created
    (the functions are replaced each time, so that a new qlosync's rules apply: they are not listed again)."""
    schema = outbox_schema(session)
    before = set(installed(session))
    for statement in function_sql(schema, ari_days):
        session.execute(text(statement))
    present = _present_triggers(session)
    for trigger in TRIGGERS:
        if (trigger.table, trigger.name) not in present:
            session.execute(text(trigger.create_sql(schema)))
    return [name for name in installed(session) if name not in before]


def remove(session: Session) -> list[str]:
    """Drop the triggers, then the functions (wherever they are); idempotent. What it dropped."""
    found = installed(session)
    present = _present_triggers(session)
    for trigger in TRIGGERS:
        if (trigger.table, trigger.name) in present:
            session.execute(text(f"DROP TRIGGER {trigger.name} ON {PMS_SCHEMA}.{trigger.table}"))
    for schema, name in session.execute(text(
            "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = ANY(:names) AND p.pronargs = 0"), {"names": list(FUNCTIONS)}).all():
        session.execute(text(f'DROP FUNCTION "{schema}"."{name}"()'))
    return found


def _present_triggers(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(text(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND n.nspname = :schema AND c.relname = ANY(:tables)"),
        {"schema": PMS_SCHEMA, "tables": list(TABLES)})
    return {(str(table), str(name)) for table, name in rows}
