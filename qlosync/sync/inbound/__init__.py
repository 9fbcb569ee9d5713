"""QloApps to PMS: pull bookings, apply them as PMS reservations, match guests, map room types and rooms."""
