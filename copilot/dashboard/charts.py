"""Altair building blocks for the dashboard's time charts: UTC, 24-hour, with legends.

Vega-Lite formats times in the browser's zone unless told otherwise; every
time channel here uses a UTC time unit, so ticks, tooltips and captions agree.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from copilot.dashboard.fmt import CHART_TIME_LABEL, CHART_TIME_UNIT, CHART_TOOLTIP_FORMAT


def time_x(field: str = "time", title: str | None = "time (UTC)") -> alt.X:
    """An x channel in UTC: dates at midnight, ``HH:MM`` (24-hour) elsewhere."""
    return alt.X(
        field,
        type="temporal",
        timeUnit=CHART_TIME_UNIT,
        title=title,
        axis=alt.Axis(labelExpr=CHART_TIME_LABEL, labelOverlap=True),
    )


def time_x2(field: str) -> alt.X2:
    return alt.X2(field, timeUnit=CHART_TIME_UNIT)


def time_tooltip(field: str = "time", title: str = "time (UTC)") -> alt.Tooltip:
    return alt.Tooltip(
        field, type="temporal", timeUnit=CHART_TIME_UNIT, title=title, format=CHART_TOOLTIP_FORMAT
    )


def traffic_chart(
    series: pd.DataFrame, windows: pd.DataFrame, field: str, title: str, number_format: str = ""
) -> alt.LayerChart:
    """One metric per proxy over time, with the anomaly windows shaded (and in the legend)."""
    axis = alt.Axis(format=number_format) if number_format else alt.Axis()
    lines = (
        alt.Chart(series)
        .mark_line()
        .encode(
            x=time_x(),
            y=alt.Y(f"{field}:Q", title=title, axis=axis),
            color=alt.Color("proxy:N", title="proxy"),
            tooltip=[
                time_tooltip(),
                alt.Tooltip("proxy:N"),
                alt.Tooltip(f"{field}:Q", title=title, format=number_format or ",.1f"),
            ],
        )
    )
    shaded = (
        alt.Chart(windows.assign(shading="anomaly window"))
        .mark_rect(opacity=0.15)
        .encode(
            x=time_x("start"),
            x2=time_x2("end"),
            fill=alt.Fill(
                "shading:N",
                title=None,
                scale=alt.Scale(range=["red"]),
                legend=alt.Legend(orient="top", symbolOpacity=0.3),
            ),
            tooltip=[
                alt.Tooltip("proxy:N"),
                alt.Tooltip("metric:N"),
                time_tooltip("start", "from (UTC)"),
                time_tooltip("end", "to (UTC)"),
                alt.Tooltip("driven by:N"),
            ],
        )
    )
    return alt.layer(shaded, lines).resolve_scale(color="independent").properties(height=260)


DEMAND, REJECTED = "demand (busiest minute)", "rejected by replay"
SUGGESTED, CURRENT = "suggested limit", "current limit"
_REPLAY_COLORS = {
    DEMAND: "steelblue",
    SUGGESTED: "seagreen",
    CURRENT: "darkorange",
    REJECTED: "crimson",
}


def replay_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Demand, the suggested and current limits (dashed) and the replay's rejections (bars).

    ``frame`` is long: ``time, series, rpm``. One legend names every layer,
    the limit lines and the rejected bars included.
    """
    present = [s for s in _REPLAY_COLORS if s in set(frame["series"])]
    color = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=present, range=[_REPLAY_COLORS[s] for s in present]),
        legend=alt.Legend(orient="top"),
    )
    tooltip = [
        time_tooltip(),
        alt.Tooltip("series:N"),
        alt.Tooltip("rpm:Q", title="req/min", format=",.0f"),
    ]
    lines = (
        alt.Chart(frame[frame["series"] != REJECTED])
        .mark_line()
        .encode(
            x=time_x(),
            y=alt.Y("rpm:Q", title="requests / min"),
            color=color,
            strokeDash=alt.condition(
                alt.datum.series == DEMAND, alt.value([1, 0]), alt.value([6, 3])
            ),
            tooltip=tooltip,
        )
    )
    bars = (
        alt.Chart(frame[frame["series"] == REJECTED])
        .mark_bar(opacity=0.6)
        .encode(x=time_x(), y="rpm:Q", color=color, tooltip=tooltip)
    )
    return alt.layer(bars, lines).properties(height=300)


def forecast_chart(series: pd.DataFrame, band: pd.DataFrame) -> alt.LayerChart:
    """Busiest minute per hour: history, next week's path, and next week's peak interval.

    ``series``: ``time, rpm, part`` (history | next week); ``band``: one row
    ``start, end, p50, p90, p99``. The band (p50 to p90) and the p99 line are in the legend.
    """
    parts = alt.Color(
        "part:N",
        title=None,
        scale=alt.Scale(domain=["history", "next week"], range=["steelblue", "darkorange"]),
        legend=alt.Legend(orient="top"),
    )
    line = (
        alt.Chart(series)
        .mark_line()
        .encode(
            x=time_x(),
            y=alt.Y("rpm:Q", title="busiest minute (req/min)"),
            color=parts,
            tooltip=[time_tooltip(), alt.Tooltip("part:N"), alt.Tooltip("rpm:Q", format=",.1f")],
        )
    )
    marks = band.assign(interval="next week's peak, p50 to p90", tail="next week's peak, p99")
    shade, p99 = _peak_band(marks), _peak_p99(marks)
    return (
        alt.layer(shade, p99, line)
        .resolve_scale(color="independent", fill="independent", stroke="independent")
        .properties(height=260)
    )


def _peak_band(marks: pd.DataFrame) -> alt.Chart:
    """Next week's peak, p50 to p90, as a shaded band."""
    return (
        alt.Chart(marks)
        .mark_rect(opacity=0.2)
        .encode(
            x=time_x("start"),
            x2=time_x2("end"),
            y="p50:Q",
            y2="p90:Q",
            fill=alt.Fill(
                "interval:N",
                title=None,
                scale=alt.Scale(range=["crimson"]),
                legend=alt.Legend(orient="top", symbolOpacity=0.3, labelLimit=400),
            ),
            tooltip=[alt.Tooltip("p50:Q", format=",.0f"), alt.Tooltip("p90:Q", format=",.0f")],
        )  # fmt: skip
    )


def _peak_p99(marks: pd.DataFrame) -> alt.Chart:
    """Next week's peak p99, as a dashed rule."""
    return (
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 4])
        .encode(
            x=time_x("start"),
            x2=time_x2("end"),
            y="p99:Q",
            stroke=alt.Stroke(
                "tail:N",
                title=None,
                scale=alt.Scale(range=["crimson"]),
                legend=alt.Legend(
                    orient="top", symbolDash=[4, 4], symbolType="stroke", labelLimit=400
                ),
            ),
            tooltip=[alt.Tooltip("p99:Q", format=",.0f")],
        )  # fmt: skip
    )
