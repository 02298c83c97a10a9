"""CSV downloads of the statistics tables and the JSON the API returns."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from service.i18n import gettext as _
from service.stats.figures import Report, Share
from service.stats.period import StatsQuery
from service.stats.shown import in_export
from service.stats.tables import Table


def csv_text(table: Table, query: StatsQuery) -> str:
    """The table with a header naming the period and filters; units go in the column names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    params = query.as_params()
    writer.writerow([f"# {table.title}", f"{params['from']} – {params['to']}"])
    filters = {k: v for k, v in params.items() if k not in ("from", "to")}
    if filters:
        writer.writerow(["#", *(f"{k}={v}" for k, v in sorted(filters.items()))])
    writer.writerow(
        ["#", _("Counts from 1 to 4 are shown as <5; figures resting on so few are left empty.")]
    )
    writer.writerow(table.columns)
    for row in table.rows:
        # A spreadsheet must not take a name starting with "=" (or a tab …) for a formula.
        writer.writerow([_defused(in_export(cell)) for cell in row])
    return out.getvalue()


def _defused(text: str) -> str:
    return (
        "'" + text
        if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text)
        else text
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
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
