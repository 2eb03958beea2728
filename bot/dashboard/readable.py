"""The report as people read it: figures in words with units, and the charts of a breakdown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup

from bot.dashboard.charts import Bar, Week, horizontal_bars, nice_ceiling, weekly_chart
from bot.dashboard.formats import Formats, Names
from handlers.stats.figures import WEEK_ZERO, Figures, Report

__all__ = ["HEADINGS", "ReadableTable", "breakdown_chart", "figures_table", "weeks"]

GROUP_HEADINGS = {
    "partner": "Partner",
    "expert": "Expert",
    "topic": "Topic",
    "language": "Language",
    "channel": "Channel",
    "week": "Week",
}
HEADINGS = (
    "Questions asked",
    "Answered by a fiche (asker confirmed)",
    "Fiches shown, no reply (not counted)",
    "Sent to experts",
    "First response, median",
    "First response, 90th percentile",
    "First response, median in working hours",
    "First responses on time",
    "Resolution, median",
    "Resolutions on time",
    "Reminders / escalations",
    "Open now",
    "Said it helped",
)


@dataclass(frozen=True)
class ReadableTable:
    """A header in words and rows of text; the first column names the group."""

    header: list[str]
    rows: list[list[str]]


def _share(fmt: Formats, part: int, whole: int, rate: float | None) -> str:
    if not whole:
        return "—"
    return f"{fmt.number(part)} of {fmt.number(whole)} ({fmt.percent(rate)})"


def _cells(f: Figures, fmt: Formats) -> list[str]:
    fiches = f"{fmt.number(f.fiche_confirmed)} ({fmt.percent(f.deflection_rate)})"
    open_now = fmt.number(f.open_now)
    if f.overdue_now:
        open_now += f" ({fmt.number(f.overdue_now)} overdue)"
    return [
        fmt.number(f.asked),
        fiches if f.asked else "—",
        fmt.number(f.fiche_unconfirmed),
        fmt.number(f.routed),
        fmt.hours(f.first_response_median_hours),
        fmt.hours(f.first_response_p90_hours),
        fmt.hours(f.first_response_median_work_hours),
        _share(fmt, f.first_response_on_time, f.first_response_due, f.first_response_on_time_rate),
        fmt.hours(f.resolution_median_hours),
        _share(fmt, f.resolution_on_time, f.resolution_due, f.resolution_on_time_rate),
        f"{fmt.number(f.reminders)} / {fmt.number(f.escalations)}",
        open_now,
        _share(fmt, f.helped, f.rated, f.satisfaction),
    ]


def figures_table(report: Report, names: Names, fmt: Formats) -> ReadableTable:
    """The breakdown of ``report`` with every group named and every figure with its unit."""
    by = report.by or ""
    header = [GROUP_HEADINGS.get(by, "Group"), *HEADINGS]
    rows = [["All questions", *_cells(report.overall, fmt)]]
    rows += [[names.group(by, f.key), *_cells(f, fmt)] for f in report.rows]
    return ReadableTable(header, rows)


def weeks(report: Report, fmt: Formats) -> list[Week]:
    """Every week of the report's period, those without questions included, oldest first."""
    found = {f.key: f for f in report.rows}
    start = report.period.start
    monday = WEEK_ZERO + dt.timedelta(weeks=(start - WEEK_ZERO) // dt.timedelta(weeks=1))
    result = []
    while monday < report.period.end:
        f = found.get(f"{monday:%Y-%m-%d}", Figures())
        hours = f.first_response_median_hours
        label = fmt.day(monday.date(), year=False)
        result.append(Week(label, f.asked, hours, fmt.hours(hours) if hours is not None else ""))
        monday += dt.timedelta(weeks=1)
    return result


def _summary(f: Figures, fmt: Formats) -> str:
    """What a bar says: questions asked, median first response and on-time share."""
    parts = [f"{fmt.number(f.asked)} asked"]
    if f.first_response_median_hours is not None:
        parts.append(f"median {fmt.hours(f.first_response_median_hours)}")
    if f.first_response_on_time_rate is not None:
        parts.append(f"{fmt.percent(f.first_response_on_time_rate)} on time")
    return " · ".join(parts)


def breakdown_chart(report: Report, names: Names, fmt: Formats) -> Markup:
    """The chart of a breakdown: weeks over time, any other dimension as one bar a group."""
    if report.by == "week":
        return weekly_chart(weeks(report, fmt), "Questions and median first response per week")
    bars = [
        Bar(
            label=names.group(report.by, f.key),
            value=f.asked,
            part=f.fiche_confirmed,
            text=_summary(f, fmt),
        )
        for f in report.rows
    ]
    heading = GROUP_HEADINGS.get(report.by or "", "group").lower()
    return horizontal_bars(
        bars,
        nice_ceiling(max([f.asked for f in report.rows] + [0])),
        f"Questions asked per {heading}",
        key="Light: answered by a fiche, as the asker confirmed; dark: the rest",
    )
