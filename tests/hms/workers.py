"""The hotelmanangement PMS's tables (the test double) filled the way its TypeScript QloApps workers left them.

Rows are written as that PMS and its workers wrote them: uuids as keys, ``hotel_id`` on every row, QloApps ids
as text, and the API key in the workers' encrypted format (made here with ``cryptography``, or by Node itself
with :func:`node_encrypt`, to show the format is Node's).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from qlosync.pms.hotelmanangement.workers_key import MasterKey, scrypt, master_key
from qlosync.secrets import Secret

# As ENCRYPTION_KEY in the PMS's environment: a passphrase (scrypt'd with the workers' fixed salt).
WORKERS_ENCRYPTION_KEY = "the-pms-encryption-passphrase"


def workers_encrypt(api_key: str, master: MasterKey) -> str:
    """*api_key* as the workers stored it (SALT:IV:TAG:CIPHERTEXT, hex), encrypted with ``cryptography``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, iv = os.urandom(64), os.urandom(16)
    sealed = AESGCM(scrypt(master.value, salt)).encrypt(iv, api_key.encode("utf-8"), None)
    return ":".join(part.hex() for part in (salt, iv, sealed[-16:], sealed[:-16]))


# Node's own code for the workers' format: crypto.scryptSync with its defaults, aes-256-gcm, 16-byte IV.
_NODE_ENCRYPT = r"""
const crypto = require('crypto');
const env = process.env.ENCRYPTION_KEY;
const master = !env ? crypto.scryptSync('default-dev-key-change-in-production', 'salt', 32)
  : env.length === 64 ? Buffer.from(env, 'hex') : crypto.scryptSync(env, 'beds24-encryption-salt', 32);
const salt = crypto.randomBytes(64), iv = crypto.randomBytes(16);
const cipher = crypto.createCipheriv('aes-256-gcm', crypto.scryptSync(master, salt, 32), iv);
let out = cipher.update(process.env.PLAIN, 'utf8', 'hex'); out += cipher.final('hex');
process.stdout.write([salt.toString('hex'), iv.toString('hex'), cipher.getAuthTag().toString('hex'), out].join(':'));
"""


def node_encrypt(api_key: str, encryption_key: str | None) -> str:
    """*api_key* encrypted by Node (v20 here) as the workers did, with ENCRYPTION_KEY *encryption_key*."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PLAIN": api_key}
    if encryption_key is not None:
        env["ENCRYPTION_KEY"] = encryption_key
    done = subprocess.run(["node", "-e", _NODE_ENCRYPT], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout.strip()


class WorkersPms:
    """Writes the PMS's rows (its own, then its workers') through one engine on the double."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._clock = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def _insert(self, table: str, **values: object) -> str:
        values.setdefault("id", str(uuid.uuid4()))
        columns = ", ".join(values)
        placeholders = ", ".join(f":{name}" for name in values)
        with self.engine.begin() as connection:
            connection.execute(text(f"INSERT INTO public.{table} ({columns}) VALUES ({placeholders})"), values)
        return str(values["id"])

    def _tick(self) -> datetime:
        # Rows made one after the other get distinct creation times (the oldest reservation anchors a group).
        self._clock += timedelta(minutes=1)
        return self._clock

    # -- the PMS's own rows ------------------------------------------------------------------------------------

    def hotel(self, name: str) -> str:
        return self._insert("hotels", hotel_name=name, active_channel_manager="qloapps")

    def room_type(self, hotel_id: str, name: str, *, deleted: bool = False) -> str:
        return self._insert("room_types", hotel_id=hotel_id, name=name, room_type=name.lower(), qty=5,
                            price_per_night=Decimal("120.00"), max_adult=2, max_children=1,
                            deleted_at=self._tick() if deleted else None)

    def room(self, hotel_id: str, room_type_id: str, number: str) -> str:
        return self._insert("rooms", hotel_id=hotel_id, room_type_id=room_type_id, room_number=number,
                            type="Double", room_type="double", price_per_night=Decimal("120.00"), floor=1)

    def guest(self, hotel_id: str, name: str, email: str) -> str:
        return self._insert("guests", hotel_id=hotel_id, name=name, email=email)

    def reservation(self, hotel_id: str, guest_id: str, room_type_id: str, checkin: date, *, nights: int = 2,
                    source: str = "QloApps") -> str:
        made = self._tick()
        reservation_id = self._insert(
            "reservations", hotel_id=hotel_id, primary_guest_id=guest_id, room_type_id=room_type_id,
            units_requested=1, check_in=checkin, check_out=checkin + timedelta(days=nights), status="Confirmed",
            total_amount=Decimal("240.00"), tax=Decimal("0"), source=source, num_adult=2, num_child=0,
            booking_time=made, created_at=made, updated_at=made)
        self._insert("reservation_guests", hotel_id=hotel_id, reservation_id=reservation_id, guest_id=guest_id,
                     guest_type="Primary")
        return reservation_id

    # -- the workers' rows ----------------------------------------------------------------------------------

    def config(self, hotel_id: str, base_url: str, api_key_encrypted: str, *, qloapps_hotel_id: int = 1,
               sync_enabled: bool = True) -> str:
        return self._insert("qloapps_config", hotel_id=hotel_id, base_url=base_url,
                            api_key_encrypted=api_key_encrypted, qloapps_hotel_id=qloapps_hotel_id,
                            sync_enabled=sync_enabled)

    def map_room_type(self, hotel_id: str, room_type_id: str, product_id: int | str, qloapps_hotel_id: str = "1") -> None:
        self._insert("qloapps_room_type_mappings", hotel_id=hotel_id, local_room_type_id=room_type_id,
                     qloapps_product_id=str(product_id), qloapps_hotel_id=qloapps_hotel_id, created_at=self._tick())

    def map_room(self, hotel_id: str, room_id: str, room_type_id: str, qloapps_room_id: int,
                 qloapps_hotel_id: str = "1") -> None:
        self._insert("qloapps_room_mappings", hotel_id=hotel_id, qloapps_room_id=str(qloapps_room_id),
                     qloapps_hotel_id=qloapps_hotel_id, local_room_id=room_id, local_room_type_id=room_type_id,
                     created_at=self._tick())

    def map_customer(self, hotel_id: str, guest_id: str, customer_id: int, match_type: str = "email",
                     qloapps_hotel_id: str = "1", active: bool = True) -> None:
        self._insert("qloapps_customer_mappings", hotel_id=hotel_id, local_guest_id=guest_id,
                     qloapps_customer_id=str(customer_id), qloapps_hotel_id=qloapps_hotel_id, match_type=match_type,
                     is_active=active, created_at=self._tick())

    def map_reservation(self, hotel_id: str, reservation_id: str, qloapps_id: int, source: str, *,
                        qloapps_hotel_id: str = "1", active: bool = True) -> None:
        """*qloapps_id*: an order id for source 'pms', a room_bookings id for 'qloapps' (what the workers stored)."""
        self._insert("qloapps_reservation_mappings", hotel_id=hotel_id, local_reservation_id=reservation_id,
                     qloapps_order_id=str(qloapps_id), qloapps_hotel_id=qloapps_hotel_id, source=source,
                     qloapps_status_code=1, is_active=active, created_at=self._tick())

    def page(self, hotel_id: str) -> tuple[datetime | None, str | None]:
        """What the PMS's settings page shows for the hotel: (last_successful_sync, last_sync_error)."""
        with self.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT last_successful_sync, last_sync_error FROM public.qloapps_config WHERE hotel_id = :h"),
                {"h": hotel_id}).one()
        return row[0], row[1]


def workers_master() -> MasterKey:
    return master_key(WORKERS_ENCRYPTION_KEY)


def encrypted_key(api_key: Secret) -> str:
    return workers_encrypt(api_key.reveal(), workers_master())
