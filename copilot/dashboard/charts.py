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
