"""many shops: per-shop request limits, a shared request gate and circuit breaker

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 13:00:00+00:00

* ``qloapps_config.max_concurrent_requests`` / ``max_requests_per_second``: how hard qlosync may use one
  shop's website, summed over every worker process on every host.
* ``qloapps_shop_gate``: one row per shop, shared by all processes: the pacing of its requests (``tat``, the
  earliest time the next request may start, GCRA style) and its circuit breaker (consecutive failures and,
  while it is open, until when requests are refused).
* ``qloapps_request_lanes``: the shop's concurrency slots; a request holds one lane for its duration, with
  an expiry, so a process that dies mid-request frees its lane by itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("qloapps_config", sa.Column("max_concurrent_requests", sa.Integer(), nullable=False,
                                              server_default="4"))
    op.add_column("qloapps_config", sa.Column("max_requests_per_second", sa.Float(), nullable=False,
                                              server_default="25"))
    op.create_check_constraint(op.f("ck_qloapps_config_max_concurrent_requests"), "qloapps_config",
                               "max_concurrent_requests BETWEEN 1 AND 64")
    op.create_check_constraint(op.f("ck_qloapps_config_max_requests_per_second"), "qloapps_config",
                               "max_requests_per_second > 0 AND max_requests_per_second <= 1000")
    op.create_table(
        "qloapps_shop_gate",
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("config_id", name=op.f("pk_qloapps_shop_gate")),
        sa.ForeignKeyConstraint(["config_id"], ["qloapps_config.id"], ondelete="CASCADE",
                                name=op.f("fk_qloapps_shop_gate_config_id_qloapps_config")),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("trips", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("open_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "qloapps_request_lanes",
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("config_id", "lane", name=op.f("pk_qloapps_request_lanes")),
        sa.ForeignKeyConstraint(["config_id"], ["qloapps_config.id"], ondelete="CASCADE",
                                name=op.f("fk_qloapps_request_lanes_config_id_qloapps_config")),
        sa.Column("holder", sa.String(128)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("qloapps_request_lanes")
    op.drop_table("qloapps_shop_gate")
    op.drop_constraint(op.f("ck_qloapps_config_max_requests_per_second"), "qloapps_config", type_="check")
    op.drop_constraint(op.f("ck_qloapps_config_max_concurrent_requests"), "qloapps_config", type_="check")
    op.drop_column("qloapps_config", "max_requests_per_second")
    op.drop_column("qloapps_config", "max_concurrent_requests")
