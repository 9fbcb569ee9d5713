"""rates: nightly PMS rates per room type, and the QloApps price rules qlosync owns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:00:00+00:00

A statement that changes rates adds ONE ``pms_outbox`` row per room type it touched (operation
``rates``, payload ``{"from": first night, "to": last night}``), not one per night: a 365-night calendar
is one row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAPTURE_RATES = """
CREATE FUNCTION qlosync_capture_rate_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id, 'rates', jsonb_build_object('from', min(night), 'to', max(night))
        FROM new_rows GROUP BY room_type_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id, 'rates', jsonb_build_object('from', min(night), 'to', max(night))
        FROM (SELECT room_type_id, night FROM old_rows UNION ALL SELECT room_type_id, night FROM new_rows) AS changed
        GROUP BY room_type_id;
    ELSE
        INSERT INTO pms_outbox (aggregate, aggregate_id, operation, payload)
        SELECT 'room_type', room_type_id, 'rates', jsonb_build_object('from', min(night), 'to', max(night))
        FROM old_rows GROUP BY room_type_id;
    END IF;
    PERFORM pg_notify('qlosync_outbox', '');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "pms_room_type_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_type_id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_pms_room_type_rates_price")),
        sa.ForeignKeyConstraint(["room_type_id"], ["pms_room_types.id"],
                                name=op.f("fk_pms_room_type_rates_room_type_id_pms_room_types"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pms_room_type_rates")),
        sa.UniqueConstraint("room_type_id", "night", name=op.f("uq_pms_room_type_rates_room_type_id_night")),
    )
    op.create_table(
        "qloapps_rate_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("qloapps_room_type_id", sa.Integer(), nullable=False),
        sa.Column("feature_price_id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["config_id"], ["qloapps_config.id"],
                                name=op.f("fk_qloapps_rate_rules_config_id_qloapps_config"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qloapps_rate_rules")),
        sa.UniqueConstraint("config_id", "feature_price_id", name=op.f("uq_qloapps_rate_rules_config_id_feature_price_id")),
    )
    op.create_index("ix_qloapps_rate_rules_room_type", "qloapps_rate_rules",
                    ["config_id", "qloapps_room_type_id", "date_from"])
    op.execute("CREATE TRIGGER qlosync_touch_updated_at BEFORE UPDATE ON pms_room_type_rates "
               "FOR EACH ROW EXECUTE FUNCTION qlosync_touch_updated_at()")
    op.execute(CAPTURE_RATES)
    op.execute("CREATE TRIGGER qlosync_capture_insert AFTER INSERT ON pms_room_type_rates REFERENCING NEW TABLE AS "
               "new_rows FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_rate_change()")
    op.execute("CREATE TRIGGER qlosync_capture_update AFTER UPDATE ON pms_room_type_rates REFERENCING OLD TABLE AS "
               "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_rate_change()")
    op.execute("CREATE TRIGGER qlosync_capture_delete AFTER DELETE ON pms_room_type_rates REFERENCING OLD TABLE AS "
               "old_rows FOR EACH STATEMENT EXECUTE FUNCTION qlosync_capture_rate_change()")


def downgrade() -> None:
    for name in ("qlosync_capture_insert", "qlosync_capture_update", "qlosync_capture_delete",
                 "qlosync_touch_updated_at"):
        op.execute(f"DROP TRIGGER {name} ON pms_room_type_rates")
    op.execute("DROP FUNCTION qlosync_capture_rate_change()")
    op.drop_index("ix_qloapps_rate_rules_room_type", table_name="qloapps_rate_rules")
    op.drop_table("qloapps_rate_rules")
    op.drop_table("pms_room_type_rates")
