"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 05:08:16.653311+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pms_guests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=255), nullable=False),
    sa.Column('last_name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_normalized', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('phone_normalized', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_guests'))
    )
    op.create_index(op.f('ix_pms_guests_email_normalized'), 'pms_guests', ['email_normalized'], unique=False)
    op.create_index('ix_pms_guests_phone_name', 'pms_guests', ['phone_normalized', 'last_name'], unique=False)
    op.create_table('pms_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('aggregate', sa.String(length=32), nullable=False),
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=16), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("operation IN ('create', 'update', 'cancel', 'availability', 'rates')", name=op.f('ck_pms_outbox_operation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_outbox'))
    )
    op.create_index('ix_pms_outbox_unpublished', 'pms_outbox', ['id'], unique=False, postgresql_where='published_at IS NULL')
    op.create_table('pms_room_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('base_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('max_adults', sa.Integer(), nullable=False),
    sa.Column('max_children', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_room_types')),
    sa.UniqueConstraint('code', name=op.f('uq_pms_room_types_code'))
    )
    op.create_table('qloapps_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('base_url', sa.String(length=512), nullable=False),
    sa.Column('api_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('sync_enabled', sa.Boolean(), nullable=False),
    sa.Column('id_hotel', sa.Integer(), nullable=False),
    sa.Column('conflict_strategy', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("conflict_strategy IN ('qloapps_wins', 'pms_wins', 'newest_wins', 'manual')", name=op.f('ck_qloapps_config_conflict_strategy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_config')),
    sa.UniqueConstraint('name', name=op.f('uq_qloapps_config_name'))
    )
    op.create_table('qloapps_dead_letters',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('actor_name', sa.String(length=128), nullable=False),
    sa.Column('queue_name', sa.String(length=128), nullable=False),
    sa.Column('args', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('kwargs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error_class', sa.String(length=255), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('dead_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('requeued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requeue_count', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('dead', 'requeued', 'purged', 'succeeded')", name=op.f('ck_qloapps_dead_letters_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_dead_letters')),
    sa.UniqueConstraint('message_id', name=op.f('uq_qloapps_dead_letters_message_id'))
    )
    op.create_index('ix_qloapps_dead_letters_status', 'qloapps_dead_letters', ['status', 'dead_at'], unique=False)
    op.create_table('pms_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guest_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_without_tax', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_tax', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_paid', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'partially_paid', 'cancelled', 'refunded', 'payment_error')", name=op.f('ck_pms_reservations_status')),
    sa.ForeignKeyConstraint(['guest_id'], ['pms_guests.id'], name=op.f('fk_pms_reservations_guest_id_pms_guests'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_reservations'))
    )
    op.create_index(op.f('ix_pms_reservations_guest_id'), 'pms_reservations', ['guest_id'], unique=False)
    op.create_table('pms_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_type_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['room_type_id'], ['pms_room_types.id'], name=op.f('fk_pms_rooms_room_type_id_pms_room_types'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_rooms')),
    sa.UniqueConstraint('number', name=op.f('uq_pms_rooms_number'))
    )
    op.create_index(op.f('ix_pms_rooms_room_type_id'), 'pms_rooms', ['room_type_id'], unique=False)
    op.create_table('qloapps_customer_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_customer_id', sa.Integer(), nullable=False),
    sa.Column('pms_guest_id', sa.Integer(), nullable=False),
    sa.Column('match_method', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("match_method IN ('email', 'phone_name', 'created', 'manual', 'pushed')", name=op.f('ck_qloapps_customer_mappings_match_method')),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_customer_mappings_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pms_guest_id'], ['pms_guests.id'], name=op.f('fk_qloapps_customer_mappings_pms_guest_id_pms_guests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_customer_mappings')),
    sa.UniqueConstraint('config_id', 'qloapps_customer_id', name=op.f('uq_qloapps_customer_mappings_config_id_qloapps_customer_id'))
    )
    op.create_index('ix_qloapps_customer_mappings_guest', 'qloapps_customer_mappings', ['pms_guest_id'], unique=False)
    op.create_table('qloapps_room_type_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_room_type_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_hotel_id', sa.Integer(), nullable=False),
    sa.Column('pms_room_type_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_room_type_mappings_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pms_room_type_id'], ['pms_room_types.id'], name=op.f('fk_qloapps_room_type_mappings_pms_room_type_id_pms_room_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_room_type_mappings')),
    sa.UniqueConstraint('config_id', 'pms_room_type_id', name=op.f('uq_qloapps_room_type_mappings_config_id_pms_room_type_id')),
    sa.UniqueConstraint('config_id', 'qloapps_room_type_id', name=op.f('uq_qloapps_room_type_mappings_config_id_qloapps_room_type_id'))
    )
    op.create_table('qloapps_sync_cursor',
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('cursor_date_upd', sa.DateTime(), nullable=True),
    sa.Column('cursor_id', sa.Integer(), nullable=True),
    sa.Column('last_successful_sync', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_full_sync', sa.DateTime(timezone=True), nullable=True),
    sa.Column('full_sync_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_sync_cursor_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('config_id', name=op.f('pk_qloapps_sync_cursor'))
    )
    op.create_table('qloapps_sync_state',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('slot_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cursor_before_date_upd', sa.DateTime(), nullable=True),
    sa.Column('cursor_before_id', sa.Integer(), nullable=True),
    sa.Column('cursor_after_date_upd', sa.DateTime(), nullable=True),
    sa.Column('cursor_after_id', sa.Integer(), nullable=True),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('parked', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('full', 'incremental')", name=op.f('ck_qloapps_sync_state_kind')),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'skipped')", name=op.f('ck_qloapps_sync_state_status')),
    sa.CheckConstraint("trigger IN ('schedule', 'manual', 'fallback')", name=op.f('ck_qloapps_sync_state_trigger')),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_sync_state_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_sync_state')),
    sa.UniqueConstraint('config_id', 'slot_at', name='uq_qloapps_sync_state_slot')
    )
    op.create_index('ix_qloapps_sync_state_config_started', 'qloapps_sync_state', ['config_id', 'started_at'], unique=False)
    op.create_table('pms_reservation_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('room_type_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('checkin', sa.Date(), nullable=False),
    sa.Column('checkout', sa.Date(), nullable=False),
    sa.Column('adults', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('child_ages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('price_without_tax', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('adults >= 0 AND children >= 0', name=op.f('ck_pms_reservation_lines_occupancy')),
    sa.CheckConstraint('checkout > checkin', name=op.f('ck_pms_reservation_lines_stay_dates')),
    sa.ForeignKeyConstraint(['reservation_id'], ['pms_reservations.id'], name=op.f('fk_pms_reservation_lines_reservation_id_pms_reservations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['pms_rooms.id'], name=op.f('fk_pms_reservation_lines_room_id_pms_rooms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['room_type_id'], ['pms_room_types.id'], name=op.f('fk_pms_reservation_lines_room_type_id_pms_room_types'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pms_reservation_lines'))
    )
    op.create_index(op.f('ix_pms_reservation_lines_reservation_id'), 'pms_reservation_lines', ['reservation_id'], unique=False)
    op.create_index('ix_pms_reservation_lines_stay', 'pms_reservation_lines', ['room_id', 'checkin', 'checkout'], unique=False)
    op.create_table('qloapps_room_line_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_order_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_room_booking_id', sa.Integer(), nullable=False),
    sa.Column('pms_reservation_line_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_room_line_mappings_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pms_reservation_line_id'], ['pms_reservation_lines.id'], name=op.f('fk_qloapps_room_line_mappings_pms_reservation_line_id_pms_reservation_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_room_line_mappings')),
    sa.UniqueConstraint('config_id', 'qloapps_room_booking_id', name=op.f('uq_qloapps_room_line_mappings_config_id_qloapps_room_booking_id')),
    sa.UniqueConstraint('pms_reservation_line_id', name=op.f('uq_qloapps_room_line_mappings_pms_reservation_line_id'))
    )
    op.create_index('ix_qloapps_room_line_mappings_order', 'qloapps_room_line_mappings', ['config_id', 'qloapps_order_id'], unique=False)
    op.create_table('qloapps_reservation_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_order_id', sa.Integer(), nullable=True),
    sa.Column('pms_reservation_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('qloapps_hash', sa.String(length=64), nullable=True),
    sa.Column('pms_hash', sa.String(length=64), nullable=True),
    sa.Column('qloapps_date_upd', sa.DateTime(), nullable=True),
    sa.Column('push_token', sa.String(length=64), nullable=True),
    sa.Column('parked_reason', sa.Text(), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("origin IN ('qloapps', 'pms')", name=op.f('ck_qloapps_reservation_mappings_origin')),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_reservation_mappings_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pms_reservation_id'], ['pms_reservations.id'], name=op.f('fk_qloapps_reservation_mappings_pms_reservation_id_pms_reservations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_reservation_mappings')),
    sa.UniqueConstraint('config_id', 'qloapps_order_id', name=op.f('uq_qloapps_reservation_mappings_config_id_qloapps_order_id')),
    sa.UniqueConstraint('pms_reservation_id', name=op.f('uq_qloapps_reservation_mappings_pms_reservation_id')),
    sa.UniqueConstraint('push_token', name=op.f('uq_qloapps_reservation_mappings_push_token'))
    )
    op.create_index('ix_qloapps_reservation_mappings_parked', 'qloapps_reservation_mappings', ['config_id'], unique=False, postgresql_where='parked_reason IS NOT NULL')
    op.create_table('qloapps_room_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_room_id', sa.Integer(), nullable=False),
    sa.Column('qloapps_room_type_id', sa.Integer(), nullable=False),
    sa.Column('pms_room_id', sa.Integer(), nullable=False),
    sa.Column('room_number', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_room_mappings_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pms_room_id'], ['pms_rooms.id'], name=op.f('fk_qloapps_room_mappings_pms_room_id_pms_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_room_mappings')),
    sa.UniqueConstraint('config_id', 'pms_room_id', name=op.f('uq_qloapps_room_mappings_config_id_pms_room_id')),
    sa.UniqueConstraint('config_id', 'qloapps_room_id', name=op.f('uq_qloapps_room_mappings_config_id_qloapps_room_id'))
    )
    op.create_table('qloapps_sync_logs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=True),
    sa.Column('sync_state_id', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("level IN ('debug', 'info', 'warning', 'error')", name=op.f('ck_qloapps_sync_logs_level')),
    sa.ForeignKeyConstraint(['config_id'], ['qloapps_config.id'], name=op.f('fk_qloapps_sync_logs_config_id_qloapps_config'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_state_id'], ['qloapps_sync_state.id'], name=op.f('fk_qloapps_sync_logs_sync_state_id_qloapps_sync_state'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qloapps_sync_logs'))
    )
    op.create_index('ix_qloapps_sync_logs_created', 'qloapps_sync_logs', ['created_at'], unique=False)
    op.create_index('ix_qloapps_sync_logs_entity', 'qloapps_sync_logs', ['entity_type', 'entity_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_qloapps_sync_logs_entity', table_name='qloapps_sync_logs')
    op.drop_index('ix_qloapps_sync_logs_created', table_name='qloapps_sync_logs')
    op.drop_table('qloapps_sync_logs')
    op.drop_table('qloapps_room_mappings')
    op.drop_index('ix_qloapps_reservation_mappings_parked', table_name='qloapps_reservation_mappings', postgresql_where='parked_reason IS NOT NULL')
    op.drop_table('qloapps_reservation_mappings')
    op.drop_index('ix_pms_reservation_lines_stay', table_name='pms_reservation_lines')
    op.drop_index(op.f('ix_pms_reservation_lines_reservation_id'), table_name='pms_reservation_lines')
    op.drop_index('ix_qloapps_room_line_mappings_order', table_name='qloapps_room_line_mappings')
    op.drop_table('qloapps_room_line_mappings')
    op.drop_table('pms_reservation_lines')
    op.drop_index('ix_qloapps_sync_state_config_started', table_name='qloapps_sync_state')
    op.drop_table('qloapps_sync_state')
    op.drop_table('qloapps_sync_cursor')
    op.drop_table('qloapps_room_type_mappings')
    op.drop_index('ix_qloapps_customer_mappings_guest', table_name='qloapps_customer_mappings')
    op.drop_table('qloapps_customer_mappings')
    op.drop_index(op.f('ix_pms_rooms_room_type_id'), table_name='pms_rooms')
    op.drop_table('pms_rooms')
    op.drop_index(op.f('ix_pms_reservations_guest_id'), table_name='pms_reservations')
    op.drop_table('pms_reservations')
    op.drop_index('ix_qloapps_dead_letters_status', table_name='qloapps_dead_letters')
    op.drop_table('qloapps_dead_letters')
    op.drop_table('qloapps_config')
    op.drop_table('pms_room_types')
    op.drop_index('ix_pms_outbox_unpublished', table_name='pms_outbox', postgresql_where='published_at IS NULL')
    op.drop_table('pms_outbox')
    op.drop_index('ix_pms_guests_phone_name', table_name='pms_guests')
    op.drop_index(op.f('ix_pms_guests_email_normalized'), table_name='pms_guests')
    op.drop_table('pms_guests')
