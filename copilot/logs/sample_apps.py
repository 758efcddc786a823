"""The developer apps of the sample (and anonymous catalog traffic), and how each behaves.

Rates are *nominal*: requests on a weekday at scale 1, which with the rest of
the scenario yields roughly 32k requests a day (the bundled 7-day sample);
callers scale every rate together with ``rows``. Mixes name operations by
``Operation.key`` (``"proxy VERB /suffix"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from copilot.logs.sample_estate import NOT_SET


@dataclass(frozen=True)
class App:
    """A developer app (or anonymous traffic) and how it behaves."""

    name: str
    email: str
    daily: float  # nominal requests on a weekday
    shape: str  # key of DIURNAL
    weekly: str  # key of WEEKLY
    mix: tuple[tuple[str, float], ...]  # (operation key, weight)
    agents: tuple[tuple[str, float], ...]  # (User-Agent, weight)
    ip_pool: tuple[str, int]  # (address family key of IP_RANGES, pool size)
    auth_fail: float = 0.0  # share of requests failing token/key verification
    bursts_per_day: float = 0.0
    burst_mult: tuple[float, float] = (2.0, 4.0)
    hourly_sync: float = 0.0  # multiplier for the first 4 minutes of each hour
    quota_per_hour: int = 0  # Q-PerApp allowance (nominal), 0 = no quota
    error_boost: float = 1.0  # multiplies the target's client-error share


ABUSIVE_APP = "dealfinder-app"

_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
_GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
_BROWSERS = ((_CHROME, 0.5), (_SAFARI, 0.2), (_IPHONE, 0.2), (_FIREFOX, 0.1))

# fmt: off
_SHOP_MIX = (
    ("catalog GET /products", 18), ("catalog GET /products/{sku}", 22),
    ("catalog GET /search", 14), ("orders GET /", 4), ("orders POST /", 4),
    ("orders GET /{id}", 8), ("orders GET /{id}/items", 3), ("orders POST /{id}/cancel", 0.4),
    ("payments POST /", 4), ("payments GET /{id}", 1.5), ("customers GET /{id}", 6),
    ("customers PATCH /{id}", 0.8), ("customers GET /{id}/addresses", 3),
)
_MOBILE_MIX = (
    ("catalog GET /products", 14), ("catalog GET /products/{sku}", 20),
    ("catalog GET /search", 12), ("orders GET /", 6), ("orders POST /", 4),
    ("orders GET /{id}", 12), ("orders GET /{id}/items", 4), ("orders POST /{id}/cancel", 0.5),
    ("payments POST /", 4), ("payments GET /{id}", 2), ("customers GET /{id}", 5),
    ("customers PATCH /{id}", 0.6), ("customers GET /{id}/addresses", 2),
)

APPS: tuple[App, ...] = (
    App("storefront-web", "web-platform@shopco.example", 8500, "consumer", "consumer",
        _SHOP_MIX, _BROWSERS, ("consumer", 20000),
        auth_fail=0.004, bursts_per_day=10, burst_mult=(2, 5)),
    App("shopco-ios", "mobile-team@shopco.example", 5200, "consumer", "consumer",
        _MOBILE_MIX,
        (("ShopCo/5.12.1 (iPhone; iOS 18.1; Scale/3.00)", 0.7),
         ("ShopCo/5.11.0 (iPhone; iOS 17.6; Scale/3.00)", 0.3)),
        ("mobile", 12000), auth_fail=0.012, bursts_per_day=8),
    App("shopco-android", "mobile-team@shopco.example", 4600, "consumer", "consumer",
        _MOBILE_MIX,
        (("ShopCo/5.12.0 (Android 15; Pixel 8) okhttp/4.12.0", 0.6),
         ("ShopCo/5.12.0 (Android 14; SM-S918B) okhttp/4.12.0", 0.4)),
        ("mobile", 12000), auth_fail=0.015, bursts_per_day=8),
    # Anonymous: the catalog serves product pages and search without a key.
    App(NOT_SET, NOT_SET, 2600, "anonymous", "consumer",
        (("catalog GET /products", 40), ("catalog GET /products/{sku}", 35),
         ("catalog GET /search", 25)),
        (*_BROWSERS, (_GOOGLEBOT, 0.15)), ("consumer", 15000),
        bursts_per_day=6, burst_mult=(3, 8)),
    # Syncs its listings at the top of every hour; its hourly quota binds at busy hours.
    App("partner-globex-marketplace", "api@globex-marketplace.example", 1900, "partner",
        "partner",
        (("catalog GET /products", 30), ("catalog GET /products/{sku}", 30),
         ("orders POST /", 20), ("orders GET /{id}", 15), ("orders PATCH /{id}", 5)),
        (("globex-sync/2.4 (+https://globex-marketplace.example/bot)", 1.0),), ("partner", 4),
        bursts_per_day=4, hourly_sync=5.0, quota_per_hour=95),
    App("partner-acme-logistics", "integrations@acme-logistics.example", 1100, "partner",
        "partner",
        (("fulfilment POST /shipments", 35), ("fulfilment GET /shipments/{id}", 45),
         ("orders GET /{id}", 20)),
        (("Apache-HttpClient/5.3.1 (Java/21.0.5)", 1.0),), ("partner", 3),
        bursts_per_day=4, quota_per_hour=150),
    App("partner-initech-pos", "pos-dev@initech.example", 1300, "business", "business",
        (("orders POST /", 30), ("payments POST /", 30), ("customers GET /{id}", 20),
         ("payments POST /{id}/refund", 3), ("orders GET /{id}", 17)),
        (("initech-pos/7.2.0 (Windows 10; .NET 8.0)", 1.0),), ("partner", 40),
        auth_fail=0.003, bursts_per_day=3, quota_per_hour=200),
    # Nightly reconciliation in the quiet hours (BATCH_WINDOW).
    App("ops-batch-reconciler", "finance-eng@shopco.example", 1400, "batch", "flat",
        (("orders GET /{id}", 45), ("payments GET /{id}", 45), ("orders GET /", 10)),
        (("reconciler/1.4 python-httpx/0.27.2", 1.0),), ("internal", 2)),
    App("crm-backoffice", "support-tools@shopco.example", 450, "business", "business",
        (("customers GET /{id}", 35), ("customers PATCH /{id}", 10),
         ("customers GET /{id}/addresses", 10), ("orders GET /", 15), ("orders GET /{id}", 20),
         ("orders POST /{id}/cancel", 5), ("payments POST /{id}/refund", 5)),
        ((_CHROME, 0.7), (_SAFARI, 0.3)), ("office", 25), auth_fail=0.01),
    App("notifier-service", "platform@shopco.example", 1500, "consumer", "consumer",
        (("notifications POST /email", 70), ("notifications POST /sms", 30)),
        (("notifier/3.0.1 Go-http-client/2.0", 1.0),), ("internal", 3), bursts_per_day=5),
    # The abusive client: a price scraper on a free developer key, walking the
    # catalogue (many 404s). Its volume comes from the scenario's crawl windows.
    App(ABUSIVE_APP, "dealfinder.dev@mailbox.example", 0, "flat", "flat",
        (("catalog GET /search", 50), ("catalog GET /products/{sku}", 50)),
        ((_CHROME, 0.8), ("python-requests/2.32.3", 0.2)), ("cloud", 12), error_boost=25.0),
)
# fmt: on
