"""Chart geometry for server-drawn SVG: bars and a weekday × hour heatmap. The markup is in
web/templates/coordinator/_charts.html; every chart also gets a sentence for screen readers
and sits beside its table."""

from __future__ import annotations

from dataclasses import dataclass

from service.i18n import gettext as _
from service.stats.tables import Cell, Table

LEVELS = 5
LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, BAR_GAP = 230, 360, 22, 8
CELL, HEAT_LEFT, HEAT_TOP = 26, 44, 22


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    description: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH


@dataclass(frozen=True)
class HeatCell:
    x: int
    y: int
    level: int
    text: str


@dataclass(frozen=True)
class Heatmap:
    key: str
    title: str
    description: str
    cells: list[HeatCell]
    rows: list[tuple[int, str]]
    columns: list[tuple[int, str]]
    width: int
    height: int
    size: int = CELL


def _number(cell: Cell) -> float:
    return float(cell.value) if isinstance(cell.value, int | float) else 0.0


def bars(table: Table, title: str, *, first_rows: int | None = None) -> BarChart:
    """One bar per table row (or the first few), scaled to the largest value."""
    values = [(str(row[0].value), _number(row[1])) for row in table.rows[:first_rows]]
    top = max((v for _label, v in values), default=0.0) or 1.0
    drawn = [
        Bar(label, value, f"{value:g}", n * (BAR_HEIGHT + BAR_GAP), round(BAR_AREA * value / top))
        for n, (label, value) in enumerate(values)
    ]
    if values:
        largest = max(values, key=lambda item: item[1])
        description = _("%(title)s: %(count)d rows; the largest is %(label)s with %(value)s.") % {
            "title": title,
            "count": len(values),
            "label": largest[0],
            "value": f"{largest[1]:g}",
        }
    else:
        description = _("%(title)s: nothing in this period.") % {"title": title}
    height = max(1, len(values)) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(table.key, title, description, drawn, LABEL_WIDTH + BAR_AREA + 60, height)


def heatmap(table: Table, title: str, *, percent: bool = False) -> Heatmap:
    """The hour × weekday table turned on its side: weekdays as rows, hours as columns."""
    weekdays = table.columns[1:]
    values = [[_number(row[day + 1]) for row in table.rows] for day in range(len(weekdays))]
    top = max((v for day in values for v in day), default=0.0)
    cells = []
    for day, hours in enumerate(values):
        for hour, value in enumerate(hours):
            level = (
                0
                if top == 0 or value == 0
                else 1 + min(LEVELS - 2, int(value / top * (LEVELS - 1)))
            )
            text = f"{round(value * 100)}" if percent else f"{value:g}"
            cells.append(
                HeatCell(
                    HEAT_LEFT + hour * CELL, HEAT_TOP + day * CELL, level, text if value else ""
                )
            )
    busiest = max(
        (
            (value, day, hour)
            for day, hours in enumerate(values)
            for hour, value in enumerate(hours)
        ),
        default=(0.0, 0, 0),
    )
    if busiest[0] == 0:
        description = _("%(title)s: nothing in this period.") % {"title": title}
    else:
        shown = f"{round(busiest[0] * 100)} %" if percent else f"{busiest[0]:g}"
        description = _("%(title)s: highest on %(day)s at %(hour)02d–%(next)02d (%(value)s).") % {
            "title": title,
            "day": weekdays[busiest[1]],
            "hour": busiest[2],
            "next": busiest[2] + 1,
            "value": shown,
        }
    return Heatmap(
        table.key,
        title,
        description,
        cells,
        [(HEAT_TOP + n * CELL, name) for n, name in enumerate(weekdays)],
        [(HEAT_LEFT + h * CELL, f"{h:02d}") for h in range(0, 24, 3)],
        HEAT_LEFT + 24 * CELL + 4,
        HEAT_TOP + len(weekdays) * CELL + 4,
    )
