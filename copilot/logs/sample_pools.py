"""Populations the requests draw from: customers, payments, shipments, SKUs, addresses, queries.

Built once per scenario from its seed, so the same customers, products and
client addresses recur across days, as they do in real traffic. Strings are
made with numpy byte matrices and pyarrow kernels, never one by one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from copilot.logs.sample_apps import APPS
from copilot.logs.sample_estate import IP_RANGES

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_TERMS = (
    "running shoes",
    "rain jacket",
    "wireless earbuds",
    "coffee grinder",
    "yoga mat",
    "desk lamp",
    "winter boots",
    "backpack",
    "air fryer",
    "phone case",
    "usb c cable",
    "standing desk",
    "water bottle",
    "gaming mouse",
    "wool socks",
    "sunglasses",
    "kids bike",
    "tent",
    "blender",
    "office chair",
    "hoodie",
    "smart watch",
    "chef knife",
    "laptop stand",
    "bluetooth speaker",
    "jeans",
    "face serum",
    "trail mix",
    "dog bed",
    "board game",
    "led strip",
    "toaster",
)
_CATEGORIES = (
    "shoes",
    "outdoor",
    "electronics",
    "kitchen",
    "home",
    "fitness",
    "kids",
    "beauty",
    "pets",
    "office",
    "toys",
    "apparel",
)
_ORDER_QUERIES = (
    "?status=open&limit=20",
    "?status=shipped&limit=20",
    "?limit=50&page=2",
    "?status=delivered&since=2026-11-01",
    "?limit=20",
    "?status=cancelled&limit=10",
    "?sort=-created_at&limit=20",
    "?status=open&limit=100",
)


def hex_matrix(raw: np.ndarray) -> np.ndarray:
    """``uint8[n, k]`` bytes -> ``uint8[n, 2k]`` lower-case hex digits."""
    out = np.empty((raw.shape[0], raw.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 0x0F]
    return out


def to_strings(chars: np.ndarray) -> pa.Array:
    """``uint8[n, k]`` ASCII matrix -> pyarrow string array of n strings of length k."""
    n, k = chars.shape
    offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32)
    data = np.ascontiguousarray(chars).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """n random version-4 UUID strings."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = hex_matrix(raw)
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    parts = (
        digits[:, :8],
        dash,
        digits[:, 8:12],
        dash,
        digits[:, 12:16],
        dash,
        digits[:, 16:20],
        dash,
        digits[:, 20:],
    )
    return to_strings(np.hstack(parts))


def prefixed_hex(rng: np.random.Generator, n: int, prefix: str, nbytes: int) -> pa.Array:
    """n ids like ``pay_`` + 2*nbytes hex digits (Stripe-style object ids)."""
    digits = hex_matrix(rng.integers(0, 256, (n, nbytes), dtype=np.uint8))
    head = np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, 1))
    return to_strings(np.hstack((head, digits)))


def ean13(items: np.ndarray) -> pa.Array:
    """GS1 EAN-13 codes under the documentation company prefix 0614141 (with check digit)."""
    body = np.int64(614141) * 100_000 + items.astype(np.int64)  # 12 digits with leading 0
    digits = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    weights = np.tile([1, 3], 6)
    check = (10 - (digits * weights).sum(axis=1) % 10) % 10
    text = pa.array(body * 10 + check).cast(pa.string())
    return pc.utf8_lpad(text, width=13, padding="0")


def dotted(addresses: np.ndarray) -> pa.Array:
    """uint32 IPv4 addresses -> dotted-quad strings."""
    octets = [pa.array((addresses >> s) & 0xFF).cast(pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


@dataclass(frozen=True)
class Pools:
    """Per-scenario populations.

    ``queries`` holds every query string, ``""`` first; ``query_slots`` maps a
    pool name (an operation's ``query``, or ``scraper_search``) to its
    ``(offset, size)`` there. ``ips`` holds every app's addresses; ``ip_slots``
    gives each app's ``(offset, size)``, in ``APPS`` order.
    """

    customers: pa.Array
    payments: pa.Array
    shipments: pa.Array
    skus: pa.Array
    ips: pa.Array
    ip_slots: tuple[tuple[int, int], ...]
    queries: pa.Array
    query_slots: dict[str, tuple[int, int]]


def _ip_pool(rng: np.random.Generator, family: str, size: int) -> pa.Array:
    first, span = IP_RANGES[family]
    base = int(ipaddress.IPv4Address(first))
    # Collisions are rare and harmless: a shared address is realistic (NAT, carriers).
    offsets = rng.integers(1, span - 1, size)
    return dotted((base + offsets).astype(np.uint32))


def _searches(pages: range, extra: str) -> list[str]:
    terms = [t.replace(" ", "+") for t in _TERMS]
    return [f"?q={t}&page={p}{extra}" for t in terms for p in pages]


def _slots(sizes: list[int], first: int = 0) -> tuple[tuple[int, int], ...]:
    offsets = np.cumsum([first, *sizes])[:-1]
    return tuple((int(o), int(s)) for o, s in zip(offsets, sizes, strict=True))


def build_pools(seed: int) -> Pools:
    """The scenario's populations; depends on ``seed`` only."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9001]))
    customers = uuids(rng, 20_000)
    payments = prefixed_hex(rng, 60_000, "pay_", 12)
    shipments = uuids(rng, 20_000)
    skus = ean13(rng.choice(100_000, size=6_000, replace=False))
    ips = [_ip_pool(rng, *app.ip_pool) for app in APPS]
    queries = {
        "orders": list(_ORDER_QUERIES),
        "products": [
            f"?category={c}&limit=24&offset={24 * k}" for c in _CATEGORIES for k in range(5)
        ],
        "search": _searches(range(1, 6), ""),
        # the scraper pages deep through cheap-first results
        "scraper_search": _searches(range(1, 41), "&sort=price_asc&limit=100"),
    }
    slots = _slots([len(q) for q in queries.values()], first=1)
    return Pools(
        customers=customers,
        payments=payments,
        shipments=shipments,
        skus=skus,
        ips=pa.concat_arrays(ips),
        ip_slots=_slots([len(p) for p in ips]),
        queries=pa.array([""] + [q for group in queries.values() for q in group], pa.string()),
        query_slots=dict(zip(queries, slots, strict=True)),
    )
