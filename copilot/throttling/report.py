"""The throttling advice as data: suggestions, forecasts, exclusions; JSON-ready.

Every :class:`Suggestion` carries its value, the statistics behind it, the
excluded windows that touched it, the replay of history through it, a
confidence, a one- or two-sentence rationale, the current limit it replaces
when known, and a rollout note (dark-launch first: docs/throttling.md,
'Rollout advice', after Stripe's practice; Apigee sets
``ratelimit.<policy>.failed`` when a limit trips even with
``continueOnError="true"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.throttling.abuse import Abusive
from copilot.throttling.current_limit import CurrentLimit
from copilot.throttling.demand import TooTight
from copilot.throttling.forecast import Forecast
from copilot.throttling.health import ExcludedWindow
from copilot.throttling.knee import Knee
from copilot.throttling.options import REJECT_SHARE
from copilot.throttling.retries import RetryStorm
from copilot.throttling.sizing import Impact

SPIKE_ARREST, QUOTA = "spike_arrest", "quota"


@dataclass
class Suggestion:
    """One limit to set (see module docstring)."""

    policy: str  # spike_arrest | quota
    scope: str  # proxy | app | app_default
    policy_name: str
    proxy: str
    app: str | None
    client_id: str | None
    value: dict
    evidence: dict
    replay: Impact
    confidence: str
    rationale: str
    status: str = "ok"  # ok | capacity | abusive | cohort
    conflict: str | None = None
    current: CurrentLimit | None = None
    excluded: list[dict] = field(default_factory=list)
    xml: str | None = None
    condition: str | None = None

    @property
    def target(self) -> str:
        if self.scope == "proxy":
            return self.proxy
        if self.scope == "app_default":
            return f"{self.proxy} · every client"
        return f"{self.proxy} · {self.app}"

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.target}"

    @property
    def rollout(self) -> str:
        return (
            f'Shadow first: deploy {self.policy_name} with continueOnError="true" and watch '
            f"ratelimit.{self.policy_name}.failed for a week; enforce when it matches the replay."
        )

    def value_text(self) -> str:
        if self.policy == SPIKE_ARREST:
            uec = " + UseEffectiveCount" if self.value.get("use_effective_count") else ""
            return f"{self.value['rate']}{uec}"
        v = self.value
        return f"{v['allow']:,} per {v['interval']} {v['time_unit']} ({v['type']})"

    def to_dict(self) -> dict:
        return _clean(
            {
                "id": self.id,
                "target": self.target,
                "scope": self.scope,
                "proxy": self.proxy,
                "app": self.app,
                "client_id": self.client_id,
                "policy": self.policy,
                "policy_name": self.policy_name,
                "value": self.value,
                "value_text": self.value_text(),
                "current": None if self.current is None else self.current.to_dict(),
                "evidence": self.evidence,
                "excluded": self.excluded,
                "replay": self.replay.to_dict(),
                "confidence": self.confidence,
                "status": self.status,
                "conflict": self.conflict,
                "rationale": self.rationale,
                "rollout": self.rollout,
                "condition": self.condition,
                "policy_xml": self.xml,
            }
        )


@dataclass
class ForecastFlag:
    """A forecast that says an API needs throttling next week (decided on its p90 peak),
    or that it will run beyond the highest load ever seen with no knee found."""

    target: str
    kind: str
    peak_rpm: float  # p50 of next week's peak
    limit_rpm: float
    against: str  # knee (lower bound) | current limit | capacity unknown
    p90_rpm: float | None = None
    p99_rpm: float | None = None
    probability: float | None = None  # that next week's peak exceeds limit_rpm

    @classmethod
    def of(cls, fc: Forecast, limit: float, against: str) -> ForecastFlag:
        return cls(
            fc.target, fc.kind, fc.p50, limit, against, fc.p90, fc.p99, fc.probability_above(limit)
        )

    def about(self, kind: str, target: str) -> bool:
        """Whether this flag concerns the forecast ``kind``/``target`` (an app's on any proxy)."""
        if kind != self.kind:
            return False
        return self.target == target if kind == "proxy" else self.target.endswith(f" · {target}")

    def to_dict(self) -> dict:
        unknown = self.against == "capacity unknown"
        return {
            "target": self.target,
            "kind": self.kind,
            "finding": f"capacity unknown beyond {self.limit_rpm:.0f} req/min"
            if unknown
            else "needs throttling next week",
            "forecast_peak_rpm": round(self.peak_rpm, 2),
            "forecast_p90_rpm": _r(self.p90_rpm),
            "forecast_p99_rpm": _r(self.p99_rpm),
            "probability": None if self.probability is None else round(self.probability, 3),
            "against": self.against,
            "limit_rpm": round(self.limit_rpm, 2),
        }


def forecast_dict(f: Forecast, flags: list[ForecastFlag]) -> dict:
    mine = [x.to_dict() for x in flags if x.about(f.kind, f.target)]
    return _clean(
        {
            "target": f.target,
            "kind": f.kind,
            "metric": "busiest minute per hour, legitimate healthy demand (req/min)",
            "method": f.method,
            "backtest": f.backtest,
            "errors": {k: round(v, 3) for k, v in f.errors.items()},
            "errors_spread": {k: round(v, 3) for k, v in f.spread.items()},
            "backtest_horizon_hours": f.horizon,
            "backtest_origins": f.origins,
            "seasonal_naive_mae": _r(f.naive_error),
            "chosen_mae": _r(f.chosen_error),
            "next_week_peak_rpm": round(f.peak, 2),
            "next_week_peak": None if f.interval is None else f.interval.to_dict(),
            "next_week_peak_at": None if f.peak_at is None else f.peak_at.isoformat(),
            "last_week_peak_rpm": round(f.last_week_peak, 2),
            "growth": round(f.growth, 3),
            "needs_throttling_next_week": any(
                x["against"] != "capacity unknown" for x in mine
            ),
            "capacity_unknown": any(x["against"] == "capacity unknown" for x in mine),
            "flags": mine,
            "hourly": [round(float(v), 2) for v in f.values.to_numpy()],
            "hourly_start": f.values.index[0].isoformat() if len(f.values) else None,
        }
    )


@dataclass
class Report:
    """Everything ``atc suggest`` found."""

    records: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    headroom: float
    suggestions: list[Suggestion]
    forecasts: list[Forecast]
    flags: list[ForecastFlag]
    excluded: list[ExcludedWindow]
    knees: list[Knee]
    abusive: list[Abusive]
    too_tight: list[TooTight]
    demand: pd.DataFrame
    current: list  # CurrentPolicy from --bundle
    bundles: dict[str, dict[str, str]]  # proxy -> files of the suggested bundle
    traffic: dict[str, pd.Series]  # proxy -> legit demand per minute (charts)
    notes: list[str] = field(default_factory=list)
    current_replays: list[dict] = field(default_factory=list)  # each bundle limit replayed
    warnings: list[str] = field(default_factory=list)  # about the bundles and their replay
    unmodelled: list[dict] = field(default_factory=list)  # what atc read but does not replay
    retry_storms: list[RetryStorm] = field(default_factory=list)  # retries without backoff

    def suggestion(self, policy: str, target: str) -> Suggestion | None:
        return next(
            (s for s in self.suggestions if s.policy == policy and s.target == target), None
        )

    def to_dict(self) -> dict:
        return _clean(
            {
                "time_range": {
                    "start": None if self.start is None else self.start.isoformat(),
                    "end": None if self.end is None else self.end.isoformat(),
                },
                "headroom": self.headroom,
                "rule": f"a suggestion may reject at most {REJECT_SHARE:.1%} of healthy "
                "legitimate requests",
                "suggestions": [s.to_dict() for s in self.suggestions],
                "forecast": [forecast_dict(f, self.flags) for f in self.forecasts],
                "excluded": [w.to_dict() for w in self.excluded],
                "knees": [k.to_dict() for k in self.knees],
                "abusive_clients": [a.to_dict() for a in self.abusive],
                "retry_storms": [r.to_dict() for r in self.retry_storms],
                "findings": [t.to_dict() for t in self.too_tight]
                + [f.to_dict() for f in self.flags]
                + [r.to_dict() for r in self.retry_storms],
                "demand": self.demand.to_dict("records"),
                "current_policies": [c.to_dict() for c in self.current],
                "current_replays": self.current_replays,
                "warnings": self.warnings,
                "unmodelled": self.unmodelled,
                "notes": self.notes,
            }
        )


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
