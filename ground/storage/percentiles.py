"""Median and 90th percentile per group in SQL, with the same numbers on SQLite and PostgreSQL.

Both use linear interpolation between the two nearest ranks (PostgreSQL's percentile_cont).
SQLite has no such aggregate, so there the ranks come from window functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

__all__ = ["PERCENTS", "percentiles"]

PERCENTS = (50, 90)

# {group: {column name: {percent: value}}}
Table = dict[object, dict[str, dict[int, float | None]]]


def percentiles(
    session: Session, source: Select[tuple[object, ...]], columns: Sequence[str]
) -> Table:
    """Percentiles of each of ``columns`` of ``source`` (which has a ``grp`` column) per group."""
    rows = source.subquery()
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql(session, rows, columns)
    # One pass: each column gets its own ranking, missing values ranked last.
    ranked_columns = []
    for index, column in enumerate(columns):
        value = rows.c[column]
        ranked_columns += [
            value.label(f"v{index}"),
            func.row_number()
            .over(partition_by=rows.c.grp, order_by=(value.is_(None), value))
            .label(f"rn{index}"),
            func.count(value).over(partition_by=rows.c.grp).label(f"n{index}"),
        ]
    ranked = select(rows.c.grp, *ranked_columns).subquery()
    parts: list[ColumnElement[object]] = []
    for index in range(len(columns)):
        v, rn, n = ranked.c[f"v{index}"], ranked.c[f"rn{index}"], ranked.c[f"n{index}"]
        for percent in PERCENTS:
            # The wanted position, 0-based, is (n - 1) * p / 100: its whole and its remainder.
            whole = (n - 1) * percent // 100
            parts += [
                func.max(case((rn - 1 == whole, v))),
                func.max(case((rn - 1 == whole + 1, v))),
                func.max((n - 1) * percent % 100),
            ]
    table: Table = {}
    for group, *found in session.execute(select(ranked.c.grp, *parts).group_by(ranked.c.grp)):
        cells = iter(found)
        table[group] = {}
        for column in columns:
            cell = table[group][column] = {}
            for percent in PERCENTS:
                low, high, remainder = next(cells), next(cells), next(cells)
                if low is None:
                    cell[percent] = None
                elif not remainder or high is None:
                    cell[percent] = float(low)
                else:
                    cell[percent] = float(low) + (float(high) - float(low)) * remainder / 100
    return table


def _postgresql(session: Session, rows: object, columns: Sequence[str]) -> Table:
    source = rows  # a subquery with a grp column
    parts = [
        func.percentile_cont(percent / 100).within_group(source.c[column])  # type: ignore[attr-defined]
        for column in columns
        for percent in PERCENTS
    ]
    query = select(source.c.grp, *parts).group_by(source.c.grp)  # type: ignore[attr-defined]
    table: Table = {}
    for group, *found in session.execute(query):
        values = iter(found)
        table[group] = {
            column: {
                percent: (None if (v := next(values)) is None else float(v)) for percent in PERCENTS
            }
            for column in columns
        }
    return table
