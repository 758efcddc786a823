"""The Throttling page's view model: the advice as tables and sentences people read.

Rates read ``23/min`` or ``13/s``, never Apigee's ``23pm``. Every estimate in
requests per minute (a forecast peak, a knee, a limit) is written by one rule,
:func:`copilot.dashboard.fmt.rpm` (whole requests per minute, as the advice's
rationale writes them), so a number reads the same in the rationale, the
evidence and the forecast table. Every function takes the proxies the page's
filter chose: the filter applies to every number on the page.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import pandas as pd

from copilot.dashboard.columns import (
    EXCLUDED_COLUMNS,
    FORECAST_COLUMNS,
    NUMBER_FORMATS,
    REPLAY_COLUMNS,
    STORM_COLUMNS,
    SUGGESTION_COLUMNS,
)
from copilot.dashboard.fmt import policy_rate, rounded, rpm, utc_time
from copilot.throttling.report import SPIKE_ARREST, Report, Suggestion

POLICY = {"spike_arrest": "SpikeArrest", "quota": "Quota"}
STATUS = {
    "ok": "ok",
    "capacity": "capacity conflict",
    "abusive": "abusive client",
    "cohort": "sized from similar apps",
}
QUOTA_TYPE = {"rollingwindow": "rolling window", "calendar": "calendar", "flexi": "flexi"}
_APIGEE_RATE = re.compile(r"\b\d+(?:\.\d+)?p[ms]\b")
_FROM_REF = re.compile(r"from (\S+) \(fallback (\S+)\)")
_RATE_REF = re.compile(r"\(ref (\S+)\)")
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def in_scope(proxy: str, chosen: Collection[str] | None) -> bool:
    """Whether ``proxy`` is among the chosen ones (None: every proxy)."""
    return chosen is None or proxy in chosen


def _proxy_of(target: str) -> str:
    return target.split(" · ", 1)[0]


def rates_in_words(text: str) -> str:
    """A bundle's limit text with Apigee rates as ``6/min`` and flow-variable values explained."""
    text = _APIGEE_RATE.sub(lambda m: policy_rate(m.group(0)), text)
    text = _FROM_REF.sub(r"set at run time by flow variable \1 (\2 if it is unset)", text)
    text = _RATE_REF.sub(r"(set at run time by flow variable \1)", text)
    return _BRACKETS.sub(r"(\1)", text)


def rationale(s: Suggestion) -> str:
    """The advice's rationale with its rates per unit (``34pm`` reads ``34/min``)."""
    return rates_in_words(s.rationale)


def suggested_text(s: Suggestion) -> str:
    """``23/min, UseEffectiveCount`` or ``150 per 1 hour (rolling window)``."""
    if s.policy == SPIKE_ARREST:
        uec = ", UseEffectiveCount" if s.value.get("use_effective_count") else ""
        return f"{policy_rate(s.value['rate'])}{uec}"
    v = s.value
    kind = QUOTA_TYPE.get(v["type"], v["type"])
    return f"{v['allow']:,} per {v['interval']} {v['time_unit']} ({kind})"


def current_text(s: Suggestion) -> str:
    """The limit in force now, in words; says why when its value is not known."""
    cur = s.current
    if cur is None:
        return "none seen"
    if cur.source == "bundle":
        text = f"{cur.policy}: {rates_in_words(cur.value or '')}"
        if cur.allow_inferred:
            text += f"; about {cur.allow_inferred:,} per hour by the logs' refusals"
        return text
    names = ", ".join(cur.policies)
    if cur.allow_inferred:
        return f"{names}: about {cur.allow_inferred:,} per hour, inferred from its refusals"
    return f"{names}: refused {cur.refused:,} requests here; its value is not in the logs"


CURRENT_NOTE = (
    "Current: the limit in force now, read from the proxy bundle given in the sidebar. "
    "Without a bundle, the logs name the policies that refused requests but not their values "
    '("its value is not in the logs"): give the bundle to read them. A bundle policy whose '
    "value comes from a flow variable (e.g. the API product's quota) is set at run time; the "
    "value shown is the literal it falls back to."
)


def suggestions(report: Report, chosen: Collection[str] | None = None) -> pd.DataFrame:
    """One row per suggestion on the chosen proxies: what is set now, what to set, the evidence."""
    rows = []
    for s in report.suggestions:
        if not in_scope(s.proxy, chosen):
            continue
        ev = s.evidence
        per_minute = ev.get("per_minute") or {}
        rows.append(
            {
                "target": s.target,
                "policy": POLICY[s.policy],
                "current": current_text(s),
                "suggested": suggested_text(s),
                "confidence": s.confidence,
                "status": STATUS.get(s.status, s.status),
                "replay rejects": int(s.replay.rejected),
                "legit rejected": float(s.replay.share),
                "abusive rejected": int(s.replay.abusive_rejected),
                # Numbers (None: not measured) so the columns sort as numbers; the page's
                # column formats add the unit (copilot.dashboard.columns.NUMBER_FORMATS).
                "busiest minute": rounded(ev.get("peak_rpm")),
                "p99 minute": rounded(per_minute.get("p99")),
                "days seen": ev.get("days_seen") or None,
                "rationale": rationale(s)
                + (f" ⚠ {rates_in_words(s.conflict)}" if s.conflict else ""),
            }
        )
    return _typed(pd.DataFrame(rows, columns=list(SUGGESTION_COLUMNS)), "suggestions")


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` with its numeric columns as numbers even when empty (whole counts as Int64)."""
    formats = NUMBER_FORMATS[table]
    return frame.astype({c: "Int64" if f == "%d" else "float64" for c, f in formats.items()})


def headline(report: Report, chosen: Collection[str] | None = None) -> dict[str, int]:
    """Counts for the metric row, on the chosen proxies."""
    mine = [s for s in report.suggestions if in_scope(s.proxy, chosen)]
    return {
        "suggestions": len(mine),
        "conflicts": sum(1 for s in mine if s.conflict),
        "abusive": sum(1 for a in report.abusive if in_scope(a.proxy, chosen)),
        "excluded": sum(1 for w in report.excluded if in_scope(w.proxy, chosen)),
        "flags": sum(1 for f in report.flags if in_scope(_proxy_of(f.target), chosen)),
    }


def forecast(report: Report, chosen: Collection[str] | None = None) -> pd.DataFrame:
    """Next week's busiest minute per series on the chosen proxies, with its interval and flags."""
    rows = []
    for f in report.forecasts:
        if not _forecast_in_scope(report, f.kind, f.target, chosen):
            continue
        mine = [x for x in report.flags if x.about(f.kind, f.target)]
        rows.append(
            {
                "series": f"{f.kind}: {f.target}",
                # Whole from 1/min, as rpm() writes them in the rationale and evidence.
                "last week": rounded(f.last_week_peak, whole_from=1),
                "next week peak": rounded(f.peak, whole_from=1),
                "p50": rounded(f.p50, whole_from=1),
                "p90": rounded(f.p90, whole_from=1),
                "p99": rounded(f.p99, whole_from=1),
                "method": f.method.replace("_", " "),
                "backtest": f"{f.origins} origin(s), {f.horizon} h ahead",
                "finding": "; ".join(_flag_text(x) for x in mine) or "within limits",
            }
        )
    return _typed(pd.DataFrame(rows, columns=list(FORECAST_COLUMNS)), "forecast")


def _forecast_in_scope(
    report: Report, kind: str, target: str, chosen: Collection[str] | None
) -> bool:
    if chosen is None:
        return True
    if kind == "proxy":
        return target in chosen
    return any(s.app == target and s.proxy in chosen for s in report.suggestions)


def _flag_text(x: Any) -> str:
    if x.against == "capacity unknown":
        return f"capacity unknown beyond {rpm(x.limit_rpm)}"
    chance = "" if x.probability is None else f", chance {x.probability:.0%}"
    return f"p90 over the {x.against} {rpm(x.limit_rpm)}{chance}"


def forecast_targets(report: Report, chosen: Collection[str] | None = None) -> list[str]:
    """The forecast series on the chosen proxies, as ``kind: target``."""
    return [
        f"{f.kind}: {f.target}"
        for f in report.forecasts
        if _forecast_in_scope(report, f.kind, f.target, chosen)
    ]


def current_replays(report: Report, chosen: Collection[str] | None = None) -> pd.DataFrame:
    """Each limit of the given bundle replayed over the logs (chosen proxies)."""
    rows = [
        {
            "policy": f"{r['bundle']}/{r['policy']}",
            "proxy": r.get("proxy") or r["bundle"],
            "kind": r["kind"],
            "value": rates_in_words(str(r.get("value") or "")),
            "replayed": int(r.get("rows") or 0),
            "not replayed": int(r.get("unknown_rows") or 0),
            "rejected": int(r.get("rejected") or 0),
            "legit rejected": float(r.get("legit_healthy_rejected_share") or 0.0),
            "notes": "; ".join(r.get("notes") or []) or "–",
        }
        for r in report.current_replays
        if in_scope(r.get("proxy") or r["bundle"], chosen)
    ]
    return pd.DataFrame(rows, columns=list(REPLAY_COLUMNS))


# The retry-storm columns shown as they are (label -> RetryStorm field).
_STORM_COUNTS = {
    "proxy": "proxy", "app": "app", "attempts": "attempts", "refused": "refused",
    "real demand": "demand",
}  # fmt: skip


def retry_storms(report: Report, chosen: Collection[str] | None = None) -> pd.DataFrame:
    """Clients retrying refused requests without backoff (chosen proxies)."""
    rows = [
        {
            **{label: getattr(r, name) for label, name in _STORM_COUNTS.items()},
            "busiest minute (attempts)": rounded(r.attempts_peak_rpm),
            "busiest minute (demand)": rounded(r.demand_peak_rpm),
            "median wait after a refusal": rounded(r.median_gap_ms / 1000),
            "advice": r.advice,
        }
        for r in report.retry_storms
        if in_scope(r.proxy, chosen)
    ]
    return _typed(pd.DataFrame(rows, columns=list(STORM_COLUMNS)), "retry_storms")


def excluded(report: Report, chosen: Collection[str] | None = None) -> pd.DataFrame:
    """Windows left out of the statistics (chosen proxies), times in UTC."""
    rows = [
        {
            "proxy": w.proxy,
            "kind": w.kind,
            "from": utc_time(w.start),
            "until": utc_time(w.end),
            "minutes": int(w.minutes),
            "requests": int(w.requests),
            "reason": w.reason,
        }
        for w in report.excluded
        if in_scope(w.proxy, chosen)
    ]
    return pd.DataFrame(rows, columns=list(EXCLUDED_COLUMNS))


def forecast_band(report: Report, label: str) -> pd.DataFrame:
    """``start, end, p50, p90, p99`` over next week for one forecast label (``kind: target``)."""
    kind, _, target = label.partition(": ")
    f = next((x for x in report.forecasts if x.kind == kind and x.target == target), None)
    if f is None or not len(f.values):
        return pd.DataFrame(columns=["start", "end", "p50", "p90", "p99"])
    return pd.DataFrame(
        [{"start": f.values.index[0], "end": f.values.index[-1], "p50": f.p50, "p90": f.p90,
          "p99": f.p99}]
    )  # fmt: skip
