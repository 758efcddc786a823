"""The throttling advice as sentences and labelled tables: findings, evidence, replay.

Nothing here is JSON: keys become words with their units, rates read
``6/min``, times are UTC, shares are percentages, and a missing value says
what it means ("none found", "not needed") instead of ``None``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pandas as pd

from copilot.dashboard.fmt import number, rate, rpm, share, utc_time
from copilot.dashboard.throttling import in_scope, rates_in_words
from copilot.throttling.report import Report, Suggestion


@dataclass(frozen=True)
class Finding:
    """One thing the advice says, as a sentence; ``level`` is error, warning or info."""

    level: str
    proxy: str
    text: str


def findings(report: Report, chosen: Collection[str] | None = None) -> list[Finding]:
    """Every finding on the chosen proxies, the most urgent first."""
    out = [
        Finding(
            "error", a.proxy, f"Abusive client **{a.app}** on {a.proxy}: {'; '.join(a.reasons)}."
        )
        for a in report.abusive
    ]
    out += [
        Finding(
            "warning", s.proxy, f"Capacity conflict on **{s.target}**: {rates_in_words(s.conflict)}"
        )
        for s in report.suggestions
        if s.conflict
    ]
    out += [Finding("warning", _proxy(f.target), _flag_sentence(f)) for f in report.flags]
    out += [
        Finding(
            "warning",
            t.proxy,
            f"Current limit likely too tight for **{t.app}** on {t.proxy}: "
            f"{', '.join(t.policies)} refused {t.refused:,} of its {t.demand:,} requests "
            f"({share(t.share)}).",
        )
        for t in report.too_tight
    ]
    out += [
        Finding("info", r.proxy, f"Retries without backoff, **{r.app}** on {r.proxy}: {r.advice}")
        for r in report.retry_storms
    ]
    out += [Finding("warning", _warned_proxy(w), rates_in_words(w)) for w in report.warnings]
    out += [
        Finding(
            "info",
            u.get("bundle") or "",
            f"Not modelled from the bundle {u.get('bundle')}"
            f"{' (' + u['policy'] + ')' if u.get('policy') else ''}: {u.get('reason')}",
        )
        for u in report.unmodelled
    ]
    return [f for f in out if chosen is None or not f.proxy or f.proxy in chosen]


def _proxy(target: str) -> str:
    return target.split(" · ", 1)[0]


def _warned_proxy(warning: str) -> str:
    # Warnings read "<bundle>/<policy> on <proxy>: ..."; others concern no one proxy.
    head = warning.split(":", 1)[0]
    return head.rsplit(" on ", 1)[1] if " on " in head else ""


def _flag_sentence(f: Any) -> str:
    p50, p90 = rpm(f.peak_rpm), rpm(f.p90_rpm if f.p90_rpm is not None else f.peak_rpm)
    if f.against == "capacity unknown":
        return (
            f"Capacity unknown beyond {rpm(f.limit_rpm)} on **{f.target}**: next week's forecast "
            f"(p50 {p50}, p90 {p90}) runs past the highest healthy load seen and the logs show "
            "no knee, so nothing shows the backend copes beyond it; load-test it first."
        )
    chance = "" if f.probability is None else f" (chance {f.probability:.0%})"
    return (
        f"**{f.target}** needs throttling next week: its busiest minute may reach {p90} "
        f"(p90; p50 {p50}), over its {f.against} of {rpm(f.limit_rpm)}{chance}."
    )


# Evidence and replay keys: (label, how to write the value); others are labelled from the key.
LABELS: dict[str, str] = {
    "requests": "healthy legitimate requests",
    "per_minute": "requests per minute (p50 · p90 · p99 · max)",
    "per_second": "requests per second (p50 · p90 · p99 · max)",
    "peak_rpm": "busiest minute",
    "peak_at": "busiest minute at",
    "days_seen": "days with traffic",
    "apps_seen": "apps seen",
    "demand": "attempts · refused · retries · real demand",
    "forecast_peak_rpm": "next week's forecast peak",
    "forecast_method": "forecast method",
    "headroom": "headroom on the forecast peak",
    "candidate_rpm": "forecast peak × headroom",
    "knee_rpm": "capacity knee (latency or errors start rising)",
    "knee": "knee finding",
    "knee_cap_rpm": "cap: 0.8 × the knee",
    "least_rate_smoothing_pm": "least rate keeping the 0.1% rule, smoothed",
    "least_rate_effective_count_pm": "least rate keeping the 0.1% rule, UseEffectiveCount",
    "replay_at_knee_cap": "replay at the knee cap",
    "replay_current": "replay of the current limit",
    "own_candidate_rpm": "its own candidate",
    "cohort_rpm": "similar apps' rate",
    "growth": "growth factor",
    "abusive": "abusive client",
    "requests_seen": "requests replayed",
    "rejected": "rejected",
    "legit_healthy_requests": "healthy legitimate requests",
    "legit_healthy_rejected": "healthy legitimate requests rejected",
    "legit_healthy_rejected_share": "share of healthy legitimate requests rejected (rule: ≤ 0.1%)",
    "within_rule": "within the 0.1% rule",
    "legit_rejected_in_excluded_windows": "legitimate requests rejected in excluded windows",
    "abusive_rejected": "abusive clients' requests rejected",
    "clients": "rejected per client",
    "busiest_hours": "hours with the most rejections",
    "first": "first rejection",
    "last": "last rejection",
}
MISSING: dict[str, str] = {
    "knee_rpm": "none found",
    "knee_cap_rpm": "no cap (no knee)",
    "replay_at_knee_cap": "not needed",
    "replay_current": "no current limit known",
    "own_candidate_rpm": "too little traffic of its own",
    "first": "none",
    "last": "none",
}


def _quantiles(value: dict, per: str) -> str:
    return " · ".join(rate(value.get(k), per) for k in ("p50", "p90", "p99", "max"))


def _replay_sentence(value: dict) -> str:
    # A current limit's replay names its policy; the replay at the knee cap names none.
    name = (
        f"{value['policy']} {rates_in_words(str(value.get('value') or ''))}: "
        if value.get("policy")
        else ""
    )
    return (
        f"{name}rejected {int(value.get('rejected') or 0):,}, "
        f"{share(value.get('legit_healthy_rejected_share'), 3)} of healthy legitimate requests"
    )


def cell(key: str, value: Any) -> str:
    """One evidence or replay value in words, by what its key means."""
    if value is None:
        return MISSING.get(key, "–")
    if key in ("per_minute", "per_second"):
        return _quantiles(value, "min" if key == "per_minute" else "s")
    if key == "demand":
        return " · ".join(
            f"{int(value.get(k, 0)):,}" for k in ("attempts", "refused", "retries", "demand")
        )
    if key.startswith("replay_"):
        return _replay_sentence(value) if isinstance(value, dict) else str(value)
    if key == "clients":
        parts = [
            f"{c['app']} {c['rejected']:,}" + (" (abusive)" if c.get("abusive") else "")
            for c in value
        ]
        return ", ".join(parts) or "none"
    if key == "busiest_hours":
        return ", ".join(f"{utc_time(h['hour'])}: {h['rejected']:,}" for h in value[:5]) or "none"
    if key == "headroom":
        return f"× {value:g}"
    if key == "growth":
        return f"× {value:.2f}"
    if key.endswith(("_rpm", "_pm")):
        return rpm(float(value)) if key != "peak_rpm" else rate(float(value))
    if key.endswith("share"):
        return share(value, 3)
    if key.endswith("_at") or key in ("first", "last"):
        return utc_time(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return number(value)
    return str(value).replace("_", " ")


def rows(doc: dict) -> pd.DataFrame:
    """A document (evidence or replay) as a two-column table: what, value."""
    out = [
        {"what": LABELS.get(k, k.replace("_", " ")), "value": cell(k, v)} for k, v in doc.items()
    ]
    return pd.DataFrame(out, columns=["what", "value"])


def evidence(s: Suggestion) -> pd.DataFrame:
    """The statistics behind a suggestion."""
    return rows(s.evidence)


def replay(s: Suggestion) -> pd.DataFrame:
    """What the suggested limit would have refused over the logs."""
    return rows(s.replay.to_dict())


def in_chosen(report: Report, chosen: Collection[str] | None) -> list[str]:
    """The proxies with a proxy-wide suggestion, among the chosen ones."""
    return [s.proxy for s in report.suggestions if s.scope == "proxy" and in_scope(s.proxy, chosen)]
