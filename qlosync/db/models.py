"""qlosync's own tables: QloApps configuration, sync runs, mappings, logs and dead letters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from qlosync.db.base import Base, PmsIdType, created_at_column, one_of, updated_at_column
from qlosync.states import (
    ConflictStatus,
    ConflictStrategy,
    DeadLetterStatus,
    LogLevel,
    MatchMethod,
    ProcessRole,
    RunKind,
    RunStatus,
    RunTrigger,
    Side,
)

DEFAULT_MAX_CONCURRENT_REQUESTS = 4
DEFAULT_MAX_REQUESTS_PER_SECOND = 25.0


class QloAppsConfig(Base):
    """One QloApps shop that qlosync keeps in sync; the API key is stored only Fernet-encrypted."""

    __tablename__ = "qloapps_config"
    __table_args__ = (
        one_of("conflict_strategy", ConflictStrategy, name="conflict_strategy"),
        CheckConstraint("max_concurrent_requests BETWEEN 1 AND 64", name="max_concurrent_requests"),
        CheckConstraint("max_requests_per_second > 0 AND max_requests_per_second <= 1000",
                        name="max_requests_per_second"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, default="default")
    base_url: Mapped[str] = mapped_column(String(512))
    api_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    id_hotel: Mapped[int] = mapped_column(Integer, default=1)
    # The PMS hotel this shop syncs with (None: the PMS's only hotel).
    pms_hotel_id: Mapped[str | None] = mapped_column(PmsIdType)
    conflict_strategy: Mapped[str] = mapped_column(String(32), default=ConflictStrategy.QLOAPPS_WINS)
    # Politeness towards the shop's website, summed over every qlosync process on every host.
    max_concurrent_requests: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_CONCURRENT_REQUESTS,
                                                         server_default=str(DEFAULT_MAX_CONCURRENT_REQUESTS))
    max_requests_per_second: Mapped[float] = mapped_column(Float, default=DEFAULT_MAX_REQUESTS_PER_SECOND,
                                                           server_default=str(DEFAULT_MAX_REQUESTS_PER_SECOND))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsShopGate(Base):
    """Shared by every process: the pacing of a shop's requests and its circuit breaker (qlosync.sync.gate)."""

    __tablename__ = "qloapps_shop_gate"

    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"), primary_key=True)
    # Earliest time the next request may start, less the burst allowance (GCRA's theoretical arrival time).
    tat: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in a row
    trips: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # times opened in a row
    open_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QloAppsRequestLane(Base):
    """One of a shop's concurrent-request slots; held (with an expiry) by the request using it."""

    __tablename__ = "qloapps_request_lanes"

    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"), primary_key=True)
    lane: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QloAppsSyncCursor(Base):
    """Where the incremental pull resumes, and when sync last fully succeeded (one row per shop).

    Moved only in the transaction that commits a run's writes, so a crash never skips bookings.
    """

    __tablename__ = "qloapps_sync_cursor"

    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"), primary_key=True)
    cursor_date_upd: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    cursor_id: Mapped[int | None] = mapped_column(Integer)
    last_successful_sync: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_full_sync: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an incremental pull found the cursor untrustworthy; the next pull is then a full one.
    full_sync_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsSyncState(Base):
    """One sync run: what started it, how it went, what it counted."""

    __tablename__ = "qloapps_sync_state"
    __table_args__ = (
        one_of("kind", RunKind, name="kind"),
        one_of("trigger", RunTrigger, name="trigger"),
        one_of("status", RunStatus, name="status"),
        # A scheduler slot runs at most once cluster-wide: the claim is this unique key.
        UniqueConstraint("config_id", "slot_at", name="uq_qloapps_sync_state_slot"),
        Index("ix_qloapps_sync_state_config_started", "config_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    slot_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursor_before_date_upd: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    cursor_before_id: Mapped[int | None] = mapped_column(Integer)
    cursor_after_date_upd: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    cursor_after_id: Mapped[int | None] = mapped_column(Integer)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    parked: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The run could not start because the shop's stored configuration cannot work: the scheduler sends the shop
    # no slot until its configuration changes (sync.inbound.runs.configuration_paused).
    stopped_by_configuration: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The dramatiq message that ran this pull (None for a pull run by hand): how the API finds a run it enqueued.
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)


class QloAppsRoomTypeMapping(Base):
    """QloApps room type (product) <-> PMS room type."""

    __tablename__ = "qloapps_room_type_mappings"
    __table_args__ = (
        UniqueConstraint("config_id", "qloapps_room_type_id"),
        UniqueConstraint("config_id", "pms_room_type_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_room_type_id: Mapped[int] = mapped_column(Integer)
    qloapps_hotel_id: Mapped[int] = mapped_column(Integer)
    pms_room_type_id: Mapped[str] = mapped_column(PmsIdType)
    qloapps_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsRoomMapping(Base):
    """QloApps physical room (hotel_rooms) <-> PMS room."""

    __tablename__ = "qloapps_room_mappings"
    __table_args__ = (
        UniqueConstraint("config_id", "qloapps_room_id"),
        UniqueConstraint("config_id", "pms_room_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_room_id: Mapped[int] = mapped_column(Integer)
    qloapps_room_type_id: Mapped[int] = mapped_column(Integer)
    pms_room_id: Mapped[str] = mapped_column(PmsIdType)
    room_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsReservationMapping(Base):
    """QloApps order <-> PMS reservation, with what each side looked like when last synced.

    ``push_token`` is written (committed) before an outbound create is sent and travels inside the QloApps
    order (its ``source``), so a worker that died right after the POST finds the order instead of creating
    it twice. ``qloapps_hash``/``pms_hash`` are each side's content hash at the last sync: a side whose
    current hash differs has changed since; both changed is a conflict.
    """

    __tablename__ = "qloapps_reservation_mappings"
    __table_args__ = (
        UniqueConstraint("config_id", "qloapps_order_id"),
        UniqueConstraint("pms_reservation_id"),
        UniqueConstraint("push_token"),
        one_of("origin", Side, name="origin"),
        Index("ix_qloapps_reservation_mappings_parked", "config_id", postgresql_where="parked_reason IS NOT NULL"),
        Index("ix_qloapps_reservation_mappings_push_error", "config_id", postgresql_where="push_error IS NOT NULL"),
        # An incremental pull's first read: the orders applied since its overlap began (few).
        Index("ix_qloapps_reservation_mappings_date_upd", "config_id", "qloapps_date_upd"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_order_id: Mapped[int | None] = mapped_column(Integer)
    pms_reservation_id: Mapped[str | None] = mapped_column(PmsIdType)
    origin: Mapped[str] = mapped_column(String(16))
    qloapps_hash: Mapped[str | None] = mapped_column(String(64))
    pms_hash: Mapped[str | None] = mapped_column(String(64))
    qloapps_date_upd: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    push_token: Mapped[str | None] = mapped_column(String(64))
    # When the last create was sent: a retry within the settle window waits instead of sending again.
    push_attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the last push was refused (bad input, unmapped room type...): shown until a push succeeds.
    push_error: Mapped[str | None] = mapped_column(Text)
    push_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_reason: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsRoomLineMapping(Base):
    """QloApps room line (room_bookings id) <-> PMS reservation line.

    QloApps gives a line a new id when its dates or room type change (B24); sync then re-points this row
    at the same PMS line instead of creating a duplicate line.
    """

    __tablename__ = "qloapps_room_line_mappings"
    __table_args__ = (
        UniqueConstraint("config_id", "qloapps_room_booking_id"),
        UniqueConstraint("pms_reservation_line_id"),
        Index("ix_qloapps_room_line_mappings_order", "config_id", "qloapps_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_order_id: Mapped[int] = mapped_column(Integer)
    qloapps_room_booking_id: Mapped[int] = mapped_column(Integer)
    pms_reservation_line_id: Mapped[str] = mapped_column(PmsIdType)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsCustomerMapping(Base):
    """QloApps customer <-> PMS guest, and how the match was decided."""

    __tablename__ = "qloapps_customer_mappings"
    __table_args__ = (
        UniqueConstraint("config_id", "qloapps_customer_id"),
        one_of("match_method", MatchMethod, name="match_method"),
        Index("ix_qloapps_customer_mappings_guest", "pms_guest_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_customer_id: Mapped[int] = mapped_column(Integer)
    pms_guest_id: Mapped[str] = mapped_column(PmsIdType)
    match_method: Mapped[str] = mapped_column(String(16))
    # The customer's e-mail as the last push's read-back showed it: the PUT of a booking whose customer
    # qlosync created for this guest sends it without reading the customer first (a changed one: B23's 400).
    qloapps_email: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsSyncLog(Base):
    """A per-entity sync event for operators: what happened to which record, and why."""

    __tablename__ = "qloapps_sync_logs"
    __table_args__ = (
        one_of("level", LogLevel, name="level"),
        Index("ix_qloapps_sync_logs_entity", "entity_type", "entity_id"),
        Index("ix_qloapps_sync_logs_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    config_id: Mapped[int | None] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    sync_state_id: Mapped[int | None] = mapped_column(ForeignKey("qloapps_sync_state.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = created_at_column()


class QloAppsDeadLetter(Base):
    """A message given up on: kept for operators; the message itself stays in ``qloapps.dlq``."""

    __tablename__ = "qloapps_dead_letters"
    __table_args__ = (
        one_of("status", DeadLetterStatus, name="status"),
        Index("ix_qloapps_dead_letters_status", "status", "dead_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    actor_name: Mapped[str] = mapped_column(String(128))
    queue_name: Mapped[str] = mapped_column(String(128))
    args: Mapped[list[object]] = mapped_column(JSONB, default=list)
    kwargs: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    error_class: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Why it was given up on: permanent, retries_exhausted, skipped, not_qlosync (qlosync.runtime.foreign), actor_not_found
    # (before not_qlosync), or RabbitMQ's x-death reason.
    reason: Mapped[str | None] = mapped_column(String(32))
    retries: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=DeadLetterStatus.DEAD)
    dead_at: Mapped[datetime] = created_at_column()
    requeued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requeue_count: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QloAppsConflict(Base):
    """A reservation changed on both sides since the last sync, left for a person (strategy ``manual``).

    While one is open, neither push nor pull touches the reservation; ``qlosync conflicts resolve`` ends it.
    """

    __tablename__ = "qloapps_conflicts"
    __table_args__ = (
        one_of("status", ConflictStatus, name="status"),
        one_of("resolution", Side, name="resolution", nullable=True),
        # At most one open conflict per reservation mapping.
        Index("uq_qloapps_conflicts_open", "mapping_id", unique=True, postgresql_where=f"status = '{ConflictStatus.OPEN}'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    mapping_id: Mapped[int] = mapped_column(ForeignKey("qloapps_reservation_mappings.id", ondelete="CASCADE"))
    pms_reservation_id: Mapped[str | None] = mapped_column(PmsIdType)
    qloapps_order_id: Mapped[int | None] = mapped_column(Integer)
    detected_by: Mapped[str] = mapped_column(String(16))
    pms_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qloapps_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    details: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=ConflictStatus.OPEN)
    resolution: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QloAppsRateRule(Base):
    """A QloApps feature price rule qlosync created and owns: a fixed price for nights date_from..date_to.

    Rules not in this table (made by hand or by another tool) are never changed or deleted by qlosync.
    """

    __tablename__ = "qloapps_rate_rules"
    __table_args__ = (
        UniqueConstraint("config_id", "feature_price_id"),
        Index("ix_qloapps_rate_rules_room_type", "config_id", "qloapps_room_type_id", "date_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_room_type_id: Mapped[int] = mapped_column(Integer)
    feature_price_id: Mapped[int] = mapped_column(Integer)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)  # the last night, inclusive
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QloAppsStopSellBlock(Base):
    """The QloApps booking qlosync holds to take one room type's rooms off sale (closed nights, outages).

    ``blocked`` lists the [QloApps room id, night] pairs it holds; ``conflicts`` the ones it could not take
    because a guest booked them first. The booking is created with a push token, like a reservation.
    """

    __tablename__ = "qloapps_stop_sell_blocks"
    __table_args__ = (UniqueConstraint("config_id", "qloapps_room_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("qloapps_config.id", ondelete="CASCADE"))
    qloapps_room_type_id: Mapped[int] = mapped_column(Integer)
    qloapps_order_id: Mapped[int | None] = mapped_column(Integer)
    push_token: Mapped[str | None] = mapped_column(String(64))
    push_attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    blocked: Mapped[list[list[object]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    conflicts: Mapped[list[list[object]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class QlosyncProcess(Base):
    """A long-running qlosync process and its heartbeat: alive while ``last_beat_at`` is recent."""

    __tablename__ = "qlosync_processes"
    __table_args__ = (
        one_of("role", ProcessRole, name="role"),
        UniqueConstraint("host", "pid", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    queues: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list, server_default="{}")
    started_at: Mapped[datetime] = created_at_column()
    last_beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    beat_interval_s: Mapped[float] = mapped_column(Float)
    messages_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    messages_failed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
