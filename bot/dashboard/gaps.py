"""The knowledge-gaps page's figures: each gap's counts over time and its chart of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from markupsafe import Markup

from bot.dashboard.charts import sparkline
from bot.dashboard.formats import Formats

__all__ = ["over_time"]


def _buckets(start: dt.date, end: dt.date) -> tuple[str, list[dt.date]]:
    """The step ("day", "week" or "month") a period is counted in, and each step's first day."""
    days = (end - start).days
    if days <= 31:
        return "day", [start + dt.timedelta(days=n) for n in range(days + 1)]
    if days <= 183:
        monday = start - dt.timedelta(days=start.weekday())
        return "week", [monday + dt.timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]
    firsts, month = [], start.replace(day=1)
    while month <= end:
        firsts.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return "month", firsts


def over_time(
    days: Mapping[dt.date, int], start: dt.datetime, end: dt.datetime, fmt: Formats
) -> Markup:
    """A small chart of ``days`` counted per day, week or month of the period."""
    first = start.astimezone(dt.UTC).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    step, firsts = _buckets(first, last)
    counts = [0] * len(firsts)
    for day, number in days.items():
        earlier = [i for i, begin in enumerate(firsts) if begin <= day]
        counts[earlier[-1] if earlier else 0] += number
    labels = [
        fmt.day(begin) if step == "day" else f"{step} of {fmt.day(begin)}" for begin in firsts
    ]
    return sparkline(list(zip(labels, counts, strict=True)), f"Questions per {step}")
