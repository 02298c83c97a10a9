"""CSV downloads of the statistics tables and the JSON the API returns."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from service.i18n import gettext as _
from service.stats.figures import Report, Share
from service.stats.period import StatsQuery
from service.stats.shown import HIDDEN, in_export
from service.stats.tables import Cell, Table

# For Finnish (and Finland-Swedish) Excel, whatever the page's language: its list separator is
# the semicolon and its decimal separator the comma ("1.5" would open as a date, "1,5" as a
# number), and without a byte order mark it reads UTF-8 as an old code page. Python's csv reads
# the same file with delimiter=";" once the BOM is stripped (or with encoding="utf-8-sig").
CSV_DELIMITER = ";"
BOM = "\ufeff"
# A duration is written in minutes; the unit goes in the header of its column or figure.
_UNITS = {"seconds": "min", "share": "%"}


def csv_text(table: Table, query: StatsQuery) -> str:
    """The table with a header naming the period and filters; units go in the column names."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    params = query.as_params()
    writer.writerow([f"# {table.title}", f"{params['from']} – {params['to']}"])
    filters = {k: v for k, v in params.items() if k not in ("from", "to")}
    if filters:
        writer.writerow(["#", *(f"{k}={v}" for k, v in sorted(filters.items()))])
    writer.writerow(
        ["#", _("Counts from 1 to 4 are shown as <5; figures resting on so few are left empty.")]
    )
    column_units = [
        _unit([row[i] for row in table.rows if i < len(row)]) for i in range(len(table.columns))
    ]
    writer.writerow(
        [_with_unit(name, unit) for name, unit in zip(table.columns, column_units, strict=True)]
    )
    for row in table.rows:
        cells = [
            _defused(_exported(cell)) if cell.kind == "text" else _exported(cell) for cell in row
        ]
        # In a table of figures (name, value) each row has its own unit: it goes after the name.
        unit = _unit(row[1:])
        if row and row[0].kind == "text" and unit and None in column_units[1 : len(row)]:
            cells[0] = _with_unit(cells[0], unit)
        writer.writerow(cells)
    return out.getvalue()


def _unit(cells: list[Cell]) -> str | None:
    """The unit shared by the cells, when they are all of one kind that has one."""
    kinds = {cell.kind for cell in cells}
    return _UNITS.get(kinds.pop()) if len(kinds) == 1 else None


def _with_unit(name: str, unit: str | None) -> str:
    return f"{name} ({unit})" if unit else name


def _exported(cell: Cell) -> str:
    """The export's text (small counts hidden as `in_export` decides), numbers with a decimal
    comma and durations in minutes."""
    shown = in_export(cell)
    if cell.kind in ("text", "count") or shown in ("", HIDDEN):
        return shown
    if cell.kind == "seconds" and isinstance(cell.value, int | float):
        shown = f"{cell.value / 60:.1f}"
    return shown.replace(".", ",")


def _defused(text: str) -> str:
    """A spreadsheet must not take a name starting with "=" (or a tab …) for a formula."""
    return (
        "'" + text
        if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text)
        else text
    )


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _json(value: Any) -> Any:
    if isinstance(value, Share):
        return {"count": value.count, "base": value.base, "value": value.value}
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def report_json(report: Report) -> dict[str, Any]:
    """Exact figures (the API is for coordinators, like the page); seconds as numbers."""
    q = report.query
    demand = report.demand
    return {
        "period": {
            "from": q.period.first.isoformat(),
            "to": q.period.last.isoformat(),
            "timezone": "Europe/Helsinki",
        },
        "filters": {"category": q.category, "channel": q.channel},
        "questions": {
            **{k: v for k, v in asdict(report.questions).items() if k != "within"},
            "within_working_days": _json(report.questions.within),
        },
        "chat": asdict(report.chat),
        "demand": {
            "closed_share": _json(demand.closed_share),
            "staffed_hours": demand.staffed_hours,
            "cells": [
                {"weekday": day, "hour": hour, **asdict(cell)}
                for (day, hour), cell in sorted(demand.cells.items())
            ],
        },
        "referrals": {
            "by_service": [
                {"service_id": sid, "name": name, "count": n}
                for sid, name, n in report.referrals.by_service
            ],
            "by_category": [
                {"category": slug, "count": n} for slug, n in report.referrals.by_category
            ],
        },
        "ratings": {
            "rated": report.ratings.rated,
            "helped": _json(report.ratings.helped),
            "mean_score": report.ratings.mean_score,
            "scored": report.ratings.scored,
            "response": _json(report.ratings.response),
        },
        "staff": [
            {
                "staff_id": p.staff_id,
                "name": p.name,
                "role": p.role,
                "questions_answered": p.questions_answered,
                "chats_handled": p.chats_handled,
                "handle_time": asdict(p.handle_time),
            }
            for p in report.staff
        ],
    }
