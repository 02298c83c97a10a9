"""The statistics report as tables: the same rows feed the page, its charts' table views and
the CSV exports, so a figure cannot differ between them."""

from __future__ import annotations

from dataclasses import dataclass

from service.i18n import N_
from service.i18n import gettext as _
from service.stats.definitions import definition
from service.stats.figures import WITHIN_DAYS, Report, Share
from service.storage.usage_stats import Spread

WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class Cell:
    """A value and how to read it: `count`, `seconds`, `share`, `score`, `hours` or `text`.
    `base` is the number of cases a derived value rests on, for small-number suppression."""

    value: int | float | str | None
    kind: str = "count"
    base: int | None = None
    # For a figure's name: its definition, shown as help text beside it.
    help: str = ""


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    help: str = ""


def _text(value: str, key: str | None = None) -> Cell:
    """A figure's name, with the definition of figure `key` as its help text."""
    return Cell(value, "text", help=definition(key) if key else "")


def _share(share: Share) -> Cell:
    return Cell(share.value, "share", share.base)


def _spread_rows(label: str, spread: Spread, key: str) -> list[list[Cell]]:
    return [
        [_text(label + " – " + _("median"), key), Cell(spread.median, "seconds", spread.n)],
        [_text(label + " – " + _("90th percentile")), Cell(spread.p90, "seconds", spread.n)],
    ]


def _figures(key: str, title: str, rows: list[list[Cell]]) -> Table:
    return Table(key, title, [_("Figure"), _("Value")], rows)


def questions(report: Report) -> Table:
    q = report.questions
    rows = [
        [_text(_("Questions asked"), "questions.asked"), Cell(q.asked)],
        [_text(_("Answered and published"), "questions.published"), Cell(q.published)],
        [
            _text(_("Answered privately"), "questions.answered_privately"),
            Cell(q.answered_privately),
        ],
        [_text(_("Rejected"), "questions.rejected"), Cell(q.rejected)],
        [_text(_("Deleted by the asker"), "questions.deleted"), Cell(q.deleted)],
        *_spread_rows(_("Time to first answer"), q.first_answer, "questions.first_answer"),
    ]
    for days, share in q.within.items():
        label = _("Answered within %(n)d working days") % {"n": days}
        if days == 1:
            label = _("Answered within 1 working day")
        # One definition covers both rows.
        key = "questions.within" if days == WITHIN_DAYS[0] else None
        rows.append([_text(label, key), _share(share)])
    return _figures("questions", _("Questions"), rows)


def chat(report: Report) -> Table:
    c = report.chat
    return _figures(
        "chat",
        _("Chat"),
        [
            [_text(_("Contact attempts"), "chat.attempts"), Cell(c.attempts)],
            [_text(_("– while the chat was open")), Cell(c.attempts_open)],
            [_text(_("– while the chat was closed")), Cell(c.attempts_closed)],
            [_text(_("Answered"), "chat.answered"), Cell(c.answered)],
            [_text(_("Abandoned in the queue"), "chat.abandoned"), Cell(c.abandoned)],
            [_text(_("Ended by timeout"), "chat.timed_out"), Cell(c.timed_out)],
            [_text(_("Converted to a question"), "chat.converted"), Cell(c.converted)],
            [_text(_("Transfers"), "chat.transfers"), Cell(c.transfers)],
            *_spread_rows(_("Queue wait"), c.queue_wait, "chat.queue_wait"),
            *_spread_rows(_("Wait before abandoning"), c.abandon_wait, "chat.abandon_wait"),
            *_spread_rows(_("First response time"), c.first_response, "chat.first_response"),
            *_spread_rows(_("Handle time"), c.handle_time, "chat.handle_time"),
        ],
    )


def _grid(report: Report, key: str, title: str, staffed: bool) -> Table:
    columns = [_("Hour"), *(_(name) for name in WEEKDAY_NAMES)]
    rows = []
    for hour in range(24):
        row = [_text(f"{hour:02d}–{hour + 1:02d}")]
        for day in range(7):
            cell = report.demand.cells[(day, hour)]
            if staffed:
                value = cell.staffed_hours / cell.slots if cell.slots else None
                # Staffed time is about staff, not young people: nothing to hide in exports.
                row.append(Cell(value, "share"))
            else:
                row.append(Cell(cell.attempts))
        rows.append(row)
    return Table(key, title, columns, rows, definition(key))


def demand(report: Report) -> list[Table]:
    d = report.demand
    summary = _figures(
        "demand",
        _("Demand and supply"),
        [
            [
                _text(_("Contact attempts while the chat was closed"), "demand.closed_share"),
                _share(d.closed_share),
            ],
            [
                _text(_("Hours with someone available"), "demand.staffed_hours"),
                Cell(d.staffed_hours, "hours"),
            ],
        ],
    )
    return [
        summary,
        _grid(report, "demand.attempts", _("Contact attempts by weekday and hour"), False),
        _grid(report, "demand.staffed", _("Share of the hour with someone available"), True),
    ]


def referrals(report: Report) -> list[Table]:
    r = report.referrals
    return [
        Table(
            "referrals.by_service",
            _("Referrals by service"),
            [_("Service"), _("Referrals")],
            [[_text(name), Cell(n)] for _sid, name, n in r.by_service],
            definition("referrals.by_service"),
        ),
        Table(
            "referrals.by_category",
            _("Referrals by category"),
            [_("Category"), _("Referrals")],
            [[_text(report.category_names.get(slug, slug)), Cell(n)] for slug, n in r.by_category],
            definition("referrals.by_category"),
        ),
    ]


def ratings(report: Report) -> Table:
    r = report.ratings
    return _figures(
        "ratings",
        _("Ratings"),
        [
            [_text(_("Ratings given")), Cell(r.rated)],
            [_text(_("Said the chat helped"), "ratings.helped"), _share(r.helped)],
            [
                _text(_("Mean score (1–5)"), "ratings.mean_score"),
                Cell(r.mean_score, "score", r.scored),
            ],
            [_text(_("Response rate"), "ratings.response"), _share(r.response)],
        ],
    )


def staff(report: Report) -> Table:
    return Table(
        "staff",
        _("Per staff member"),
        [_("Staff member"), _("Questions answered"), _("Chats handled"), _("Median handle time")],
        [
            [
                _text(person.name),
                Cell(person.questions_answered),
                Cell(person.chats_handled),
                Cell(person.handle_time.median, "seconds", person.handle_time.n),
            ]
            for person in report.staff
        ],
        definition("staff"),
    )


def all_tables(report: Report) -> list[Table]:
    """In page order; sections of a channel left out by the filter are not shown."""
    tables: list[Table] = []
    if report.query.shows("question"):
        tables.append(questions(report))
    if report.query.shows("chat"):
        tables += [chat(report), *demand(report)]
    tables += referrals(report)
    if report.query.shows("chat"):
        tables.append(ratings(report))
    tables.append(staff(report))
    return tables
