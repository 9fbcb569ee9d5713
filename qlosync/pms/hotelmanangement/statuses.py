"""Statuses and sources between qlosync (QloApps' words) and the hotelmanangement PMS, both directions.

That PMS knows four statuses: 'Confirmed', 'Checked-in', 'Checked-out', 'Cancelled'. Every QloApps status that
holds rooms (awaiting payment, paid, partially paid, payment error) lands as 'Confirmed' and the closed ones as
'Cancelled'; the status written is kept in ``hms_reservation_groups.qloapps_status``, so a read gives it back as
long as the PMS still agrees with it ('Confirmed' family or cancelled). 'Checked-in' and 'Checked-out' are the
front desk's: a write never overwrites them, and they read as a live reservation.

The source column allows a fixed list ('Direct', 'Beds24', 'Booking.com', 'Expedia', 'QloApps', 'Other'):
QloApps' channel is folded into it as that PMS's own QloApps integration did, and kept whole in ``channel``
(free text), which a read gives back.
"""

from __future__ import annotations

from qlosync.states import CLOSED_STATUSES, ReservationStatus

CONFIRMED = "Confirmed"
CHECKED_IN = "Checked-in"
CHECKED_OUT = "Checked-out"
CANCELLED = "Cancelled"
#: Statuses the front desk sets and a write from QloApps leaves as they are.
FRONT_DESK = (CHECKED_IN, CHECKED_OUT)

SOURCE_QLOAPPS = "QloApps"
CHANNEL_LENGTH = 50  # reservations.channel is varchar(50)


def pms_status(status: str) -> str:
    """The PMS status a QloApps status lands as."""
    return CANCELLED if status in CLOSED_STATUSES else CONFIRMED


def written_status(status: str, current: str | None) -> str:
    """What a write puts in a reservation now in *current* (None: a new one): never over the front desk's."""
    return current if current in FRONT_DESK else pms_status(status)


def port_status(live: bool, qloapps_status: str | None) -> str:
    """A group's status on the port: the status QloApps last wrote while the PMS agrees with it, else the
    plain one ('confirmed' for a group with a live reservation, 'cancelled' for one without)."""
    if qloapps_status is not None and (qloapps_status in CLOSED_STATUSES) != live:
        return qloapps_status
    return ReservationStatus.CONFIRMED.value if live else ReservationStatus.CANCELLED.value


def pms_source(source: str | None) -> str:
    """The value of the PMS's ``source`` for a QloApps channel (its own integration's rule)."""
    folded = (source or "").casefold()
    if "booking" in folded:
        return "Booking.com"
    if "expedia" in folded:
        return "Expedia"
    return SOURCE_QLOAPPS


def pms_channel(source: str | None) -> str | None:
    """What ``channel`` keeps of QloApps' source: all of it that fits."""
    return None if source is None else source[:CHANNEL_LENGTH]


def port_source(source: str | None, channel: str | None) -> str | None:
    """The source a read shows: the channel QloApps named, else the PMS's source ('Direct' at the front desk)."""
    return channel if channel is not None else source
