"""The fixed API estate of the sample generator: proxies, operations, traffic shapes.

A colleague's API product catalog uses exactly these proxies, base paths,
operations and product names, so they change only together with it. The
developer apps live in :mod:`copilot.logs.sample_apps`.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_SET = "(not set)"
ORGANIZATION = "shopco-apigee-prod"
ENVIRONMENT = "prod"


@dataclass(frozen=True)
class Proxy:
    """An API proxy and the backend behind it."""

    name: str
    basepath: str
    revision: int
    target_host: str


@dataclass(frozen=True)
class Operation:
    """One operation: verb + path-suffix template, with its backend behaviour."""

    proxy: str
    verb: str
    suffix: str  # template after the base path; "" is the base path itself
    product: str
    id_kind: str = ""  # order | payment | customer | shipment | sku | ""
    query: str = ""  # query-string pool name, "" for none
    latency_ms: float = 50.0  # healthy median target time
    req_bytes: int = 0
    resp_bytes: int = 1000
    ok_status: int = 200
    client_error: tuple[int, float] = (404, 0.0)  # (status, share) the target answers
    backend_429: float = 0.0  # share the target itself rate-limits at its busiest hour

    @property
    def key(self) -> str:
        """``"proxy VERB /suffix"``, the name app mixes refer to."""
        return f"{self.proxy} {self.verb} {self.suffix or '/'}"


PROXIES: tuple[Proxy, ...] = (
    Proxy("orders", "/v1/orders", 14, "orders.prod.shopco.internal"),
    Proxy("payments", "/v1/payments", 9, "payments.prod.shopco.internal"),
    Proxy("catalog", "/v1/catalog", 22, "catalog.prod.shopco.internal"),
    Proxy("customers", "/v1/customers", 6, "customers.prod.shopco.internal"),
    Proxy("fulfilment", "/v1/fulfilment", 4, "fulfilment.prod.shopco.internal"),
    Proxy("notifications", "/v1/notifications", 3, "notify.prod.shopco.internal"),
)

# One row per operation: proxy, verb, suffix, product, id kind, query pool,
# healthy median target ms, request bytes, response bytes, success status,
# client error status and share, backend-429 share at the busiest hour.
# fmt: off
_OPERATION_ROWS = (
    ("orders", "GET", "", "orders-read", "", "orders", 85, 0, 4200, 200, 404, 0.0, 0.0),
    ("orders", "POST", "", "orders-write", "", "", 160, 900, 1100, 201, 400, 0.015, 0.0),
    ("orders", "GET", "/{id}", "orders-read", "order", "", 45, 0, 1800, 200, 404, 0.015, 0.0),
    ("orders", "PATCH", "/{id}", "orders-write", "order", "", 120, 300, 1800, 200, 409, 0.02, 0.0),
    ("orders", "POST", "/{id}/cancel", "orders-write", "order", "", 140, 80, 600, 200, 409, 0.05, 0),
    ("orders", "GET", "/{id}/items", "orders-read", "order", "", 60, 0, 2600, 200, 404, 0.01, 0.0),
    ("payments", "POST", "", "payments", "", "", 420, 650, 700, 201, 402, 0.03, 0.01),
    ("payments", "GET", "/{id}", "payments", "payment", "", 55, 0, 900, 200, 404, 0.005, 0.0),
    ("payments", "POST", "/{id}/refund", "payments", "payment", "", 380, 120, 600, 201, 409, 0.02, 0),
    ("catalog", "GET", "/products", "catalog", "", "products", 70, 0, 14000, 200, 404, 0.0, 0.0),
    ("catalog", "GET", "/products/{sku}", "catalog", "sku", "", 25, 0, 3200, 200, 404, 0.01, 0.0),
    ("catalog", "GET", "/search", "catalog", "", "search", 110, 0, 9000, 200, 404, 0.0, 0.0),
    ("customers", "GET", "/{id}", "customers", "customer", "", 35, 0, 1200, 200, 404, 0.005, 0),
    ("customers", "PATCH", "/{id}", "customers", "customer", "", 90, 400, 1200, 200, 400, 0.02, 0),
    ("customers", "GET", "/{id}/addresses", "customers", "customer", "", 40, 0, 900, 200, 404, 0, 0),
    ("fulfilment", "POST", "/shipments", "fulfilment", "", "", 230, 1400, 800, 201, 400, 0.01, 0),
    ("fulfilment", "GET", "/shipments/{id}", "fulfilment", "shipment", "", 50, 0, 1500, 200, 404, 0.01, 0.0),
    ("notifications", "POST", "/email", "notifications", "", "", 180, 2500, 120, 202, 400, 0, 0),
    ("notifications", "POST", "/sms", "notifications", "", "", 240, 300, 120, 202, 400, 0, 0.1),
)
# fmt: on
OPERATIONS: tuple[Operation, ...] = tuple(
    Operation(*row[:10], client_error=(row[10], row[11]), backend_429=row[12])
    for row in _OPERATION_ROWS
)

# Diurnal shapes, UTC, one value per hour (interpolated linearly in between).
# The shop's customers are mostly in the Americas: evenings there are
# 23:00-03:00 UTC, nights 06:00-10:00 UTC.
# fmt: off
DIURNAL: dict[str, tuple[float, ...]] = {
    "consumer": (0.92, 0.80, 0.62, 0.45, 0.32, 0.24, 0.20, 0.20, 0.24, 0.32, 0.44, 0.56,
                 0.66, 0.74, 0.80, 0.86, 0.90, 0.94, 0.98, 1.00, 1.00, 0.99, 0.98, 0.97),
    "anonymous": (0.94, 0.85, 0.71, 0.59, 0.49, 0.43, 0.40, 0.40, 0.43, 0.49, 0.58, 0.67,
                  0.75, 0.81, 0.85, 0.90, 0.93, 0.96, 0.99, 1.00, 1.00, 0.99, 0.99, 0.98),
    "business": (0.35, 0.18, 0.08, 0.05, 0.04, 0.04, 0.04, 0.05, 0.06, 0.08, 0.12, 0.30,
                 0.60, 0.85, 1.00, 1.00, 1.00, 1.00, 1.00, 0.95, 0.90, 0.85, 0.70, 0.55),
    "partner": (0.55, 0.50, 0.45, 0.42, 0.40, 0.40, 0.42, 0.48, 0.60, 0.75, 0.88, 0.95,
                1.00, 1.00, 1.00, 1.00, 1.00, 0.98, 0.95, 0.90, 0.82, 0.75, 0.68, 0.60),
    "flat": (1.0,) * 24,
}
# fmt: on

# Weekly factors, Monday first (weekend shopping up, business traffic down).
WEEKLY: dict[str, tuple[float, ...]] = {
    "consumer": (1.00, 0.96, 0.97, 1.00, 1.07, 1.18, 1.10),
    "business": (1.00, 1.00, 1.00, 1.00, 0.95, 0.18, 0.10),
    "partner": (1.00, 1.00, 1.00, 1.00, 1.00, 0.45, 0.35),
    "flat": (1.0,) * 7,
}

# The nightly reconciliation batch window (UTC seconds of day), in the quiet hours.
BATCH_WINDOW = (7 * 3600, 8 * 3600 + 1800)

# Address ranges per population: (first address, span) as dotted-quad start
# and number of addresses. Consumer/mobile pools draw anywhere in the span.
IP_RANGES: dict[str, tuple[str, int]] = {
    "consumer": ("24.0.0.0", 1 << 26),
    "mobile": ("172.56.0.0", 1 << 18),
    "partner": ("198.51.100.0", 256),
    "internal": ("10.20.0.0", 4096),
    "office": ("203.0.113.0", 256),
    "cloud": ("34.86.0.0", 1 << 16),
}

# Apigee message processors (their ids appear in gateway_flow_id and syslog HOST).
MESSAGE_PROCESSORS = (
    ("apigee-runtime-prod-usc1-5f7d9c-x2kq8", "0a1c4e7f"),
    ("apigee-runtime-prod-usc1-5f7d9c-m8w3d", "0a1c52b9"),
    ("apigee-runtime-prod-use4-77b1a0-p4t6z", "0a2e13d0"),
)
