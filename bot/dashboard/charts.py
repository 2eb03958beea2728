"""Charts drawn on the server as inline SVG, so the dashboard needs no script and no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["horizontal_bars", "weekly_chart"]

BAR = "#3b6ea5"
LINE = "#c0504d"
FULL = "#b8860b"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def weekly_chart(weeks: Sequence[tuple[str, int, float | None]], title: str) -> Markup:
    """Questions per week as bars, median first response (hours) as a line on its own scale."""
    width, height, left, right, top, bottom = 640, 240, 40, 50, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max([asked for _, asked, _ in weeks] + [1])
    longest = max([h for _, _, h in weeks if h is not None] + [1.0])
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{most}</text>',
        f'<text x="{left + plot_w + 6}" y="{top + 4}" font-size="11" fill="{LINE}">'
        f"{longest:g} h</text>",
    ]
    step = plot_w / max(len(weeks), 1)
    points = []
    for index, (label, asked, hours) in enumerate(weeks):
        x = left + index * step
        bar_h = plot_h * asked / most
        body.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{bar_h:.1f}" fill="{BAR}">'
            f"<title>{escape(label)}: {asked}</title></rect>"
        )
        body.append(
            f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label[5:])}</text>'
        )
        if hours is not None:
            points.append((x + step / 2, top + plot_h - plot_h * hours / longest, hours))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
        for x, y, hours in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}">'
                f"<title>{hours:g} h</title></circle>"
            )
    body.append(
        f'<text x="{left}" y="{height - 6}" font-size="11"><tspan fill="{BAR}">■ questions'
        f'</tspan> <tspan fill="{LINE}">● median first response (hours)</tspan></text>'
    )
    return _svg(width, height, title, body)


def horizontal_bars(
    items: Sequence[tuple[str, float, str]], scale: float, title: str, limit: float | None = None
) -> Markup:
    """One bar per (label, value, shown text), ``scale`` wide; ``limit`` marks a full mark."""
    row, label_w, width = 22, 150, 640
    plot_w = width - label_w - 70
    height = max(row * len(items), row) + 10
    body = []
    for index, (label, value, text) in enumerate(items):
        y = 5 + index * row
        bar_w = plot_w * min(value, scale) / scale if scale else 0
        full = limit is not None and value >= limit
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w:.1f}" height="{row - 8}" '
            f'fill="{FULL if full else BAR}"/>'
            f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 14}" font-size="12">{escape(text)}</text>'
        )
    return _svg(width, height, title, body)
