"""Reading an HSDS JSON file record by record: the accepted shapes, errors with their place,
the record limit, and records handed out before the rest of the text is read."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service import i18n
from service.directory.json_records import NotRecords, iter_records

EXAMPLES = Path(__file__).parent / "data" / "hsds" / "examples"
LIMIT = 20_000
A = {"id": "5a0c6b4e-8f0e-4d7c-9b51-0c2f5d1e7a01", "name": "Ohjaamo Koskela"}
B = {"id": "0d6f1c1e-3b7a-4a8e-9a52-6d1f0b9c2e10", "name": "Työpaja Järvelä", "phones": []}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are checked in English; the catalogs translate them for readers."""
    with i18n.speaking("en"):
        yield


def records(text: str, limit: int = LIMIT) -> list[Any]:
    return list(iter_records(text, limit=limit))


def failure(text: str, limit: int = LIMIT) -> tuple[str, list[Any]]:
    """The error's message, and the records handed out before it."""
    got: list[Any] = []
    with pytest.raises(NotRecords) as caught:
        for record in iter_records(text, limit=limit):
            got.append(record)
    return str(caught.value), got


# The shapes.


def test_a_list_of_records() -> None:
    assert records(json.dumps([A, B])) == [A, B]
    assert records(json.dumps([A, B], indent=2, ensure_ascii=False)) == [A, B]


def test_an_empty_list_yields_nothing() -> None:
    assert records("[]") == []
    assert records(" [ \n\t ] \n") == []
    assert records('{"contents": [], "total_items": 0}') == []


@pytest.mark.parametrize(
    "page",
    [
        {"contents": [A, B], "total_items": 2, "total_pages": 1, "first_page": True},
        {"total_items": 2, "links": {"next": None, "contents": "x"}, "contents": [A, B]},
        {"total_items": 2, "contents": [A, B], "page_number": 1, "empty": False},
    ],
    ids=["contents first", "contents last", "contents between"],
)
def test_a_page_streams_its_contents_and_skips_its_other_keys(page: dict[str, Any]) -> None:
    assert records(json.dumps(page)) == [A, B]
    assert records(json.dumps(page, indent=4)) == [A, B]


def test_the_standards_own_page_example() -> None:
    text = (EXAMPLES / "service_list.json").read_text(encoding="utf-8")
    assert records(text) == json.loads(text)["contents"]


def test_one_record_is_yielded_once() -> None:
    assert records(json.dumps(A)) == [A]
    full = (EXAMPLES / "service_full.json").read_text(encoding="utf-8")
    assert records(full) == [json.loads(full)]
    # "contents" deeper down does not make a page; nor does an empty object.
    nested = {**A, "organization": {"id": "o", "contents": [1, 2]}}
    assert records(json.dumps(nested)) == [nested]
    assert records("{}") == [{}]
    assert records(' { "name" : "a" , "name" : "b" } ') == [json.loads('{"name":"a","name":"b"}')]


@pytest.mark.parametrize(
    "text",
    [
        '[{"id":"a"},{"id":"b"}]',
        '\ufeff[{"id":"a"},{"id":"b"}]',
        '\ufeff  \r\n[\r\n\t{"id":"a"}\r\n\t,\r\n\t{"id":"b"}\r\n]\r\n',
        '\n\n   [ {"id" : "a"} ,{"id":"b"} ]   \n\n',
        '{"contents":[{"id":"a"},{"id":"b"}]}',
        '\ufeff {\n "contents" :\n [ {"id":"a"} , {"id":"b"} ] ,\n "size" : 2 }\n',
    ],
)
def test_whitespace_and_a_bom_anywhere_json_allows(text: str) -> None:
    assert records(text) == [{"id": "a"}, {"id": "b"}]


def test_items_that_are_not_objects_are_yielded_as_they_are() -> None:
    items = [1, "x", None, [A], True, A, 2.5]
    assert records(json.dumps(items)) == items
    assert records(json.dumps({"contents": items})) == items


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(JSON_VALUES, max_size=6),
    indent=st.sampled_from([None, 0, 2, "\t"]),
    as_page=st.booleans(),
)
def test_any_list_or_page_reads_as_json_loads_reads_it(
    items: list[Any], indent: int | str | None, as_page: bool
) -> None:
    data: Any = {"total_items": len(items), "contents": items, "empty": not items}
    text = json.dumps(data if as_page else items, indent=indent, ensure_ascii=False)
    assert records(text) == json.loads(text)["contents" if as_page else slice(None)]


# Errors, with their place.


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("", 1, 1),
        ("   ", 1, 4),
        ("hello", 1, 1),
        ('[\n  {"id": "a"},\n  {"id": }\n]', 3, 10),
        ('[{"id": "a"} {"id": "b"}]', 1, 14),
        ('[{"id": "a"},]', 1, 14),
        ('[{"id": "a"}', 1, 13),
        ('[{"id": "a"}] x', 1, 15),
        ('[{"id": "a"}]]', 1, 14),
        ('{"contents": [{"id": "a"}], "size": }', 1, 37),
        ('{"contents": [{"id": "a"}] "size": 1}', 1, 28),
        ('{"id": "a", }', 1, 13),
        ('{id: "a"}', 1, 2),
        ('{"id" "a"}', 1, 7),
        ('[{"name": "a\x01"}]', 1, 13),
        ("\ufeff[1 2]", 1, 4),
        ("\ufeff\n[1 2]", 2, 4),
    ],
)
def test_invalid_json_names_the_line_and_column(text: str, line: int, column: int) -> None:
    message, _ = failure(text)
    assert message == f"The file is not valid JSON (line {line}, column {column})."


@pytest.mark.parametrize(
    "text",
    ['[\n {"id": }]', '[{"id": "a"} {"id": "b"}]', "[1 2]", '{"a": [1, 2}', "[1,\n\n  x]"],
)
def test_the_place_is_where_json_loads_puts_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as standard:
        json.loads(text)
    message, _ = failure(text)
    assert f"(line {standard.value.lineno}, column {standard.value.colno})" in message


@pytest.mark.parametrize(
    "text", ["5", '"records"', "null", "true", '{"contents": 5}', '{"contents": {"id": "a"}}']
)
def test_json_of_another_shape_is_refused_before_any_record(text: str) -> None:
    message, got = failure(text)
    assert got == []
    assert message == "Give a JSON list of HSDS records, an HSDS page (contents) or one record."


def test_a_second_contents_is_refused() -> None:
    message, got = failure('{"contents": [1], "contents": [2]}')
    assert got == [1] and message.startswith("Give a JSON list of HSDS records")


def test_a_broken_item_is_reported_when_reached_after_the_earlier_ones() -> None:
    message, got = failure('[{"id": "a"}, {"id": "b"}, {"id": "c", }, {"id": "d"}]')
    assert got == [{"id": "a"}, {"id": "b"}]
    assert message == "The file is not valid JSON (line 1, column 40)."


def test_a_broken_single_record_yields_nothing() -> None:
    message, got = failure('{"id": "a", "name": "b", "phones": [}')
    assert got == [] and "(line 1, column 37)" in message


def test_deep_nesting_is_refused_not_crashed() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    message, got = failure(f'[{{"id": "a"}},\n {deep}]')
    assert got == [{"id": "a"}]
    assert message == "The file is nested too deeply (line 2, column 2)."
    message, got = failure(f'{{"id": "a", "x": {deep}}}')
    assert got == [] and message.startswith("The file is nested too deeply")


def test_the_field_is_the_callers_choice() -> None:
    with pytest.raises(NotRecords) as caught:
        list(iter_records("[", limit=LIMIT))
    assert caught.value.field == "file"
    with pytest.raises(NotRecords) as caught:
        list(iter_records("[", limit=LIMIT, field="body"))
    assert caught.value.field == "body" and isinstance(caught.value, ValueError)


def test_messages_follow_the_readers_language() -> None:
    with i18n.speaking("fi"):
        finnish = failure("[")[0]
    translated = i18n.translations("fi").gettext(
        "The file is not valid JSON (line %(line)d, column %(column)d)."
    )
    assert finnish == translated % {"line": 1, "column": 2}


# The limit.


def test_at_most_limit_records() -> None:
    three = json.dumps([A, B, A])
    assert records(three, limit=3) == [A, B, A]
    message, got = failure(three, limit=2)
    assert got == [A, B] and message == "Import at most 2 records at a time."
    message, got = failure(json.dumps({"contents": [A, B, A], "total_items": 3}), limit=2)
    assert got == [A, B] and message == "Import at most 2 records at a time."
    assert records(json.dumps(A), limit=1) == [A]
    assert failure(json.dumps(A), limit=0) == ("Import at most 0 records at a time.", [])
    assert records("[]", limit=0) == []


# Streaming.


def test_records_come_one_at_a_time_before_the_rest_is_read() -> None:
    count = 15_000
    items = [{**A, "id": f"record-{n}", "description": "x" * 50} for n in range(count)]
    text = json.dumps(items)[:-1] + ', {"id": "last"}] and then garbage'
    stream = iter_records(text, limit=LIMIT)
    assert isinstance(stream, types.GeneratorType)
    # The garbage at the end has not been reached, yet the first records are there.
    assert next(stream) == items[0]
    assert next(stream) == items[1]
    got = 2
    with pytest.raises(NotRecords) as caught:
        for _record in stream:
            got += 1
    assert got == count + 1
    column = len(text) - len("and then garbage") + 1
    assert str(caught.value) == f"The file is not valid JSON (line 1, column {column})."


def test_nothing_is_read_before_the_first_record_is_asked_for() -> None:
    stream = iter_records("this is not json", limit=LIMIT)
    with pytest.raises(NotRecords):
        next(stream)
