"""operator surfaces: heartbeats of qlosync's processes, and the message that started a sync run

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00+00:00

``qlosync_processes`` has one row per running (or recently gone) worker, relay, scheduler or API process;
``qlosync status`` calls a process stale when its last beat is older than two of its beat periods.
``qloapps_sync_state.message_id`` lets ``POST /api/v1/qloapps/sync`` answer with the run its message started.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qlosync_processes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qlosync_processes")),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("queues", postgresql.ARRAY(sa.String(255)), nullable=False, server_default="{}"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_beat_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("beat_interval_s", sa.Float(), nullable=False),
        sa.Column("messages_done", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("messages_failed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("role IN ('worker', 'relay', 'scheduler', 'api')", name=op.f("ck_qlosync_processes_role")),
        sa.UniqueConstraint("host", "pid", "started_at", name=op.f("uq_qlosync_processes_host_pid_started_at")),
    )
    op.create_index(op.f("ix_qlosync_processes_last_beat_at"), "qlosync_processes", ["last_beat_at"])
    op.add_column("qloapps_sync_state", sa.Column("message_id", sa.String(64)))
    op.create_index(op.f("ix_qloapps_sync_state_message_id"), "qloapps_sync_state", ["message_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_qloapps_sync_state_message_id"), table_name="qloapps_sync_state")
    op.drop_column("qloapps_sync_state", "message_id")
    op.drop_index(op.f("ix_qlosync_processes_last_beat_at"), table_name="qlosync_processes")
    op.drop_table("qlosync_processes")
