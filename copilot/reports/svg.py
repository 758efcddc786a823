"""Inline SVG charts (no scripts, no external references) for the HTML report."""

from __future__ import annotations

from typing import Any

from copilot.reports.escape import html_text

WIDTH, HEIGHT, PAD = 640, 120, 28


def bars(title: str, items: list[tuple[str, float]]) -> str:
    """A horizontal bar chart: one bar per (label, value)."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    row = 18
    height = row * len(items) + 8
    parts = [_open(title, height)]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        width = max(1.0, (WIDTH - 260) * value / top)
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="11">{html_text(label)[:60]}</text>'
            f'<rect x="180" y="{y}" width="{width:.1f}" height="{row - 4}" fill="#4472c4"/>'
            f'<text x="{184 + width:.1f}" y="{y + 12}" font-size="11">{html_text(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line(title: str, points: list[float | None], color: str = "#4472c4") -> str:
    """A line chart of equally spaced values (gaps where a value is missing)."""
    values = [v for v in points if v is not None]
    if not values:
        return ""
    top = max(values) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    coords = [
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}"
        for i, v in enumerate(points)
        if v is not None
    ]
    return (
        _open(title, HEIGHT)
        + f'<text x="{PAD}" y="14" font-size="11">{html_text(title)} (max {html_text(top)})</text>'
        + f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>'
        + f'<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{" ".join(coords)}"/>'
        + "</svg>"
    )


def proxy_charts(proxy: str, hours: list[list[Any]]) -> str:
    """Requests, errors and p95 per hour for one proxy."""
    return "".join(
        [
            line(f"{proxy}: requests per hour", [h[1] for h in hours]),
            line(f"{proxy}: 4xx+5xx per hour", [h[2] for h in hours], "#c0504d"),
            line(f"{proxy}: p95 ms (worst minute of the hour)", [h[3] for h in hours], "#9bbb59"),
        ]
    )


def _open(title: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}"><title>{html_text(title)}</title>'
    )
