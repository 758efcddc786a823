"""View models of the Throttling page: plain DataFrames and bytes, tested here, not in the UI."""

from __future__ import annotations

import pandas as pd

from copilot.dashboard.fmt import RESOLUTIONS  # noqa: F401 - the pages read it here
from copilot.throttling.policies_bundle import zip_bundles
from copilot.throttling.report import Report


def proxies(report: Report) -> list[str]:
    """The proxies with a suggestion, in the report's order (busiest first)."""
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
    if s.current is not None and s.current.per_minute:
        limits["current limit"] = s.current.per_minute
    for name, value in limits.items():
        frames.append(pd.DataFrame({"time": peak.index, "series": name, "rpm": float(value)}))
    out = pd.concat(frames, ignore_index=True)
    out["rpm"] = out["rpm"].astype(float)
    return out


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
