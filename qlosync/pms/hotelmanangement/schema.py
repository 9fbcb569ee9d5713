"""What the hotelmanangement adapter needs of that PMS's database, as data, and a check of a live catalog.

Written from ../shared/pms-hotelmanangement.md and checked against a database migrated with all 53 of the
PMS's knex migrations (commit 3b06fff): that database passes. Only the columns sync reads or writes are listed:
the PMS's other columns (the Beds24-era ones, check-ins, room moves) do not matter, except that a NOT NULL column
without a default on a table the adapter inserts into would make its inserts fail, so :func:`check` reports
those too.

Types are compared as ``information_schema.columns.data_type`` gives them; a text column may be ``text`` or
``character varying`` and a timestamp either kind, since sync reads both alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

UUID = ("uuid",)
STRING = ("character varying", "text")
INTEGER = ("integer",)
MONEY = ("numeric",)
DATE = ("date",)
BOOLEAN = ("boolean",)
TIMESTAMP = ("timestamp with time zone", "timestamp without time zone")


@dataclass(frozen=True)
class Column:
    name: str
    types: tuple[str, ...]
    #: True: the adapter relies on the database refusing NULL here (keys, hotel_id, stay dates).
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    #: The values the adapter writes into a column that has a CHECK ... IN (...): each must be allowed.
    checks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Column sets the adapter relies on being unique (its upserts and lookups).
    unique: tuple[tuple[str, ...], ...] = ()
    #: The adapter inserts rows here: every other NOT NULL column needs a default.
    inserted: bool = False


def _keyed(*columns: Column) -> tuple[Column, ...]:
    # Every PMS row: a uuid key and its hotel (hotel_id NOT NULL, no default: each insert names the hotel).
    return (Column("id", UUID, not_null=True), Column("hotel_id", UUID, not_null=True), *columns)


SOFT_DELETE = Column("deleted_at", TIMESTAMP)
TIMESTAMPS = (Column("created_at", TIMESTAMP), Column("updated_at", TIMESTAMP))

RESERVATION_STATUSES = ("Confirmed", "Checked-in", "Checked-out", "Cancelled")
RESERVATION_SOURCES = ("Direct", "Booking.com", "Expedia", "QloApps")
ROOM_STATUSES = ("Available", "Occupied", "Cleaning", "Out of Service")
ROOM_LEGACY_TYPES = ("Single", "Double", "Suite")

TABLES: tuple[Table, ...] = (
    Table("hotels", (Column("id", UUID, not_null=True), Column("hotel_name", STRING, not_null=True),
                     Column("currency", STRING), Column("timezone", STRING), SOFT_DELETE)),
    Table("guests", _keyed(Column("name", STRING, not_null=True), Column("email", STRING), Column("phone", STRING),
                           Column("notes", STRING), *TIMESTAMPS, SOFT_DELETE), inserted=True),
    # The port creates room types and rooms (create_room_type, create_room): both are inserted into.
    Table("room_types", _keyed(Column("name", STRING, not_null=True), Column("room_type", STRING),
                               Column("qty", INTEGER, not_null=True), Column("price_per_night", MONEY, not_null=True),
                               Column("max_people", INTEGER), Column("max_adult", INTEGER),
                               Column("max_children", INTEGER), *TIMESTAMPS, SOFT_DELETE), inserted=True),
    # type, room_type, price_per_night and floor are legacy columns, NOT NULL without a default: a new room fills
    # them (type as the PMS's own API does: 'Single', 'Suite' or 'Double' from the room type's room_type).
    Table("rooms", _keyed(Column("room_number", STRING, not_null=True), Column("room_type_id", UUID),
                          Column("status", STRING, not_null=True), Column("type", STRING), Column("room_type", STRING),
                          Column("price_per_night", MONEY), Column("floor", INTEGER), *TIMESTAMPS),
          checks={"status": ROOM_STATUSES, "type": ROOM_LEGACY_TYPES}, unique=(("hotel_id", "room_number"),),
          inserted=True),
    Table("reservations", _keyed(
        Column("primary_guest_id", UUID, not_null=True), Column("room_type_id", UUID),
        Column("units_requested", INTEGER), Column("room_id", UUID), Column("reserved_room_id", UUID),
        Column("check_in", DATE, not_null=True), Column("check_out", DATE, not_null=True),
        Column("status", STRING, not_null=True), Column("total_amount", MONEY, not_null=True), Column("tax", MONEY),
        Column("deposit", MONEY),
        Column("source", STRING), Column("channel", STRING), Column("reference", STRING),
        Column("special_requests", STRING), Column("notes", STRING),
        Column("num_adult", INTEGER), Column("num_child", INTEGER),
        Column("booking_time", TIMESTAMP), Column("modified_time", TIMESTAMP), Column("cancel_time", TIMESTAMP),
        *TIMESTAMPS, SOFT_DELETE),
        checks={"status": RESERVATION_STATUSES, "source": RESERVATION_SOURCES}, inserted=True),
    # No updated_at here (only created_at): a write of this table must not set one.
    Table("reservation_guests", _keyed(Column("reservation_id", UUID, not_null=True),
                                       Column("guest_id", UUID, not_null=True),
                                       Column("guest_type", STRING, not_null=True)),
          checks={"guest_type": ("Primary",)}, unique=(("reservation_id", "guest_id"),), inserted=True),
    # The PMS's own QloApps tables: its settings page shows the config row's sync state, which qlosync keeps
    # current; `qlosync adopt` reads the config and the four mapping tables once.
    Table("qloapps_config", _keyed(Column("base_url", STRING), Column("api_key_encrypted", STRING),
                                   Column("qloapps_hotel_id", INTEGER), Column("sync_enabled", BOOLEAN),
                                   Column("last_successful_sync", TIMESTAMP), Column("last_sync_error", STRING)),
          unique=(("hotel_id",),)),
    Table("qloapps_reservation_mappings", _keyed(
        Column("local_reservation_id", UUID), Column("qloapps_order_id", STRING), Column("qloapps_hotel_id", STRING),
        Column("source", STRING)), checks={"source": ("pms", "qloapps", "ota")}),
    Table("qloapps_customer_mappings", _keyed(Column("local_guest_id", UUID), Column("qloapps_customer_id", STRING),
                                              Column("qloapps_hotel_id", STRING))),
    Table("qloapps_room_type_mappings", _keyed(Column("local_room_type_id", UUID), Column("qloapps_product_id", STRING),
                                               Column("qloapps_hotel_id", STRING))),
    Table("qloapps_room_mappings", _keyed(Column("qloapps_hotel_id", STRING), Column("qloapps_room_id", STRING),
                                          Column("local_room_id", UUID), Column("local_room_type_id", UUID))),
)


@dataclass(frozen=True)
class _Live:
    """The catalog facts of one table, as :func:`check` compares them."""

    columns: dict[str, tuple[str, bool, bool]]  # name -> (data_type, nullable, has a default)
    primary_key: tuple[str, ...] | None
    checks: dict[str, list[str]]  # column -> definitions of the CHECK constraints on it
    unique: list[frozenset[str]]


def check(connection: Connection, schema: str = "public") -> list[str]:
    """What the database lacks for the adapter to drive it, one line each; an empty list: drivable."""
    live = _read_catalog(connection, schema, [table.name for table in TABLES])
    problems: list[str] = []
    for table in TABLES:
        found = live.get(table.name)
        if found is None:
            problems.append(f"table {table.name} missing")
        else:
            problems.extend(_compare(table, found))
    return problems


def _compare(table: Table, live: _Live) -> Iterable[str]:
    name = table.name
    for column in table.columns:
        if column.name not in live.columns:
            yield f"column {name}.{column.name} missing"
            continue
        data_type, nullable, _ = live.columns[column.name]
        if data_type not in column.types:
            yield f"column {name}.{column.name} is {data_type}, expected {' or '.join(column.types)}"
        if column.not_null and nullable:
            yield f"column {name}.{column.name} allows NULL, expected NOT NULL"
    if live.primary_key != ("id",):
        got = ", ".join(live.primary_key) if live.primary_key else "none"
        yield f"primary key of {name} is ({got}), expected (id)"
    for column_name, values in table.checks.items():
        definitions = live.checks.get(column_name)
        if not definitions:
            yield f"no CHECK on {name}.{column_name} (expected one allowing {', '.join(values)})"
            continue
        # knex writes an enum as CHECK (col = ANY (ARRAY['a'::text, ...])): each allowed value is a literal.
        for value in values:
            if not any(f"'{value}'" in definition for definition in definitions):
                yield f"CHECK on {name}.{column_name} lacks '{value}'"
    for columns in table.unique:
        if frozenset(columns) not in live.unique:
            yield f"no unique constraint on {name} ({', '.join(columns)})"
    if table.inserted:
        written = {column.name for column in table.columns}
        for column_name, (_, nullable, has_default) in sorted(live.columns.items()):
            if column_name not in written and not nullable and not has_default:
                yield f"column {name}.{column_name} is NOT NULL without a default, and the adapter does not write it"


def _read_catalog(connection: Connection, schema: str, tables: list[str]) -> dict[str, _Live]:
    # Four queries for all tables at once; pg_catalog for keys and CHECKs (information_schema hides a CHECK's
    # columns from users who do not own the table).
    params = {"schema": schema, "tables": tables}
    columns: dict[str, dict[str, tuple[str, bool, bool]]] = defaultdict(dict)
    for table, column, data_type, nullable, default in connection.execute(text(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES', c.column_default IS NOT NULL "
            "       OR c.is_identity = 'YES' OR c.is_generated = 'ALWAYS' "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = :schema AND c.table_name = ANY(:tables)"), params):
        columns[table][column] = (data_type, nullable, default)
    primary: dict[str, tuple[str, ...]] = {}
    checks: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for table, kind, names, definition in connection.execute(text(
            "SELECT r.relname, k.contype, "
            "       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i) "
            "             JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = u.n ORDER BY u.i), "
            "       pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid "
            "JOIN pg_namespace s ON s.oid = r.relnamespace "
            "WHERE s.nspname = :schema AND r.relname = ANY(:tables) AND k.contype IN ('p', 'c')"), params):
        if kind == "p":
            primary[table] = tuple(names)
        else:
            for name in names:
                checks[table][name].append(definition)
    unique: dict[str, list[frozenset[str]]] = defaultdict(list)
    # Unique indexes, whether a constraint's or created alone (a partial one counts: it still guards lookups).
    for table, names in connection.execute(text(
            "SELECT r.relname, ARRAY(SELECT a.attname::text FROM unnest(i.indkey) u(n) "
            "                        JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = u.n) "
            "FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid JOIN pg_namespace s ON s.oid = r.relnamespace "
            "WHERE s.nspname = :schema AND r.relname = ANY(:tables) AND i.indisunique"), params):
        unique[table].append(frozenset(names))
    return {table: _Live(found, primary.get(table), dict(checks[table]), unique[table])
            for table, found in columns.items()}
