"""View models of the Throttling page: plain DataFrames and bytes, tested here, not in the UI."""

from __future__ import annotations

import pandas as pd

from copilot.throttling.policies_xml import zip_bundles
from copilot.throttling.report import Report, Suggestion

RESOLUTIONS = {"1 min": "1min", "5 min": "5min", "15 min": "15min", "1 hour": "1h"}


def headline(report: Report) -> dict[str, int]:
    """Counts for the metric row."""
    return {
        "suggestions": len(report.suggestions),
        "conflicts": sum(1 for s in report.suggestions if s.conflict),
        "abusive": len(report.abusive),
        "excluded": len(report.excluded),
        "flags": len(report.flags),
    }


def _current(s: Suggestion) -> str:
    cur = s.current or {}
    if cur.get("value"):
        return f"{cur.get('policy', '')} {cur['value']}".strip()
    names = [p["policy"] for p in cur.get("policies", [])] or [cur.get("policy")]
    names = [n for n in names if n]
    return f"{', '.join(names)} (value unknown)" if names else "—"


def suggestions_table(report: Report) -> pd.DataFrame:
    """One row per suggestion with the evidence a reviewer reads first."""
    rows = []
    for s in report.suggestions:
        ev = s.evidence
        per_minute = ev.get("per_minute") or {}
        rows.append(
            {
                "target": s.target,
                "policy": s.policy,
                "current": _current(s),
                "suggested": s.value_text(),
                "confidence": s.confidence,
                "status": s.status,
                "replay rejects": s.replay.rejected,
                "legit rejected": s.replay.share,
                "abusive rejected": s.replay.abusive_rejected,
                "peak/min": ev.get("peak_rpm"),
                "p99/min": per_minute.get("p99"),
                "days": ev.get("days_seen"),
                "rationale": s.rationale + (f" ⚠ {s.conflict}" if s.conflict else ""),
            }
        )
    return pd.DataFrame(rows)


def proxies(report: Report) -> list[str]:
    return [s.proxy for s in report.suggestions if s.scope == "proxy"]


def proxy_chart(report: Report, proxy: str, resolution: str = "5min") -> pd.DataFrame:
    """Long frame ``time, series, rpm`` for one proxy: legitimate demand (busiest minute of
    each bucket), the current and suggested limits, and what the replay rejected per minute."""
    traffic = report.traffic.get(proxy)
    s = report.suggestion("spike_arrest", proxy)
    if traffic is None or s is None or traffic.empty:
        return pd.DataFrame(columns=["time", "series", "rpm"])
    peak = traffic.resample(resolution).max()
    frames = [pd.DataFrame({"time": peak.index, "series": "demand (busiest minute)", "rpm": peak})]
    rejected = s.replay.per_minute.resample(resolution).max() if len(s.replay.per_minute) else None
    if rejected is not None:
        rejected = rejected.reindex(peak.index, fill_value=0).fillna(0)
        frames.append(
            pd.DataFrame({"time": peak.index, "series": "rejected by replay", "rpm": rejected})
        )
    limits = {"suggested limit": s.value.get("per_minute")}
    current = (s.current or {}).get("per_minute")
    if current:
        limits["current limit"] = current
    for name, value in limits.items():
        frames.append(pd.DataFrame({"time": peak.index, "series": name, "rpm": float(value)}))
    out = pd.concat(frames, ignore_index=True)
    out["rpm"] = out["rpm"].astype(float)
    return out


def excluded_table(report: Report, proxy: str | None = None) -> pd.DataFrame:
    rows = [w.to_dict() for w in report.excluded if proxy in (None, w.proxy)]
    cols = ["proxy", "kind", "start", "end", "minutes", "requests", "reason"]
    return pd.DataFrame(rows, columns=[*cols, "app", "client_id"])[cols]


def forecast_table(report: Report) -> pd.DataFrame:
    rows = [
        {
            "kind": f.kind,
            "target": f.target,
            "method": f.method,
            "seasonal naive MAE": f.naive_error,
            "chosen MAE": f.chosen_error,
            "last week peak": round(f.last_week_peak, 1),
            "next week peak": round(f.peak, 1),
            "needs throttling": any(x.about(f.kind, f.target) for x in report.flags),
        }
        for f in report.forecasts
    ]
    return pd.DataFrame(rows)


def forecast_targets(report: Report) -> list[str]:
    return [f"{f.kind}: {f.target}" for f in report.forecasts]


def forecast_chart(report: Report, label: str) -> pd.DataFrame:
    """``time, rpm, part`` (history | forecast) for one forecast label (``kind: target``)."""
    kind, _, target = label.partition(": ")
    f = next((x for x in report.forecasts if x.kind == kind and x.target == target), None)
    if f is None:
        return pd.DataFrame(columns=["time", "rpm", "part"])
    history = pd.DataFrame(
        {"time": f.history.index, "rpm": f.history.to_numpy(), "part": "history"}
    )
    ahead = pd.DataFrame({"time": f.values.index, "rpm": f.values.to_numpy(), "part": "next week"})
    return pd.concat([history, ahead], ignore_index=True)


def policies_zip(report: Report) -> bytes:
    """Every suggested proxy bundle in one zip."""
    return zip_bundles(report.bundles)


def policy_files(report: Report, proxy: str) -> dict[str, str]:
    return report.bundles.get(proxy, {})
