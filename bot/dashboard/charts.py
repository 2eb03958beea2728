"""Charts drawn on the server as inline SVG, so the dashboard needs no script and no network.

Every chart scales to its card (a viewBox, no fixed width), so it fits a phone as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "Week", "horizontal_bars", "nice_ceiling", "sparkline", "weekly_chart"]

BAR = "#3b6ea5"
LIGHT = "#9cc0e4"
LINE = "#c0504d"
FULL = "#b8860b"
GRID = "#e3e6ea"
# Bars never grow wider than this, so a week or two of data is not one block across the card.
WIDEST_BAR = 28
# Week labels under the axis: at most this many, evenly spaced.
MOST_LABELS = 8


@dataclass(frozen=True)
class Week:
    """One week of the weekly chart; ``hours`` is the median first response, if any."""

    label: str
    asked: int
    hours: float | None
    hours_text: str = ""


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: ``part`` of ``value`` drawn lighter, first."""

    label: str
    value: float
    text: str
    part: float = 0.0


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if value <= m * power + 1e-9)


def _svg(width: int, height: int, title: str, body: list[str], kind: str = "chart") -> Markup:
    # A chart fills its card's width (CSS); a sparkline keeps its own size.
    if kind == "spark":
        size = f' width="{width}" height="{height}"'
    else:
        size = f' style="max-width: {width * 5 // 4}px"'
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"{size} '
        f'class="{kind}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def weekly_chart(weeks: Sequence[Week], title: str) -> Markup:
    """Questions per week as bars, the median first response as dots on its own scale.

    Bars keep a bounded width and a rounded scale with grid lines, so one week of data
    reads as one week; dots are ringed in white so they stay visible on a bar.
    """
    width, height, left, right, top, bottom = 640, 250, 46, 54, 16, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    most = nice_ceiling(max([w.asked for w in weeks] + [0]))
    longest = nice_ceiling(max([w.hours for w in weeks if w.hours is not None] + [0.0]))
    base = top + plot_h
    body = []
    for fraction in (0, 0.5, 1):
        y = base - plot_h * fraction
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{"#999" if fraction == 0 else GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_number(most * fraction)}</text>"
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="11" fill="{LINE}">'
            f"{_number(longest * fraction)} h</text>"
        )
    step = plot_w / max(len(weeks), 1)
    bar_w = min(step * 0.7, WIDEST_BAR)
    every = max(1, math.ceil(len(weeks) / MOST_LABELS))
    dots = []
    for index, week in enumerate(weeks):
        middle = left + index * step + step / 2
        bar_h = plot_h * week.asked / most
        body.append(
            f'<rect x="{middle - bar_w / 2:.1f}" y="{base - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{escape(week.label)}: '
            f"{week.asked} questions</title></rect>"
        )
        if index % every == 0:
            body.append(
                f'<text x="{middle:.1f}" y="{base + 15}" text-anchor="middle" font-size="10">'
                f"{escape(week.label)}</text>"
            )
        if week.hours is not None:
            dots.append((index, middle, base - plot_h * week.hours / longest, week))
    # A line joins consecutive weeks only: a week without a response leaves a gap.
    runs: list[list[tuple[float, float]]] = []
    previous = None
    for index, x, y, _ in dots:
        if previous is None or index != previous + 1:
            runs.append([])
        runs[-1].append((x, y))
        previous = index
    for run in runs:
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for _, x, y, week in dots:
        text = week.hours_text or f"{week.hours:g} h"
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{LINE}" stroke="#fff" '
            f'stroke-width="1.5"><title>{escape(week.label)}: median first response '
            f"{escape(text)}</title></circle>"
        )
        if len(weeks) <= 12:
            body.append(
                f'<text x="{x:.1f}" y="{max(y - 9, top + 8):.1f}" text-anchor="middle" '
                f'font-size="10" fill="{LINE}">{escape(text)}</text>'
            )
    body.append(
        f'<text x="{left}" y="{height - 8}" font-size="11"><tspan fill="{BAR}">■ questions '
        f'asked</tspan>  <tspan fill="{LINE}">● median first response (hours)</tspan></text>'
    )
    return _svg(width, height, title, body)


def horizontal_bars(
    items: Sequence[Bar], scale: float, title: str, *, limit: float | None = None, key: str = ""
) -> Markup:
    """One bar per item under its label, ``scale`` wide; ``limit`` marks full bars.

    Labels sit above their bars, so the chart stays narrow enough to read on a phone.
    """
    row, width, left = 40, 480, 4
    plot_w = width - 2 * left
    height = max(row * len(items), row) + (24 if key else 6)
    body = []
    for index, item in enumerate(items):
        y = 4 + index * row
        bar_w = plot_w * min(item.value, scale) / scale if scale else 0
        part_w = plot_w * min(item.part, scale) / scale if scale else 0
        full = limit is not None and item.value >= limit
        body.append(
            f'<text x="{left}" y="{y + 12}" font-size="13"><tspan font-weight="600">'
            f"{escape(item.label)}</tspan> · {escape(item.text)}</text>"
            f'<rect x="{left}" y="{y + 17}" width="{plot_w}" height="14" fill="{GRID}"/>'
            f'<rect x="{left}" y="{y + 17}" width="{bar_w:.1f}" height="14" '
            f'fill="{FULL if full else BAR}"/>'
        )
        if part_w:
            body.append(
                f'<rect x="{left}" y="{y + 17}" width="{part_w:.1f}" height="14" fill="{LIGHT}"/>'
            )
    if key:
        body.append(f'<text x="{left}" y="{height - 6}" font-size="11">{escape(key)}</text>')
    return _svg(width, height, title, body)


def sparkline(counts: Sequence[tuple[str, int]], title: str) -> Markup:
    """A small bar per (period label, count), the same height scale for the whole line."""
    width, height, gap = 4 * max(len(counts), 1) + 2, 24, 1
    most = max([n for _, n in counts] + [1])
    body = [f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#bbb"/>']
    for index, (label, number) in enumerate(counts):
        bar_h = (height - 2) * number / most
        body.append(
            f'<rect x="{1 + index * 4}" y="{height - 1 - bar_h:.1f}" width="{4 - gap}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{escape(label)}: {number}</title></rect>'
        )
    return _svg(width, height, title, body, "spark")
