"""Factories for customer records. Valid identifiers are computed, not typed."""

from datetime import date
from decimal import Decimal

from customers import services
from customers.validators import credit_code_check_char, id_check_digit, vin_check_digit


def make_id_number(born=date(1985, 6, 15), male=True, serial=12):
    """A valid resident ID number for a Shanghai birth on `born`."""
    seq = serial * 2 + (1 if male else 0)
    first17 = f"310101{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_digit(first17)


def make_vin(serial=1, prefix="LVGBE40K"):
    """A valid China-built VIN ('L...') with its check digit."""
    body = f"{prefix}0{'A'}{serial:07d}"[:17]
    body = body[:8] + "0" + body[9:]
    return body[:8] + vin_check_digit(body) + body[9:]


def make_credit_code(serial=1):
    first17 = f"91310000{serial:09d}"
    return first17 + credit_code_check_char(first17)


def make_mobile(serial=1):
    return f"139{serial:08d}"


def make_customer(store, n=1, **fields):
    values = {"name": f"客户{n}", "mobile": make_mobile(n), **fields}
    return services.customer_create(store=store, **values)


def make_vehicle(customer, n=1, **fields):
    values = {"vin": make_vin(n), "plate": f"沪A{n:05d}", "model_name": "卡罗拉", **fields}
    return services.vehicle_register(store=customer.store, customer=customer, **values)


def make_sale(vehicle, **fields):
    values = {"price": Decimal("150000"), "order_date": date(2026, 8, 1),
              "delivered_on": date(2026, 8, 10), **fields}
    return services.sale_record(vehicle=vehicle, **values)
