"""What each scope of the shipped API products (copilot/data/products.json) is meant to grant.

Written by hand from the products' intent, so the tests that check the shipped file
against it catch a product that grants more, or less, than it should.
"""

from __future__ import annotations

INTENDED_GRANTS: dict[str, set[str]] = {
    "orders.read": {"orders.list", "orders.get", "orders.list_items"},
    "orders.write": {"orders.create", "orders.update", "orders.cancel"},
    "payments.read": {"payments.get"},
    "payments.refund": {"payments.refund"},
    "catalog.read": {"catalog.list_products", "catalog.get_product", "catalog.search"},
    "customers.read": {"customers.get", "customers.list_addresses"},
    "customers.write": {"customers.update"},
    "fulfilment.write": {"fulfilment.create_shipment", "fulfilment.get_shipment"},
    "notifications.send": {"notifications.send_email", "notifications.send_sms"},
}
