-- TEST DOUBLE of the Hotel Management System's schema (hananshaban/hotelmanangement, the PMS of issue 21).
-- Written from ../shared/pms-hotelmanangement.md, not from the PMS's migrations; check against the real
-- migrations before issue 21 is resolved. Nothing here is copied from that repository: it is this project's
-- own DDL for the facts the digest states (uuid keys, hotel_id on every tenant row, the CHECK values, soft
-- delete), plus a few of the columns sync ignores, so that the check is tried on more than what it reads.

CREATE TABLE hotels (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_name varchar(255) NOT NULL,
    currency varchar(3) DEFAULT 'USD',
    timezone varchar(64) DEFAULT 'UTC',
    check_in_time time,
    check_out_time time,
    tax_percentage numeric(5, 2),
    active_channel_manager varchar(20) NOT NULL DEFAULT 'beds24'
        CHECK (active_channel_manager IN ('beds24', 'qloapps')),
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO hotels (id, hotel_name) VALUES ('00000000-0000-0000-0000-000000000000', 'Default Hotel');

CREATE TABLE guests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    email varchar(255),
    phone varchar(50),
    past_stays integer NOT NULL DEFAULT 0,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE room_types (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    room_type varchar(50) NOT NULL,
    qty integer NOT NULL DEFAULT 1 CHECK (qty BETWEEN 1 AND 99),
    price_per_night numeric(10, 2) NOT NULL,
    min_price numeric(10, 2),
    max_price numeric(10, 2),
    max_people integer,
    max_adult integer,
    max_children integer,
    min_stay integer CHECK (min_stay BETWEEN 1 AND 365),
    max_stay integer CHECK (max_stay BETWEEN 1 AND 365),
    tax_percentage numeric(5, 2),
    unit_allocation varchar(20) NOT NULL DEFAULT 'perBooking' CHECK (unit_allocation IN ('perBooking', 'perGuest')),
    cm_room_id varchar(255),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX room_types_cm_room_id ON room_types (cm_room_id);

CREATE TABLE rooms (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    room_number varchar(50) NOT NULL,
    room_type_id uuid REFERENCES room_types (id) ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'Available'
        CHECK (status = ANY (ARRAY['Available', 'Occupied', 'Cleaning', 'Out of Service'])),
    -- Legacy columns, NOT NULL without a default: whoever inserts a room must fill them.
    type text NOT NULL CHECK (type IN ('Single', 'Double', 'Suite', 'General', 'Other')),
    room_type varchar(50) NOT NULL,
    price_per_night numeric(10, 2) NOT NULL,
    floor integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hotel_id, room_number)
);

CREATE TABLE reservations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    primary_guest_id uuid NOT NULL REFERENCES guests (id) ON DELETE RESTRICT,
    room_type_id uuid REFERENCES room_types (id) ON DELETE RESTRICT,
    units_requested integer DEFAULT 1,
    room_id uuid REFERENCES rooms (id) ON DELETE RESTRICT,
    reserved_room_id uuid REFERENCES rooms (id) ON DELETE SET NULL,
    check_in date NOT NULL,
    check_out date NOT NULL,
    status text NOT NULL DEFAULT 'Confirmed'
        CHECK (status IN ('Confirmed', 'Checked-in', 'Checked-out', 'Cancelled')),
    total_amount numeric(10, 2) NOT NULL,
    tax numeric(10, 2),
    deposit numeric(10, 2),
    source text DEFAULT 'Direct'
        CHECK (source IN ('Direct', 'Beds24', 'Booking.com', 'Expedia', 'QloApps', 'Other')),
    channel varchar(100),
    reference varchar(255),
    api_reference varchar(255),
    special_requests text,
    notes text,
    comments text,
    num_adult integer,
    num_child integer DEFAULT 0,
    booking_time timestamptz,
    modified_time timestamptz,
    cancel_time timestamptz,
    -- Two of the Beds24-era columns, which stay NULL for a QloApps booking.
    beds24_booking_id varchar(50),
    beds24_raw jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK (check_out > check_in)
);

CREATE TABLE reservation_guests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    guest_id uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    guest_type text NOT NULL DEFAULT 'Primary' CHECK (guest_type IN ('Primary', 'Secondary')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (reservation_id, guest_id)
);

CREATE TABLE check_ins (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    actual_room_id uuid NOT NULL REFERENCES rooms (id),
    check_in_time timestamptz NOT NULL,
    actual_checkout_time timestamptz,
    status text NOT NULL DEFAULT 'checked_in' CHECK (status IN ('checked_in', 'checked_out'))
);
ALTER TABLE reservations ADD COLUMN checkin_id uuid REFERENCES check_ins (id) ON DELETE SET NULL;

-- Its own QloApps integration (the TypeScript workers' tables): same names as some of qlosync's, in public.
CREATE TABLE qloapps_config (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL UNIQUE REFERENCES hotels (id) ON DELETE CASCADE,
    base_url varchar(500) NOT NULL,
    api_key_encrypted text NOT NULL,
    qloapps_hotel_id integer NOT NULL,
    sync_interval_minutes integer NOT NULL DEFAULT 15 CHECK (sync_interval_minutes BETWEEN 5 AND 60),
    sync_enabled boolean NOT NULL DEFAULT true,
    sync_reservations_inbound boolean NOT NULL DEFAULT true,
    sync_reservations_outbound boolean NOT NULL DEFAULT true,
    sync_availability boolean NOT NULL DEFAULT true,
    sync_rates boolean NOT NULL DEFAULT true,
    last_successful_sync timestamptz,
    last_sync_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qloapps_reservation_mappings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    local_reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    qloapps_order_id varchar(50) NOT NULL,
    qloapps_hotel_id varchar(50) NOT NULL,
    source text NOT NULL CHECK (source IN ('pms', 'qloapps', 'ota')),
    qloapps_status_code integer CHECK (qloapps_status_code BETWEEN 1 AND 4),
    local_hash varchar(64),
    qloapps_hash varchar(64),
    has_conflict boolean NOT NULL DEFAULT false,
    conflict_data jsonb,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hotel_id, local_reservation_id),
    UNIQUE (hotel_id, qloapps_order_id, qloapps_hotel_id)
);

CREATE TABLE qloapps_customer_mappings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    local_guest_id uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    qloapps_customer_id varchar(50) NOT NULL,
    match_type text CHECK (match_type IN ('email', 'phone', 'manual', 'booking')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qloapps_room_type_mappings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    local_room_type_id uuid NOT NULL REFERENCES room_types (id) ON DELETE CASCADE,
    qloapps_product_id varchar(50) NOT NULL,
    qloapps_hotel_id varchar(50) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qloapps_room_mappings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hotel_id uuid NOT NULL REFERENCES hotels (id) ON DELETE CASCADE,
    qloapps_room_id varchar(50) NOT NULL,
    local_room_id uuid NOT NULL UNIQUE REFERENCES rooms (id) ON DELETE CASCADE,
    local_room_type_id uuid REFERENCES room_types (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
