"""qlosync's own tables for the hotelmanangement adapter: reservation groups and the change outbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:00:00+00:00

Both live in qlosync's schema and are created whichever PMS qlosync drives (empty and unused with the built-in
one); the hotelmanangement PMS's own tables are never changed by a migration. Its change-capture triggers are
installed after the migrations, by qlosync.pms's install_change_capture, when QLOSYNC_PMS names that PMS.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPERATIONS = ("create", "update", "cancel", "availability", "rates")  # frozen: OutboxOperation as of 0012


def upgrade() -> None:
    op.create_table(
        "hms_reservation_groups",
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("hotel_id", sa.String(36), nullable=False),
        sa.Column("qloapps_status", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_hms_reservation_groups")),
    )
    op.create_index("ix_hms_reservation_groups_group", "hms_reservation_groups", ["group_id"])
    op.create_table(
        "hms_outbox",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("aggregate", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(36), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("payload", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_error", sa.Text),
        sa.CheckConstraint("operation IN (" + ", ".join(f"'{o}'" for o in OPERATIONS) + ")", name=op.f("ck_hms_outbox_operation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hms_outbox")),
    )
    op.create_index("ix_hms_outbox_unpublished", "hms_outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    op.drop_table("hms_outbox")
    op.drop_table("hms_reservation_groups")
