"""Ground truth of a generated sample: what happened, where, and which limits exist.

Later analysis tests assert against these values (the incident window, the
backend's capacity knee, the abusive client, the gateway's existing limits),
so every number here is the one the generator actually used.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from copilot.logs.sample_apps import ABUSIVE_APP, APPS
from copilot.logs.sample_estate import ENVIRONMENT, NOT_SET, ORGANIZATION, PROXIES
from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT
from copilot.timeunits import SECOND_MS

DEFAULT_START = date(2026, 11, 16)  # a Monday
DEFAULT_SEED = 7

# The orders backend's capacity at scale 1 (requests/s reaching the target,
# averaged over LOAD_WINDOW_S). Normal weekday peaks sit near 0.55x of it.
KNEE_RPS = 0.40
LOAD_WINDOW_S = 60
# Existing limits at scale 1. SA-Global was sized long ago and sits well above
# the knee: it does not protect the backend (the throttling advice must go lower).
SA_GLOBAL_PM = 40
SA_PER_APP_PM = 15
# The flash sale: consumer demand on orders/payments multiplies by this at its peak.
INCIDENT_MULTIPLIER = 10.0
INCIDENT_START_S = 17 * 3600 + 40 * 60
INCIDENT_RAMP_S, INCIDENT_HOLD_S, INCIDENT_DECAY_S = 20 * 60, 55 * 60, 30 * 60
# The scraper: nightly crawls and one daytime run (UTC seconds of day, requests/s at scale 1).
SCRAPER_NIGHTLY = (2 * 3600, 5 * 3600, 0.19)
SCRAPER_RUN = (9 * 3600, 12 * 3600 + 30 * 60, 0.60)


def client_id_of(app: str) -> str:
    """The app's consumer key: 32 alphanumerics, fixed per app name (not per seed)."""
    if app == NOT_SET:
        return NOT_SET
    digest = hashlib.sha256(f"atc-sample:{app}".encode()).digest()
    text = base64.b64encode(digest * 2).decode().replace("+", "").replace("/", "")
    return text[:32]


@dataclass(frozen=True)
class Window:
    """A time window, UTC, end exclusive."""

    start: datetime
    end: datetime

    def ms(self) -> tuple[int, int]:
        """Epoch milliseconds of start and end."""
        return int(self.start.timestamp() * SECOND_MS), int(self.end.timestamp() * SECOND_MS)


@dataclass(frozen=True)
class Backend:
    """The backend with a capacity knee: above ``knee_rps`` latency rises sharply and 5xx appear.

    Load is the mean rate of requests reaching the target over the trailing
    ``load_window_s`` seconds. At the knee median target latency is 1.5x its
    healthy value and about 1% of calls fail with 5xx; below 0.75x of it the
    backend is healthy (docs/throttling.md, 'Capacity knee').
    """

    proxy: str
    target_host: str
    knee_rps: float
    load_window_s: int
    target_timeout_ms: int


@dataclass(frozen=True)
class Incident:
    """The flash sale that pushed the backend past its knee."""

    proxy: str
    window: Window  # from the start of the ramp to the end of the decay
    peak: Window  # the plateau at ``demand_multiplier``
    demand_multiplier: float
    apps: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class AbusiveClient:
    """The scraper: one developer app hammering catalog search and product pages."""

    developer_app: str
    client_id: str
    developer_email: str
    proxy: str
    operations: tuple[str, ...]
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Limit:
    """A throttling policy that already exists on the gateway."""

    policy: str
    kind: str  # SpikeArrest | Quota
    proxy: str | None  # None: attached to every proxy of the apps' products
    identifier: str | None  # flow variable the counter is keyed on
    fault_code: str
    rate: str | None = None  # SpikeArrest rate, e.g. "40pm"
    per_second: float | None = None  # SpikeArrest rate in requests/s
    use_effective_count: bool | None = None
    allow: dict[str, int] = field(default_factory=dict)  # Quota: app -> allowed per interval
    interval: int | None = None
    time_unit: str | None = None


@dataclass(frozen=True)
class Scenario:
    """Everything a sample was generated from, and its ground truth."""

    seed: int
    start: date
    days: int
    scale: float
    expected_rows: int
    organization: str
    environment: str
    proxies: tuple[str, ...]
    apps: dict[str, str]  # developer app -> client_id
    backend: Backend
    incident: Incident
    abusive: AbusiveClient
    limits: tuple[Limit, ...]

    @property
    def start_ms(self) -> int:
        """Epoch ms of the first day's midnight (UTC)."""
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
            * SECOND_MS
        )

    def limit(self, policy: str) -> Limit:
        """The existing limit named ``policy``."""
        return next(lim for lim in self.limits if lim.policy == policy)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (datetimes as ISO-8601 strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _window(midnight: datetime, start_s: int, end_s: int) -> Window:
    return Window(midnight + timedelta(seconds=start_s), midnight + timedelta(seconds=end_s))


def incident_day(days: int) -> int:
    """The day index of the incident: the fourth day (a Thursday by default)."""
    return min(3, days - 1)


def scraper_run_day(days: int) -> int:
    """The day index of the scraper's daytime run: the second day."""
    return min(1, days - 1)


def build_scenario(seed: int, start: date, days: int, scale: float, expected_rows: int) -> Scenario:
    """The ground truth for a sample of ``days`` days from ``start`` at ``scale``."""
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    inc_mid = midnight + timedelta(days=incident_day(days))
    ramp_end = INCIDENT_START_S + INCIDENT_RAMP_S
    hold_end = ramp_end + INCIDENT_HOLD_S
    incident = Incident(
        proxy="orders",
        window=_window(inc_mid, INCIDENT_START_S, hold_end + INCIDENT_DECAY_S),
        peak=_window(inc_mid, ramp_end, hold_end),
        demand_multiplier=INCIDENT_MULTIPLIER,
        apps=("storefront-web", "shopco-ios", "shopco-android"),
        description="flash sale: order and checkout demand from the consumer apps climbs past "
        "the orders backend's capacity; latency climbs and the backend answers 502/503/504",
    )
    windows = [_window(midnight + timedelta(days=d), *SCRAPER_NIGHTLY[:2]) for d in range(days)]
    windows.append(_window(midnight + timedelta(days=scraper_run_day(days)), *SCRAPER_RUN[:2]))
    abusive = AbusiveClient(
        developer_app=ABUSIVE_APP,
        client_id=client_id_of(ABUSIVE_APP),
        developer_email=next(a.email for a in APPS if a.name == ABUSIVE_APP),
        proxy="catalog",
        operations=("GET /search", "GET /products/{sku}"),
        windows=tuple(sorted(windows, key=lambda w: w.start)),
    )
    orders = next(p for p in PROXIES if p.name == "orders")
    backend = Backend(
        "orders", orders.target_host, round(KNEE_RPS * scale, 4), LOAD_WINDOW_S, 10_000
    )
    return Scenario(
        seed=seed,
        start=start,
        days=days,
        scale=scale,
        expected_rows=expected_rows,
        organization=ORGANIZATION,
        environment=ENVIRONMENT,
        proxies=tuple(p.name for p in PROXIES),
        apps={a.name: client_id_of(a.name) for a in APPS if a.name != NOT_SET},
        backend=backend,
        incident=incident,
        abusive=abusive,
        limits=_limits(scale),
    )


def _spike_arrest(
    policy: str, proxy: str, identifier: str | None, nominal_pm: int, scale: float
) -> Limit:
    per_minute = max(1, round(nominal_pm * scale))
    return Limit(
        policy,
        "SpikeArrest",
        proxy,
        identifier,
        SPIKE_ARREST_FAULT,
        rate=f"{per_minute}pm",
        per_second=per_minute / 60,
        use_effective_count=True,
    )


def _limits(scale: float) -> tuple[Limit, ...]:
    quotas = {a.name: max(1, round(a.quota_per_hour * scale)) for a in APPS if a.quota_per_hour}
    return (
        _spike_arrest("SA-Global", "orders", None, SA_GLOBAL_PM, scale),
        _spike_arrest("SA-PerApp", "catalog", "client_id", SA_PER_APP_PM, scale),
        Limit(
            "Q-PerApp",
            "Quota",
            None,
            "client_id",
            QUOTA_FAULT,
            allow=quotas,
            interval=1,
            time_unit="hour",
        ),
    )
