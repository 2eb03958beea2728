"""The few things a coordinator should look at first, ranked, and their wording."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from babel import Locale

from handlers.stats.figures import Report

__all__ = ["Warning", "render_warning", "top_warnings"]

# Below this share of first responses on time, the on-time rate is a warning.
ON_TIME_TARGET = 0.8


@dataclass(frozen=True)
class Warning:
    """One warning: its kind and the values its sentence needs."""

    kind: str  # overdue | at_capacity | late | no_expert
    values: dict[str, object] = field(default_factory=dict)


def top_warnings(report: Report, limit: int = 3) -> list[Warning]:
    """The ``limit`` most important warnings: overdue, overload, lateness, coverage gaps."""
    found: list[Warning] = []
    if report.overall.overdue_now:
        found.append(Warning("overdue", {"count": report.overall.overdue_now}))
    for load in report.loads:
        if load.load >= load.capacity:
            found.append(
                Warning(
                    "at_capacity",
                    {"name": load.name, "load": load.load, "capacity": load.capacity},
                )
            )
    rate = report.overall.first_response_on_time_rate
    if rate is not None and rate < ON_TIME_TARGET:
        found.append(Warning("late", {"percent": round(rate * 100)}))
    if report.coverage is not None:
        for topic, language, _asked in report.coverage.gaps()[:limit]:
            found.append(Warning("no_expert", {"topic": topic, "language": language}))
    return found[:limit]


def english(message: str, **values: object) -> str:
    """The untranslated sentence, for the command line and the dashboard."""
    return message.format(**values)


def english_counted(singular: str, plural: str, n: int, **values: object) -> str:
    """The untranslated counted sentence in its English form for ``n``."""
    return (singular if n == 1 else plural).format(**values)


def english_name(code: str) -> str:
    """A language's English name (``el`` → Greek)."""
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (ValueError, TypeError):
        return code


def render_warning(
    warning: Warning,
    t: Callable[..., str] = english,
    language_name: Callable[[str], str] = english_name,
    topic_name: Callable[[str], str] = str,
    tn: Callable[..., str] = english_counted,
) -> str:
    """The warning as a sentence; ``t`` and ``tn`` translate (literal messages, for extraction)."""
    v = warning.values
    if warning.kind == "overdue":
        return t("Questions overdue now: {count}", count=v["count"])
    if warning.kind == "at_capacity":
        load = int(str(v["load"]))
        return tn(
            "{name} is at capacity: {load} open question, maximum {capacity}",
            "{name} is at capacity: {load} open questions, maximum {capacity}",
            load,
            name=v["name"],
            load=v["load"],
            capacity=v["capacity"],
        )
    if warning.kind == "late":
        return t("Only {percent}% of first responses were on time", percent=v["percent"])
    return t(
        "No {speakers}-speaking expert for {topic}",
        speakers=language_name(str(v["language"])),
        topic=topic_name(str(v["topic"])),
    )
