"""availability: closed nights and out-of-order rooms in the PMS, and the stop-sell bookings qlosync owns

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00+00:00

A statement that changes closed nights or outages adds one ``pms_outbox`` row per room type it touched
(operation ``availability``, payload ``{"from": first night, "to": last night}``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, SQL giving room_type_id, first night, last night for a transition table named {rows})
SOURCES = {
    "pms_closed_nights": "SELECT room_type_id, night AS first_night, night AS last_night FROM {rows}",
    "pms_room_outages": ("SELECT r.room_type_id, o.date_from AS first_night, o.date_to - 1 AS last_night "
                         "FROM {rows} o JOIN pms_rooms r ON r.id = o.room_id"),
}


def _capture_function(table: str) -> str:
    changed = {op_: " UNION ALL ".join(SOURCES[table].format(rows=rows) for rows in names)
               for op_, names in (("INSERT", ["new_rows"]), ("UPDATE", ["old_rows", "new_rows"]),
                                  ("DELETE", ["old_rows"]))}
    branches = "\n    ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{op_}' THEN\n"
        f"        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)\n"
        f"        SELECT 'room_type', room_type_id, 'availability', "
        f"jsonb_build_object('from', min(first_night), 'to', max(last_night))\n"
        f"        FROM ({sql}) AS changed GROUP BY room_type_id;"
        for i, (op_, sql) in enumerate(changed.items()))
    return f"""
CREATE FUNCTION qlosync_capture_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {branches}
    END IF;
    PERFORM pg_notify('qlosync_outbox', '');
    RETURN NULL;
END $$
"""


# A stay that starts, moves or ends on a room type with closed nights or rooms out of order changes how
# many rooms the stop-sell booking must hold: queue an availability push. Inbound writes count too (a
# guest's cancellation on the website frees a room that a closed night must take), so no origin check.
STAY_CHANGE = """
CREATE FUNCTION qlosync_queue_availability(room_type integer, checkin date, checkout date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pms_closed_nights c WHERE c.room_type_id = room_type
               AND c.night >= checkin AND c.night < checkout)
       OR EXISTS (SELECT 1 FROM pms_room_outages o JOIN pms_rooms r ON r.id = o.room_id
                  WHERE r.room_type_id = room_type AND o.date_from < checkout AND o.date_to > checkin) THEN
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        VALUES ('room_type', room_type, 'availability', jsonb_build_object('from', checkin, 'to', checkout - 1));
        PERFORM pg_notify('qlosync_outbox', '');
    END IF;
END $$;

CREATE FUNCTION qlosync_capture_stay_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stay record;
BEGIN
    IF TG_TABLE_NAME = 'pms_reservations' THEN
        FOR stay IN SELECT l.room_type_id, l.checkin, l.checkout FROM pms_reservation_lines l
                    WHERE l.reservation_id = NEW.id LOOP
            PERFORM qlosync_queue_availability(stay.room_type_id, stay.checkin, stay.checkout);
        END LOOP;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            PERFORM qlosync_queue_availability(OLD.room_type_id, OLD.checkin, OLD.checkout);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM qlosync_queue_availability(NEW.room_type_id, NEW.checkin, NEW.checkout);
        END IF;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "pms_closed_nights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_type_id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["room_type_id"], ["pms_room_types.id"],
                                name=op.f("fk_pms_closed_nights_room_type_id_pms_room_types"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pms_closed_nights")),
        sa.UniqueConstraint("room_type_id", "night", name=op.f("uq_pms_closed_nights_room_type_id_night")),
    )
    op.create_table(
        "pms_room_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("date_to > date_from", name=op.f("ck_pms_room_outages_dates")),
        sa.ForeignKeyConstraint(["room_id"], ["pms_rooms.id"], name=op.f("fk_pms_room_outages_room_id_pms_rooms"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pms_room_outages")),
    )
    op.create_index("ix_pms_room_outages_room", "pms_room_outages", ["room_id", "date_from"])
    op.create_table(
        "qloapps_stop_sell_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("qloapps_room_type_id", sa.Integer(), nullable=False),
        sa.Column("qloapps_order_id", sa.Integer(), nullable=True),
        sa.Column("push_token", sa.String(length=64), nullable=True),
        sa.Column("push_attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("conflicts", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["config_id"], ["qloapps_config.id"],
                                name=op.f("fk_qloapps_stop_sell_blocks_config_id_qloapps_config"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qloapps_stop_sell_blocks")),
        sa.UniqueConstraint("config_id", "qloapps_room_type_id",
                            name=op.f("uq_qloapps_stop_sell_blocks_config_id_qloapps_room_type_id")),
    )
    for table in SOURCES:
        op.execute(_capture_function(table))
        op.execute(f"CREATE TRIGGER qlosync_capture_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_{table}()")
        op.execute(f"CREATE TRIGGER qlosync_capture_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
                   f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_{table}()")
        op.execute(f"CREATE TRIGGER qlosync_capture_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_{table}()")
    op.execute(STAY_CHANGE)
    op.execute("CREATE TRIGGER qlosync_stay_change AFTER INSERT OR UPDATE OR DELETE ON pms_reservation_lines "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_capture_stay_change()")
    op.execute("CREATE TRIGGER qlosync_stay_change AFTER UPDATE OF status ON pms_reservations "
               "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION qlosync_capture_stay_change()")


def downgrade() -> None:
    op.execute("DROP TRIGGER qlosync_stay_change ON pms_reservations")
    op.execute("DROP TRIGGER qlosync_stay_change ON pms_reservation_lines")
    op.execute("DROP FUNCTION qlosync_capture_stay_change()")
    op.execute("DROP FUNCTION qlosync_queue_availability(integer, date, date)")
    for table in SOURCES:
        for name in ("qlosync_capture_insert", "qlosync_capture_update", "qlosync_capture_delete"):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION qlosync_capture_{table}()")
    op.drop_table("qloapps_stop_sell_blocks")
    op.drop_index("ix_pms_room_outages_room", table_name="pms_room_outages")
    op.drop_table("pms_room_outages")
    op.drop_table("pms_closed_nights")
