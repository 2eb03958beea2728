"""The report as plain tables (header and rows), written as CSV or JSON by every surface."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Sequence

from handlers.stats.backlog import OpenQuestion
from handlers.stats.figures import Figures, Report

__all__ = ["TABLES", "Table", "as_csv", "report_json", "table"]

TABLES = ("figures", "loads", "coverage", "open")


@dataclasses.dataclass(frozen=True)
class Table:
    """A header and rows of plain values."""

    header: list[str]
    rows: list[list[object]]


FIGURE_FIELDS = [f.name for f in dataclasses.fields(Figures)]


def _cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
    return value


def table(name: str, report: Report, backlog: Sequence[OpenQuestion] = ()) -> Table:
    """One of ``TABLES`` for ``report`` (``open`` lists ``backlog``)."""
    if name == "figures":
        header = [report.by or "group", *FIGURE_FIELDS[1:]]
        rows = [["all", *list(report.overall.as_dict().values())[1:]]]
        rows += [[r.key or "(none)", *list(r.as_dict().values())[1:]] for r in report.rows]
        return Table(header, rows)
    if name == "loads":
        header = ["expert", "name", "partner", "load", "capacity", "away"]
        return Table(header, [list(load.as_dict().values()) for load in report.loads])
    if name == "coverage":
        assert report.coverage is not None
        cover = report.coverage
        rows = [
            [topic, *(cover.experts.get((topic, lang), 0) for lang in cover.languages)]
            for topic in cover.topics
        ]
        return Table(["topic", *cover.languages], rows)
    if name == "open":
        header = [f.name for f in dataclasses.fields(OpenQuestion)]
        return Table(header, [[_cell(v) for v in dataclasses.astuple(q)] for q in backlog])
    raise ValueError(f"unknown table {name!r}; use one of {', '.join(TABLES)}")


def as_csv(data: Table) -> str:
    """The table as CSV text (empty cells for missing values)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(data.header)
    for row in data.rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def report_json(report: Report) -> str:
    """The figures, loads and coverage gaps of a report as one JSON document."""
    document = {
        "period": {"from": _cell(report.period.start), "to": _cell(report.period.end)},
        "overall": report.overall.as_dict(),
        "by": report.by,
        "rows": [r.as_dict() for r in report.rows],
        "loads": [load.as_dict() for load in report.loads],
        "coverage_gaps": [
            {"topic": t, "language": lang, "asked": n}
            for t, lang, n in (report.coverage.gaps() if report.coverage else [])
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
