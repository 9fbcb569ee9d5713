"""The PMS behind a port: opaque PMS ids in qlosync's tables, and hotels in the built-in PMS

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:40:00+00:00

* qlosync's columns that hold a PMS id become text, without foreign keys into the built-in PMS: another PMS's
  ids (uuids, say) fit them. The built-in PMS keeps what those keys did with triggers of its own: deleting a
  room type, room, guest or reservation line deletes its mappings, deleting a reservation unlinks its mapping
  (the change-capture function, which collects that mapping's id first, compares ids as text now).
* ``qloapps_config.pms_hotel_id``: the PMS hotel a shop syncs with (NULL: the PMS's only hotel).
* The built-in PMS gains ``pms_hotels``, with one hotel that every existing room type, room, guest and
  reservation moves into. Room type codes and room numbers are unique per hotel. A writer that names no hotel
  (an existing integration's plain SQL) still works while there is only one: a trigger fills it in.

Downgrade refuses when a PMS id is not an integer, or when two hotels share a room type code or room number.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced PMS table, what its foreign key did on delete), frozen as of 0010.
PMS_ID_COLUMNS = (
    ("qloapps_room_type_mappings", "pms_room_type_id", "pms_room_types", "CASCADE"),
    ("qloapps_room_mappings", "pms_room_id", "pms_rooms", "CASCADE"),
    ("qloapps_reservation_mappings", "pms_reservation_id", "pms_reservations", "SET NULL"),
    ("qloapps_room_line_mappings", "pms_reservation_line_id", "pms_reservation_lines", "CASCADE"),
    ("qloapps_customer_mappings", "pms_guest_id", "pms_guests", "CASCADE"),
)
HOTEL_TABLES = ("pms_room_types", "pms_rooms", "pms_guests", "pms_reservations")
PER_HOTEL_UNIQUE = (("pms_room_types", "code"), ("pms_rooms", "number"))
DEFAULT_HOTEL = "Default hotel"


def _schema() -> str:
    schema = context.get_context().version_table_schema
    if not schema:
        raise RuntimeError("migration 0011 needs qlosync's env.py, which puts the version table in qlosync's schema")
    return schema


def _fk_name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _drop_foreign_key(table: str, column: str) -> None:
    # By the catalog, not by name: PostgreSQL cut the longer names 0001 gave them to 63 characters.
    op.execute(f"""
DO $$
DECLARE name text;
BEGIN
    SELECT c.conname INTO name FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
    WHERE c.conrelid = '{table}'::regclass AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum]
      AND a.attname = '{column}';
    IF name IS NOT NULL THEN
        EXECUTE 'ALTER TABLE {table} DROP CONSTRAINT ' || quote_ident(name);
    END IF;
END $$""")


def _forget_function(schema: str) -> str:
    deletes = "\n".join(
        f"    ELSIF TG_TABLE_NAME = '{referred}' THEN\n"
        + (f"        UPDATE {table} SET {column} = NULL WHERE {column} = OLD.id::text;" if action == "SET NULL"
           else f"        DELETE FROM {table} WHERE {column} = OLD.id::text;")
        for table, column, referred, action in PMS_ID_COLUMNS)
    return f"""
CREATE FUNCTION {schema}.qlosync_forget_pms_row() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, public AS $$
BEGIN
    IF false THEN NULL;
{deletes}
    END IF;
    RETURN OLD;
END $$"""


def _default_hotel_function(schema: str) -> str:
    return f"""
CREATE FUNCTION {schema}.qlosync_default_hotel() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, public AS $$
DECLARE hotels integer;
BEGIN
    IF NEW.hotel_id IS NULL THEN
        SELECT count(*), min(id) INTO hotels, NEW.hotel_id FROM pms_hotels;
        IF hotels <> 1 THEN
            RAISE EXCEPTION 'a row of % must name its hotel_id: the PMS has % hotels', TG_TABLE_NAME, hotels
                USING ERRCODE = 'not_null_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$"""


def _capture_function(schema: str, id_cast: str) -> str:
    """0002's change capture, comparing mapping ids as *id_cast* (``::text`` from here on, nothing below)."""
    return f"""
CREATE OR REPLACE FUNCTION {schema}.qlosync_capture_pms_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, public AS $$
DECLARE
    ids integer[] := '{{}}';
    operation text := 'update';
    payload jsonb := '{{}}';
BEGIN
    IF coalesce(current_setting('qlosync.origin', true), '') = 'qloapps' THEN
        RETURN OLD;  -- qlosync's own inbound apply: pushing it back would be an echo
    END IF;
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'updated_at') = (to_jsonb(OLD) - 'updated_at') THEN
        RETURN OLD;  -- nothing but the timestamp changed
    END IF;
    IF TG_TABLE_NAME = 'pms_reservations' THEN
        IF TG_OP = 'INSERT' THEN
            ids := ARRAY[NEW.id];
            operation := 'create';
        ELSIF TG_OP = 'UPDATE' THEN
            ids := ARRAY[NEW.id];
            IF NEW.status IN ('cancelled', 'refunded') AND NEW.status IS DISTINCT FROM OLD.status THEN
                operation := 'cancel';
            END IF;
        ELSE
            ids := ARRAY[OLD.id];
            operation := 'cancel';
            -- The mappings lose their link to the deleted row: keep their ids here.
            payload := jsonb_build_object('deleted', true, 'mapping_ids', coalesce(
                (SELECT jsonb_agg(m.id) FROM qloapps_reservation_mappings m
                 WHERE m.pms_reservation_id = OLD.id{id_cast}), '[]'::jsonb));
        END IF;
    ELSIF TG_TABLE_NAME = 'pms_reservation_lines' THEN
        IF TG_OP <> 'INSERT' THEN ids := ids || OLD.reservation_id; END IF;
        IF TG_OP <> 'DELETE' THEN ids := ids || NEW.reservation_id; END IF;
        -- Lines deleted by the cascade of a reservation delete: that delete already said 'cancel'.
        SELECT coalesce(array_agg(DISTINCT r.id), '{{}}') INTO ids FROM pms_reservations r WHERE r.id = ANY(ids);
    ELSIF TG_OP = 'UPDATE' THEN  -- pms_guests: every live reservation of the guest shows the new details
        SELECT coalesce(array_agg(r.id), '{{}}') INTO ids FROM pms_reservations r
        WHERE r.guest_id = NEW.id AND r.status NOT IN ('cancelled', 'refunded');
    END IF;
    IF cardinality(ids) > 0 THEN
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'reservation', id, operation, payload FROM unnest(ids) AS id;
        PERFORM pg_notify('qlosync_outbox', '');
    END IF;
    RETURN OLD;  -- ignored by AFTER triggers; lets the BEFORE DELETE go ahead
END $$"""


def upgrade() -> None:
    schema = _schema()
    for table, column, referred, _action in PMS_ID_COLUMNS:
        _drop_foreign_key(table, column)
        op.alter_column(table, column, type_=sa.String(64), postgresql_using=f"{column}::text")
    op.alter_column("qloapps_conflicts", "pms_reservation_id", type_=sa.String(64),
                    postgresql_using="pms_reservation_id::text")
    op.add_column("qloapps_config", sa.Column("pms_hotel_id", sa.String(64), nullable=True))
    op.execute(_capture_function(schema, "::text"))
    op.execute(_forget_function(schema))
    for _table, _column, referred, _action in PMS_ID_COLUMNS:
        op.execute(f"CREATE TRIGGER qlosync_forget AFTER DELETE ON public.{referred} "
                   f"FOR EACH ROW EXECUTE FUNCTION {schema}.qlosync_forget_pms_row()")

    op.create_table(
        "pms_hotels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pms_hotels")),
        schema="public",
    )
    op.execute(f"INSERT INTO public.pms_hotels (name) VALUES ('{DEFAULT_HOTEL}')")
    op.execute("CREATE TRIGGER qlosync_touch_updated_at BEFORE UPDATE ON public.pms_hotels "
               f"FOR EACH ROW EXECUTE FUNCTION {schema}.qlosync_touch_updated_at()")
    op.execute(_default_hotel_function(schema))
    for table in HOTEL_TABLES:
        # A default, not an UPDATE: an UPDATE would fire change capture and push every reservation again.
        op.add_column(table, sa.Column("hotel_id", sa.Integer(), nullable=False, server_default="1"), schema="public")
        op.alter_column(table, "hotel_id", server_default=None, schema="public")
        op.create_foreign_key(op.f(f"fk_{table}_hotel_id_pms_hotels"), table, "pms_hotels", ["hotel_id"], ["id"],
                              source_schema="public", referent_schema="public", ondelete="RESTRICT")
        op.create_index(op.f(f"ix_{table}_hotel_id"), table, ["hotel_id"], schema="public")
        op.execute(f"CREATE TRIGGER qlosync_default_hotel BEFORE INSERT ON public.{table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {schema}.qlosync_default_hotel()")
    for table, column in PER_HOTEL_UNIQUE:
        op.drop_constraint(f"uq_{table}_{column}", table, schema="public", type_="unique")
        op.create_unique_constraint(op.f(f"uq_{table}_hotel_id_{column}"), table, ["hotel_id", column],
                                    schema="public")


def _refuse_downgrade_if(bind: sa.Connection, query: str, why: str) -> None:
    found = bind.scalar(sa.text(query))
    if found:
        raise RuntimeError(f"cannot downgrade below 0011: {why} ({found})")


def downgrade() -> None:
    schema = _schema()
    if not context.is_offline_mode():
        bind = op.get_bind()
        for table, column, _referred, _action in PMS_ID_COLUMNS:
            _refuse_downgrade_if(bind, f"SELECT min({column}) FROM {table} WHERE {column} !~ '^[0-9]{{1,9}}$'",
                                 f"{table}.{column} holds an id that is not an integer")
        for table, column in PER_HOTEL_UNIQUE:
            _refuse_downgrade_if(bind, f"SELECT min({column}) FROM (SELECT {column} FROM public.{table} "
                                 f"GROUP BY {column} HAVING count(*) > 1) AS shared",
                                 f"two hotels share a {column} in {table}")
    for table, column in PER_HOTEL_UNIQUE:
        op.drop_constraint(f"uq_{table}_hotel_id_{column}", table, schema="public", type_="unique")
        op.create_unique_constraint(f"uq_{table}_{column}", table, [column], schema="public")
    for table in HOTEL_TABLES:
        op.execute(f"DROP TRIGGER qlosync_default_hotel ON public.{table}")
        op.drop_column(table, "hotel_id", schema="public")
    op.execute(f"DROP FUNCTION {schema}.qlosync_default_hotel()")
    op.drop_table("pms_hotels", schema="public")
    for _table, _column, referred, _action in PMS_ID_COLUMNS:
        op.execute(f"DROP TRIGGER qlosync_forget ON public.{referred}")
    op.execute(f"DROP FUNCTION {schema}.qlosync_forget_pms_row()")
    op.execute(_capture_function(schema, ""))
    op.drop_column("qloapps_config", "pms_hotel_id")
    op.alter_column("qloapps_conflicts", "pms_reservation_id", type_=sa.Integer(),
                    postgresql_using="pms_reservation_id::integer")
    for table, column, referred, action in PMS_ID_COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), postgresql_using=f"{column}::integer")
        # Rows whose PMS row is gone (no key kept them consistent above 0011) would stop the key: unlink them.
        if action == "SET NULL":
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL AND NOT EXISTS "
                       f"(SELECT 1 FROM public.{referred} p WHERE p.id = {table}.{column})")
        else:
            op.execute(f"DELETE FROM {table} WHERE NOT EXISTS "
                       f"(SELECT 1 FROM public.{referred} p WHERE p.id = {table}.{column})")
        op.create_foreign_key(op.f(_fk_name(table, column, referred)), table, referred, [column], ["id"],
                              referent_schema="public", ondelete=action)
