"""outbound sync: change capture on the PMS tables, push bookkeeping, conflicts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 07:00:00+00:00

* Server-side defaults on the PMS tables, so a host writing plain SQL needs only the essential columns.
* ``updated_at`` kept current by a trigger for writes that bypass the ORM (``newest_wins`` reads it).
* Change capture: every insert, update or delete of a reservation, its lines or its guest adds a
  ``pms_outbox`` row in the same transaction and notifies channel ``qlosync_outbox``. Writes made under
  ``SET LOCAL qlosync.origin = 'qloapps'`` (qlosync's own inbound apply) add nothing: no echo.
* Push bookkeeping on the reservation mappings, and the ``qloapps_conflicts`` table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> {column: server default}
DEFAULTS: dict[str, dict[str, str]] = {
    "pms_room_types": {"base_price": "0", "max_adults": "2", "max_children": "0"},
    "pms_rooms": {"status": "'available'"},
    "pms_reservations": {"status": "'pending'", "currency": "'USD'", "total_without_tax": "0", "total_tax": "0",
                         "total_paid": "0"},
    "pms_reservation_lines": {"adults": "1", "children": "0", "child_ages": "'[]'::jsonb",
                              "price_without_tax": "0", "tax": "0"},
    "pms_outbox": {"payload": "'{}'::jsonb", "attempts": "0"},
}
TOUCHED_TABLES = ("pms_room_types", "pms_rooms", "pms_guests", "pms_reservations", "pms_reservation_lines")
CAPTURED_TABLES = ("pms_reservations", "pms_reservation_lines", "pms_guests")

TOUCH_FUNCTION = """
CREATE FUNCTION qlosync_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$
"""

# One function for the three tables. AFTER triggers, so the row is final (defaults, touch trigger applied),
# except a reservation's DELETE: BEFORE, while its mappings still point at it (ON DELETE SET NULL runs first
# among AFTER triggers).
CAPTURE_FUNCTION = """
CREATE FUNCTION qlosync_capture_pms_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids integer[] := '{}';
    operation text := 'update';
    payload jsonb := '{}';
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
            -- The mappings lose their link to the deleted row (ON DELETE SET NULL): keep their ids here.
            payload := jsonb_build_object('deleted', true, 'mapping_ids', coalesce(
                (SELECT jsonb_agg(m.id) FROM qloapps_reservation_mappings m WHERE m.pms_reservation_id = OLD.id),
                '[]'::jsonb));
        END IF;
    ELSIF TG_TABLE_NAME = 'pms_reservation_lines' THEN
        IF TG_OP <> 'INSERT' THEN ids := ids || OLD.reservation_id; END IF;
        IF TG_OP <> 'DELETE' THEN ids := ids || NEW.reservation_id; END IF;
        -- Lines deleted by the cascade of a reservation delete: that delete already said 'cancel'.
        SELECT coalesce(array_agg(DISTINCT r.id), '{}') INTO ids FROM pms_reservations r WHERE r.id = ANY(ids);
    ELSIF TG_OP = 'UPDATE' THEN  -- pms_guests: every live reservation of the guest shows the new details
        SELECT coalesce(array_agg(r.id), '{}') INTO ids FROM pms_reservations r
        WHERE r.guest_id = NEW.id AND r.status NOT IN ('cancelled', 'refunded');
    END IF;
    IF cardinality(ids) > 0 THEN
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'reservation', id, operation, payload FROM unnest(ids) AS id;
        PERFORM pg_notify('qlosync_outbox', '');
    END IF;
    RETURN OLD;  -- ignored by AFTER triggers; lets the BEFORE DELETE go ahead
END $$
"""


def upgrade() -> None:
    for table, columns in DEFAULTS.items():
        for column, default in columns.items():
            op.alter_column(table, column, server_default=sa.text(default))
    op.execute(TOUCH_FUNCTION)
    for table in TOUCHED_TABLES:
        op.execute(f"CREATE TRIGGER qlosync_touch_updated_at BEFORE UPDATE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION qlosync_touch_updated_at()")
    op.execute(CAPTURE_FUNCTION)
    op.execute("CREATE TRIGGER qlosync_capture AFTER INSERT OR UPDATE ON pms_reservations "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()")
    op.execute("CREATE TRIGGER qlosync_capture_delete BEFORE DELETE ON pms_reservations "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()")
    op.execute("CREATE TRIGGER qlosync_capture AFTER INSERT OR UPDATE OR DELETE ON pms_reservation_lines "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()")
    op.execute("CREATE TRIGGER qlosync_capture AFTER UPDATE ON pms_guests "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_capture_pms_change()")

    op.add_column("qloapps_reservation_mappings", sa.Column("push_attempted_at", sa.DateTime(timezone=True)))
    op.add_column("qloapps_reservation_mappings", sa.Column("push_error", sa.Text()))
    op.add_column("qloapps_reservation_mappings", sa.Column("push_error_at", sa.DateTime(timezone=True)))
    op.create_index("ix_qloapps_reservation_mappings_push_error", "qloapps_reservation_mappings", ["config_id"],
                    postgresql_where="push_error IS NOT NULL")

    op.create_table(
        "qloapps_conflicts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=False),
        sa.Column("pms_reservation_id", sa.Integer(), nullable=True),
        sa.Column("qloapps_order_id", sa.Integer(), nullable=True),
        sa.Column("detected_by", sa.String(length=16), nullable=False),
        sa.Column("pms_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qloapps_changed_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_qloapps_conflicts_status")),
        sa.CheckConstraint("resolution IS NULL OR resolution IN ('pms', 'qloapps')",
                           name=op.f("ck_qloapps_conflicts_resolution")),
        sa.ForeignKeyConstraint(["config_id"], ["qloapps_config.id"],
                                name=op.f("fk_qloapps_conflicts_config_id_qloapps_config"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mapping_id"], ["qloapps_reservation_mappings.id"],
                                name=op.f("fk_qloapps_conflicts_mapping_id_qloapps_reservation_mappings"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qloapps_conflicts")),
    )
    op.create_index("uq_qloapps_conflicts_open", "qloapps_conflicts", ["mapping_id"], unique=True,
                    postgresql_where="status = 'open'")


def downgrade() -> None:
    op.drop_index("uq_qloapps_conflicts_open", table_name="qloapps_conflicts", postgresql_where="status = 'open'")
    op.drop_table("qloapps_conflicts")
    op.drop_index("ix_qloapps_reservation_mappings_push_error", table_name="qloapps_reservation_mappings",
                  postgresql_where="push_error IS NOT NULL")
    for column in ("push_error_at", "push_error", "push_attempted_at"):
        op.drop_column("qloapps_reservation_mappings", column)
    op.execute("DROP TRIGGER qlosync_capture_delete ON pms_reservations")
    for table in CAPTURED_TABLES:
        op.execute(f"DROP TRIGGER qlosync_capture ON {table}")
    op.execute("DROP FUNCTION qlosync_capture_pms_change()")
    for table in TOUCHED_TABLES:
        op.execute(f"DROP TRIGGER qlosync_touch_updated_at ON {table}")
    op.execute("DROP FUNCTION qlosync_touch_updated_at()")
    for table, columns in DEFAULTS.items():
        for column in columns:
            op.alter_column(table, column, server_default=None)
