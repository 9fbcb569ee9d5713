"""Row builders for orders, customers and payments created through /bookings, and the status mapping."""

from __future__ import annotations

import hashlib
from typing import Any

from .wire import money6


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def to_float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def initial_state(b: dict[str, Any], order: dict[str, Any], prices: Any) -> tuple[int, float]:
    """Order state and amount paid on creation (B20)."""
    total = float(order["total_paid_tax_incl"])
    paid = to_float((prices or {}).get("total_paid")) if isinstance(prices, dict) else None
    booking_status = to_int(b.get("booking_status")) or 1
    payment_status = to_int(b.get("payment_status")) or 3
    if booking_status == 3:
        return 4, paid or 0.0
    if booking_status == 4:
        return 5, paid or 0.0
    if booking_status == 2 or payment_status == 1:
        return 2, paid if paid else total
    if payment_status == 2:
        return (8 if paid and paid < total else 2), paid or 0.0
    return 1, paid or 0.0


def customer_record(cust: dict[str, Any], email: str, now: str, gen: str) -> dict[str, Any]:
    return {"id_default_group": 3, "id_lang": 1, "newsletter_date_add": "0000-00-00 00:00:00",
            "ip_registration_newsletter": None, "last_passwd_gen": gen, "secure_key": "", "deleted": 0,
            "passwd": md5_hex(email + now), "phone": str(cust.get("phone") or ""),
            "lastname": str(cust["lastname"]).strip(), "firstname": str(cust["firstname"]).strip(),
            "email": email, "id_gender": 0, "birthday": "0000-00-00", "newsletter": 0, "optin": 0,
            "website": None, "company": None, "siret": None, "ape": None, "outstanding_allow_amount": "0.000000",
            "show_public_prices": 0, "id_risk": 0, "max_payment_days": 0, "active": 1, "note": None,
            "is_guest": 0, "id_shop": 1, "id_shop_group": 1, "date_add": now, "date_upd": now,
            "associations": {"groups": [{"id": 3}]}}


def order_record(order_id: int, id_cart: int, id_customer: int, customer: dict[str, Any], date_add: str,
                  now: str, b: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
    remark = b.get("remark")
    return {"id": order_id, "id_address_delivery": 0, "id_address_invoice": 0, "id_address_tax": 2,
            "id_cart": id_cart, "id_currency": 1, "id_lang": 1, "id_customer": id_customer, "current_state": 1,
            "module": "wsorder", "invoice_number": 0, "invoice_date": "0000-00-00 00:00:00", "valid": 0,
            "date_add": date_add, "date_upd": now, "transaction_id": None, "secure_key": customer["secure_key"],
            "payment": str(payment.get("payment_method") or "Order from API"), "payment_type": 1,
            "total_discounts": money6(0), "total_discounts_tax_incl": money6(0),
            "total_discounts_tax_excl": money6(0), "total_paid": money6(0), "total_paid_tax_incl": money6(0),
            "total_paid_tax_excl": money6(0), "total_paid_real": money6(0), "total_products": money6(0),
            "total_products_wt": money6(0), "conversion_rate": "1.000000", "source": str(b.get("source") or ""),
            "reference": _reference(order_id), "is_advance_payment": 0, "advance_paid_amount": money6(0),
            "with_occupancy": 0, "associations": {"bookings": []},
            "_remarks": [str(remark)] if remark not in (None, "") else []}


def payment_record(order: dict[str, Any], paid: float, payment: dict[str, Any], now: str) -> dict[str, Any]:
    return {"order_reference": order["reference"], "id_currency": 1, "amount": f"{paid:.2f}",
            "payment_method": "Order from API", "payment_type": 3, "conversion_rate": "1.000000",
            "transaction_id": "", "card_number": "", "card_brand": "", "card_expiration": "",
            "card_holder": "", "date_add": now}


def _reference(order_id: int) -> str:
    digest = hashlib.sha1(f"order-{order_id}".encode()).digest()
    return "".join(chr(65 + b % 26) for b in digest[:9])

