-- TEST DOUBLE of the Hotel Management System's schema (hananshaban/hotelmanangement, the PMS of issue 21).
-- First written from ../shared/pms-hotelmanangement.md, then checked against a database migrated with all 53 of
-- that PMS's knex migrations (commit 3b06fff, PostgreSQL 15) by comparing the two catalogs: for the tables below,
-- columns (type, nullability, default, order), CHECK constraints, unique constraints and indexes, foreign keys
-- (ON DELETE / ON UPDATE) and the names of all of them are those of the migrated database, so a test that names
-- a constraint or relies on a varchar length behaves here as there. Nothing is copied from that repository: this
-- is the project's own DDL for what its catalog shows.
--
-- Left out on purpose: the PMS's other tables (users, housekeeping, invoices, the Beds24 ones...) and the
-- uuid-ossp extension its first migration installs (no default here uses it). So check_ins.checked_in_by has no
-- foreign key to users, which the real table has (ON DELETE SET NULL).
--
-- Worth knowing when writing to it (the double keeps these, the digest does not say all of them):
-- created_at/updated_at default to CURRENT_TIMESTAMP but allow NULL on the core tables (NOT NULL only on the
-- qloapps_* ones); reservation_guests has no updated_at; varchar lengths are tight (reservations.channel 50,
-- reference and api_reference 100, status and source 50); hotels.active_channel_manager has no CHECK; deleting a
-- guest that a reservation_guests row names is refused (RESTRICT), as is deleting a checked-in reservation.

CREATE TABLE hotels (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_name varchar(255) NOT NULL,
    hotel_address text,
    hotel_city varchar(100),
    hotel_country varchar(100),
    hotel_phone varchar(50),
    hotel_email varchar(255),
    currency varchar(10) DEFAULT 'USD',
    timezone varchar(50) DEFAULT 'UTC',
    check_in_time time DEFAULT '15:00:00',
    check_out_time time DEFAULT '11:00:00',
    settings jsonb DEFAULT '{}',
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    beds24_property_id integer,
    active_channel_manager varchar(50) DEFAULT 'beds24',
    deleted_at timestamptz,
    date_format varchar(20) DEFAULT 'YYYY-MM-DD',
    time_format varchar(20) DEFAULT 'HH:mm',
    hotel_website varchar(255),
    hotel_logo_url varchar(500),
    hotel_state varchar(100),
    hotel_postal_code varchar(20),
    tax_percentage numeric(5, 2) DEFAULT 0.0,
    -- The table was first called hotel_settings: its key kept that name.
    CONSTRAINT hotel_settings_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_hotels_deleted_at ON hotels (deleted_at) WHERE deleted_at IS NULL;
-- A migration creates the default hotel (the other columns as their defaults leave them).
INSERT INTO hotels (id, hotel_name) VALUES ('00000000-0000-0000-0000-000000000000', 'Default Hotel');

-- Columns in the order of the migrated tables: later migrations appended hotel_id and the room type columns.
CREATE TABLE guests (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    email varchar(255),
    phone varchar(50),
    past_stays integer DEFAULT 0,
    notes text,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz,
    hotel_id uuid NOT NULL,
    CONSTRAINT guests_pkey PRIMARY KEY (id),
    CONSTRAINT guests_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX idx_guests_deleted_at ON guests (deleted_at) WHERE deleted_at IS NULL;
CREATE INDEX idx_guests_email ON guests (email);
CREATE INDEX idx_guests_hotel_id ON guests (hotel_id);
CREATE INDEX idx_guests_name ON guests (name);
CREATE INDEX idx_guests_phone ON guests (phone);

CREATE TABLE room_types (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    room_type varchar(50) NOT NULL,
    qty integer NOT NULL DEFAULT 1,
    price_per_night numeric(10, 2) NOT NULL,
    min_price numeric(10, 2),
    max_price numeric(10, 2),
    rack_rate numeric(10, 2),
    cleaning_fee numeric(10, 2) DEFAULT '0',  -- a string, as knex writes it: the catalog then reads the same
    security_deposit numeric(10, 2) DEFAULT '0',
    max_people integer,
    max_adult integer,
    max_children integer,
    min_stay integer,
    max_stay integer,
    tax_percentage numeric(5, 2),
    tax_per_person numeric(10, 2),
    room_size integer,
    floor integer,
    highlight_color varchar(20),
    sell_priority integer,
    include_reports boolean DEFAULT true,
    restriction_strategy varchar(50),
    overbooking_protection varchar(50),
    block_after_checkout_days integer DEFAULT 0,
    control_priority integer,
    unit_allocation varchar(20) NOT NULL DEFAULT 'perBooking',
    features jsonb DEFAULT '[]',
    description text,
    units jsonb DEFAULT '[]',
    cm_room_id varchar(255),
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz,
    hotel_id uuid NOT NULL,
    CONSTRAINT room_types_pkey PRIMARY KEY (id),
    CONSTRAINT room_types_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT check_room_types_qty CHECK (qty >= 1 AND qty <= 99),
    CONSTRAINT check_room_types_min_stay CHECK (min_stay IS NULL OR (min_stay >= 1 AND min_stay <= 365)),
    CONSTRAINT check_room_types_max_stay CHECK (max_stay IS NULL OR (max_stay >= 1 AND max_stay <= 365)),
    CONSTRAINT check_room_types_sell_priority CHECK (sell_priority IS NULL OR (sell_priority >= 1 AND sell_priority <= 100)),
    CONSTRAINT check_room_types_unit_allocation CHECK (unit_allocation IN ('perBooking', 'perGuest'))
);
CREATE INDEX idx_room_types_cm_room_id ON room_types (cm_room_id);
CREATE INDEX idx_room_types_deleted_at ON room_types (deleted_at) WHERE deleted_at IS NULL;
CREATE INDEX idx_room_types_hotel_id ON room_types (hotel_id);
CREATE INDEX idx_room_types_room_type ON room_types (room_type);

CREATE TABLE rooms (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    room_number varchar(50) NOT NULL,
    -- Legacy columns, NOT NULL without a default: whoever inserts a room fills type, price_per_night, floor and
    -- room_type (the PMS's own API writes type 'Single', 'Suite' or 'Double' from the room type's room_type).
    type varchar(50) NOT NULL,
    status varchar(50) NOT NULL DEFAULT 'Available',
    price_per_night numeric(10, 2) NOT NULL,
    floor integer NOT NULL,
    features jsonb DEFAULT '[]',
    description text,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    cm_room_id varchar(255),
    room_type varchar(50) NOT NULL,
    qty integer DEFAULT 1,
    min_price numeric(10, 2),
    max_price numeric(10, 2),
    rack_rate numeric(10, 2),
    cleaning_fee numeric(10, 2) DEFAULT '0',
    security_deposit numeric(10, 2) DEFAULT '0',
    max_people integer,
    max_adult integer,
    max_children integer,
    min_stay integer,
    max_stay integer,
    tax_percentage numeric(5, 2),
    tax_per_person numeric(10, 2),
    room_size integer,
    highlight_color varchar(20),
    sell_priority integer,
    include_reports boolean DEFAULT true,
    restriction_strategy varchar(20),
    overbooking_protection varchar(20),
    block_after_checkout_days integer DEFAULT 0,
    control_priority integer,
    unit_allocation varchar(20) DEFAULT 'perBooking',
    units jsonb DEFAULT '[]',
    hotel_id uuid NOT NULL,
    room_type_id uuid,
    CONSTRAINT rooms_pkey PRIMARY KEY (id),
    CONSTRAINT rooms_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT rooms_room_type_id_foreign FOREIGN KEY (room_type_id) REFERENCES room_types (id) ON DELETE SET NULL,
    CONSTRAINT check_rooms_status CHECK (status IN ('Available', 'Occupied', 'Cleaning', 'Out of Service')),
    CONSTRAINT check_rooms_type CHECK (type IN ('Single', 'Double', 'Suite', 'General', 'Other')),
    CONSTRAINT check_rooms_unit_allocation CHECK (unit_allocation IN ('perBooking', 'perGuest'))
);
-- Room numbers are unique per hotel through a unique index, not a constraint (ON CONFLICT works with either).
CREATE UNIQUE INDEX idx_rooms_hotel_room_number ON rooms (hotel_id, room_number);
CREATE INDEX idx_rooms_beds24_room_id ON rooms (cm_room_id) WHERE cm_room_id IS NOT NULL;
CREATE INDEX idx_rooms_hotel_id ON rooms (hotel_id);
CREATE INDEX idx_rooms_room_number ON rooms (room_number);
CREATE INDEX idx_rooms_room_type_id ON rooms (room_type_id);
CREATE INDEX idx_rooms_status ON rooms (status);
CREATE INDEX idx_rooms_type ON rooms (type);

CREATE TABLE reservations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    room_id uuid,
    primary_guest_id uuid NOT NULL,
    check_in date NOT NULL,
    check_out date NOT NULL,
    status varchar(50) NOT NULL DEFAULT 'Confirmed',
    total_amount numeric(10, 2) NOT NULL,
    source varchar(50) DEFAULT 'Direct',
    -- From here to info_items mostly the Beds24 era's columns: all may stay NULL for a QloApps booking.
    beds24_booking_id varchar(255),
    special_requests text,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz,
    beds24_master_id integer,
    beds24_booking_group jsonb,
    beds24_unit_id integer,
    room_qty integer DEFAULT 1,
    sub_status varchar(50),
    status_code integer,
    num_adult integer,
    num_child integer DEFAULT 0,
    country varchar(100),
    country2 varchar(100),
    arrival_time varchar(50),
    booking_time timestamptz,
    modified_time timestamptz,
    cancel_time timestamptz,
    comments text,
    notes text,
    message text,
    group_note text,
    custom1 varchar(255),
    custom2 varchar(255),
    custom3 varchar(255),
    custom4 varchar(255),
    custom5 varchar(255),
    custom6 varchar(255),
    custom7 varchar(255),
    custom8 varchar(255),
    custom9 varchar(255),
    custom10 varchar(255),
    flag_color varchar(20),
    flag_text varchar(100),
    channel varchar(50),
    api_source varchar(100),
    api_source_id integer,
    api_reference varchar(100),
    referer varchar(255),
    reference varchar(100),
    lang varchar(10),
    voucher varchar(100),
    deposit numeric(10, 2),
    tax numeric(10, 2),
    commission numeric(10, 2),
    rate_description varchar(255),
    offer_id integer,
    allow_channel_update varchar(20),
    allow_auto_action varchar(20),
    allow_review varchar(20),
    allow_cancellation jsonb,
    invoice_items jsonb,
    info_items jsonb,
    room_type_id uuid,
    assigned_unit_id varchar(255),
    units_requested integer DEFAULT 1,
    hotel_id uuid NOT NULL,
    checkin_id uuid,
    reserved_room_id uuid,
    CONSTRAINT reservations_pkey PRIMARY KEY (id),
    CONSTRAINT reservations_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT reservations_primary_guest_id_foreign FOREIGN KEY (primary_guest_id) REFERENCES guests (id)
        ON DELETE RESTRICT,
    CONSTRAINT reservations_room_type_id_foreign FOREIGN KEY (room_type_id) REFERENCES room_types (id)
        ON DELETE RESTRICT,
    CONSTRAINT reservations_room_id_foreign FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE RESTRICT,
    CONSTRAINT reservations_reserved_room_id_foreign FOREIGN KEY (reserved_room_id) REFERENCES rooms (id)
        ON DELETE SET NULL,
    CONSTRAINT check_reservations_dates CHECK (check_out > check_in),
    CONSTRAINT check_reservations_status CHECK (status IN ('Confirmed', 'Checked-in', 'Checked-out', 'Cancelled')),
    CONSTRAINT check_reservations_source
        CHECK (source IN ('Direct', 'Beds24', 'Booking.com', 'Expedia', 'QloApps', 'Other'))
);
CREATE INDEX idx_reservations_api_reference ON reservations (api_reference);
CREATE INDEX idx_reservations_beds24_booking_id ON reservations (beds24_booking_id);
CREATE INDEX idx_reservations_beds24_master_id ON reservations (beds24_master_id);
CREATE INDEX idx_reservations_booking_time ON reservations (booking_time);
CREATE INDEX idx_reservations_channel ON reservations (channel);
CREATE INDEX idx_reservations_check_in ON reservations (check_in);
CREATE INDEX idx_reservations_check_out ON reservations (check_out);
CREATE INDEX idx_reservations_checkin_id ON reservations (checkin_id);
CREATE INDEX idx_reservations_dates ON reservations (check_in, check_out);
CREATE INDEX idx_reservations_deleted_at ON reservations (deleted_at) WHERE deleted_at IS NULL;
CREATE INDEX idx_reservations_hotel_id ON reservations (hotel_id);
CREATE INDEX idx_reservations_modified_time ON reservations (modified_time);
CREATE INDEX idx_reservations_primary_guest_id ON reservations (primary_guest_id);
CREATE INDEX idx_reservations_reserved_room_id ON reservations (reserved_room_id);
CREATE INDEX idx_reservations_room_id ON reservations (room_id);
-- The PMS's availability query: live reservations of a room type overlapping a stay.
CREATE INDEX idx_reservations_room_type_dates ON reservations (room_type_id, check_in, check_out)
    WHERE deleted_at IS NULL AND status <> 'Cancelled';
CREATE INDEX idx_reservations_room_type_id ON reservations (room_type_id);
CREATE INDEX idx_reservations_status ON reservations (status);
CREATE UNIQUE INDEX idx_reservations_unique_checkin ON reservations (checkin_id)
    WHERE checkin_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE reservation_guests (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    reservation_id uuid NOT NULL,
    guest_id uuid NOT NULL,
    guest_type varchar(50) NOT NULL DEFAULT 'Primary',
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    hotel_id uuid NOT NULL,
    CONSTRAINT reservation_guests_pkey PRIMARY KEY (id),
    CONSTRAINT reservation_guests_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT reservation_guests_reservation_id_foreign FOREIGN KEY (reservation_id) REFERENCES reservations (id)
        ON DELETE CASCADE,
    CONSTRAINT reservation_guests_guest_id_foreign FOREIGN KEY (guest_id) REFERENCES guests (id) ON DELETE RESTRICT,
    CONSTRAINT check_reservation_guests_type CHECK (guest_type IN ('Primary', 'Secondary'))
);
CREATE UNIQUE INDEX idx_reservation_guests_unique ON reservation_guests (reservation_id, guest_id);
CREATE INDEX idx_reservation_guests_guest_id ON reservation_guests (guest_id);
CREATE INDEX idx_reservation_guests_guest_type ON reservation_guests (guest_type);
CREATE INDEX idx_reservation_guests_hotel_id ON reservation_guests (hotel_id);
CREATE INDEX idx_reservation_guests_reservation_id ON reservation_guests (reservation_id);

CREATE TABLE check_ins (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL,
    reservation_id uuid NOT NULL,
    actual_room_id uuid NOT NULL,
    checked_in_by uuid,  -- the real table: FK users (id) ON DELETE SET NULL; users is not in the double
    check_in_time timestamptz NOT NULL,
    expected_checkout_time timestamptz,
    actual_checkout_time timestamptz,
    status varchar(50) NOT NULL DEFAULT 'checked_in',
    notes text,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_ins_pkey PRIMARY KEY (id),
    CONSTRAINT check_ins_hotel_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT check_ins_reservation_id_foreign FOREIGN KEY (reservation_id) REFERENCES reservations (id)
        ON DELETE RESTRICT,
    CONSTRAINT check_ins_actual_room_id_foreign FOREIGN KEY (actual_room_id) REFERENCES rooms (id) ON DELETE RESTRICT,
    CONSTRAINT check_check_ins_status CHECK (status IN ('checked_in', 'checked_out')),
    CONSTRAINT check_check_ins_checkout_after_checkin
        CHECK (actual_checkout_time IS NULL OR actual_checkout_time > check_in_time)
);
-- At most one active check-in per reservation.
CREATE UNIQUE INDEX idx_check_ins_unique_active_reservation ON check_ins (reservation_id) WHERE status = 'checked_in';
CREATE INDEX idx_check_ins_actual_room_id ON check_ins (actual_room_id);
CREATE INDEX idx_check_ins_check_in_time ON check_ins (check_in_time);
CREATE INDEX idx_check_ins_checked_in_by ON check_ins (checked_in_by);
CREATE INDEX idx_check_ins_hotel_id ON check_ins (hotel_id);
CREATE INDEX idx_check_ins_hotel_room_status ON check_ins (hotel_id, actual_room_id, status);
CREATE INDEX idx_check_ins_reservation_id ON check_ins (reservation_id);
CREATE INDEX idx_check_ins_status ON check_ins (status);
ALTER TABLE reservations ADD CONSTRAINT reservations_checkin_id_foreign
    FOREIGN KEY (checkin_id) REFERENCES check_ins (id) ON DELETE SET NULL;

-- Its own QloApps integration (the TypeScript workers' tables): same names as some of qlosync's, in public.
CREATE TABLE qloapps_config (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    -- The default is the default hotel's id (the table predates multi-hotel); every row is still one hotel's.
    hotel_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    base_url varchar(500) NOT NULL,
    api_key_encrypted text NOT NULL,
    qloapps_hotel_id integer NOT NULL,
    sync_interval_minutes integer NOT NULL DEFAULT 5,
    sync_enabled boolean NOT NULL DEFAULT true,
    sync_reservations_inbound boolean NOT NULL DEFAULT true,
    sync_reservations_outbound boolean NOT NULL DEFAULT true,
    sync_availability boolean NOT NULL DEFAULT true,
    sync_rates boolean NOT NULL DEFAULT true,
    last_successful_sync timestamptz,
    last_sync_error text,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT qloapps_config_pkey PRIMARY KEY (id),
    CONSTRAINT qloapps_config_property_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id) ON DELETE CASCADE,
    CONSTRAINT check_qloapps_config_sync_interval CHECK (sync_interval_minutes >= 5 AND sync_interval_minutes <= 60)
);
CREATE UNIQUE INDEX idx_qloapps_config_hotel_id ON qloapps_config (hotel_id);
CREATE INDEX idx_qloapps_config_sync_enabled ON qloapps_config (sync_enabled) WHERE sync_enabled = true;

CREATE TABLE qloapps_reservation_mappings (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL,
    local_reservation_id uuid NOT NULL,
    qloapps_order_id varchar(50) NOT NULL,
    qloapps_reference varchar(100),
    qloapps_hotel_id varchar(50) NOT NULL,
    source text NOT NULL DEFAULT 'qloapps',
    ota_channel varchar(50),
    ota_confirmation_number varchar(100),
    is_active boolean NOT NULL DEFAULT true,
    qloapps_status_code integer,
    last_synced_at timestamptz,
    last_sync_status varchar(20),
    last_sync_error text,
    local_hash varchar(64),
    qloapps_hash varchar(64),
    metadata jsonb,
    has_conflict boolean NOT NULL DEFAULT false,
    conflict_data jsonb,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT qloapps_reservation_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT qloapps_reservation_mappings_property_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_reservation_mappings_local_reservation_id_foreign
        FOREIGN KEY (local_reservation_id) REFERENCES reservations (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_reservation_mappings_source_check CHECK (source IN ('pms', 'qloapps', 'ota')),
    -- An 'ota' row must name its channel.
    CONSTRAINT chk_qloapps_reservation_mappings_ota_consistency
        CHECK ((source = 'ota' AND ota_channel IS NOT NULL) OR source <> 'ota'),
    CONSTRAINT chk_qloapps_reservation_mappings_status_code
        CHECK (qloapps_status_code IS NULL OR qloapps_status_code IN (1, 2, 3, 4)),
    CONSTRAINT chk_qloapps_reservation_mappings_sync_status
        CHECK (last_sync_status IS NULL OR last_sync_status IN ('success', 'failed', 'partial'))
);
CREATE UNIQUE INDEX idx_qloapps_reservation_mappings_local_unique
    ON qloapps_reservation_mappings (hotel_id, local_reservation_id);
CREATE UNIQUE INDEX idx_qloapps_reservation_mappings_qloapps_unique
    ON qloapps_reservation_mappings (hotel_id, qloapps_order_id, qloapps_hotel_id);
CREATE INDEX idx_qloapps_reservation_mappings_active ON qloapps_reservation_mappings (hotel_id, source)
    WHERE is_active = true;
CREATE INDEX idx_qloapps_reservation_mappings_conflicts ON qloapps_reservation_mappings (hotel_id, created_at)
    WHERE has_conflict = true;
CREATE INDEX idx_qloapps_reservation_mappings_ota ON qloapps_reservation_mappings (ota_channel, ota_confirmation_number)
    WHERE ota_channel IS NOT NULL;
CREATE INDEX idx_qloapps_reservation_mappings_qloapps_lookup
    ON qloapps_reservation_mappings (qloapps_order_id, qloapps_hotel_id);
CREATE INDEX idx_qloapps_reservation_mappings_reference ON qloapps_reservation_mappings (qloapps_reference)
    WHERE qloapps_reference IS NOT NULL;

CREATE TABLE qloapps_customer_mappings (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL,
    local_guest_id uuid NOT NULL,
    qloapps_customer_id varchar(50) NOT NULL,
    qloapps_hotel_id varchar(50) NOT NULL,
    match_type text NOT NULL DEFAULT 'email',
    sync_direction text NOT NULL DEFAULT 'bidirectional',
    is_active boolean NOT NULL DEFAULT true,
    is_verified boolean NOT NULL DEFAULT false,
    local_hash varchar(64),
    qloapps_hash varchar(64),
    last_synced_at timestamptz,
    last_sync_status varchar(20),
    last_sync_error text,
    metadata jsonb,
    has_conflict boolean NOT NULL DEFAULT false,
    conflict_data jsonb,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT qloapps_customer_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT qloapps_customer_mappings_property_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_customer_mappings_local_guest_id_foreign FOREIGN KEY (local_guest_id) REFERENCES guests (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_customer_mappings_match_type_check CHECK (match_type IN ('email', 'phone', 'manual', 'booking')),
    CONSTRAINT qloapps_customer_mappings_sync_direction_check
        CHECK (sync_direction IN ('inbound', 'outbound', 'bidirectional')),
    CONSTRAINT chk_qloapps_customer_mappings_sync_status
        CHECK (last_sync_status IS NULL OR last_sync_status IN ('success', 'failed', 'partial'))
);
CREATE UNIQUE INDEX idx_qloapps_customer_mappings_local_unique ON qloapps_customer_mappings (hotel_id, local_guest_id);
CREATE UNIQUE INDEX idx_qloapps_customer_mappings_qloapps_unique
    ON qloapps_customer_mappings (hotel_id, qloapps_customer_id, qloapps_hotel_id);
CREATE INDEX idx_qloapps_customer_mappings_active ON qloapps_customer_mappings (hotel_id, sync_direction)
    WHERE is_active = true;
CREATE INDEX idx_qloapps_customer_mappings_conflicts ON qloapps_customer_mappings (hotel_id, created_at)
    WHERE has_conflict = true;
CREATE INDEX idx_qloapps_customer_mappings_qloapps_lookup
    ON qloapps_customer_mappings (qloapps_customer_id, qloapps_hotel_id);
CREATE INDEX idx_qloapps_customer_mappings_unverified ON qloapps_customer_mappings (hotel_id, match_type, created_at)
    WHERE is_verified = false;

CREATE TABLE qloapps_room_type_mappings (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL,
    local_room_type_id uuid NOT NULL,
    qloapps_product_id varchar(50) NOT NULL,
    qloapps_hotel_id varchar(50) NOT NULL,
    sync_direction text NOT NULL DEFAULT 'bidirectional',
    is_active boolean NOT NULL DEFAULT true,
    metadata jsonb,
    last_synced_at timestamptz,
    last_sync_status varchar(20),
    last_sync_error text,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT qloapps_room_type_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT qloapps_room_type_mappings_property_id_foreign FOREIGN KEY (hotel_id) REFERENCES hotels (id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_room_type_mappings_local_room_type_id_foreign
        FOREIGN KEY (local_room_type_id) REFERENCES room_types (id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT qloapps_room_type_mappings_sync_direction_check
        CHECK (sync_direction IN ('inbound', 'outbound', 'bidirectional')),
    CONSTRAINT chk_qloapps_room_type_mappings_sync_status
        CHECK (last_sync_status IS NULL OR last_sync_status IN ('success', 'failed', 'partial'))
);
CREATE UNIQUE INDEX idx_qloapps_room_type_mappings_local_unique
    ON qloapps_room_type_mappings (hotel_id, local_room_type_id);
CREATE UNIQUE INDEX idx_qloapps_room_type_mappings_qloapps_unique
    ON qloapps_room_type_mappings (hotel_id, qloapps_product_id, qloapps_hotel_id);
CREATE INDEX idx_qloapps_room_type_mappings_active ON qloapps_room_type_mappings (hotel_id, sync_direction)
    WHERE is_active = true;
CREATE INDEX idx_qloapps_room_type_mappings_qloapps_lookup
    ON qloapps_room_type_mappings (qloapps_product_id, qloapps_hotel_id);

-- Its timestamps are nullable and its hotel_id has no foreign key (so it is in the real database).
CREATE TABLE qloapps_room_mappings (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL,
    qloapps_hotel_id varchar(50) NOT NULL,
    qloapps_room_id varchar(50) NOT NULL,
    local_room_id uuid NOT NULL,
    local_room_type_id uuid NOT NULL,
    is_active boolean DEFAULT true,
    last_synced_at timestamptz,
    last_sync_status varchar(50),
    sync_notes text,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT qloapps_room_mappings_pkey PRIMARY KEY (id),
    CONSTRAINT qloapps_room_mappings_local_room_id_foreign FOREIGN KEY (local_room_id) REFERENCES rooms (id)
        ON DELETE CASCADE,
    CONSTRAINT qloapps_room_mappings_local_room_type_id_foreign FOREIGN KEY (local_room_type_id)
        REFERENCES room_types (id) ON DELETE CASCADE,
    CONSTRAINT unique_local_room UNIQUE (local_room_id),
    CONSTRAINT unique_qloapps_room_per_property UNIQUE (hotel_id, qloapps_room_id)
);
CREATE INDEX idx_qloapps_room_mappings_is_active ON qloapps_room_mappings (is_active) WHERE is_active = true;
CREATE INDEX idx_qloapps_room_mappings_local_room_id ON qloapps_room_mappings (local_room_id);
CREATE INDEX idx_qloapps_room_mappings_local_room_type_id ON qloapps_room_mappings (local_room_type_id);
CREATE INDEX idx_qloapps_room_mappings_property_id ON qloapps_room_mappings (hotel_id);
CREATE INDEX idx_qloapps_room_mappings_qloapps_room_id ON qloapps_room_mappings (qloapps_room_id);

-- The only triggers of the PMS on these tables: three mapping tables keep their own updated_at on UPDATE
-- (a function each, as there).
CREATE FUNCTION update_qloapps_reservation_mappings_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;
CREATE TRIGGER trigger_qloapps_reservation_mappings_updated_at BEFORE UPDATE ON qloapps_reservation_mappings
    FOR EACH ROW EXECUTE FUNCTION update_qloapps_reservation_mappings_updated_at();
CREATE FUNCTION update_qloapps_customer_mappings_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;
CREATE TRIGGER trigger_qloapps_customer_mappings_updated_at BEFORE UPDATE ON qloapps_customer_mappings
    FOR EACH ROW EXECUTE FUNCTION update_qloapps_customer_mappings_updated_at();
CREATE FUNCTION update_qloapps_room_type_mappings_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;
CREATE TRIGGER trigger_qloapps_room_type_mappings_updated_at BEFORE UPDATE ON qloapps_room_type_mappings
    FOR EACH ROW EXECUTE FUNCTION update_qloapps_room_type_mappings_updated_at();

-- knex's bookkeeping, as knex creates it. The real table lists all 53 migrations; the double holds the last one,
-- which says which schema this is a double of.
CREATE TABLE knex_migrations (
    id serial PRIMARY KEY,
    name varchar(255),
    batch integer,
    migration_time timestamptz
);
INSERT INTO knex_migrations (name, batch, migration_time)
VALUES ('20260220000002_add_qloapps_to_reservations_source.ts', 1, CURRENT_TIMESTAMP);
CREATE TABLE knex_migrations_lock (
    index serial PRIMARY KEY,
    is_locked integer
);
INSERT INTO knex_migrations_lock (is_locked) VALUES (0);
