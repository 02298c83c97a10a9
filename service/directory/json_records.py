"""The records of an HSDS JSON file, decoded one at a time so a large import never holds the
whole tree: memory stays the text plus one record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from service.i18n import gettext as _

# JSON's own whitespace (RFC 8259); anything else between values is an error.
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BOM = "\ufeff"
_DECODER = json.JSONDecoder()


class NotRecords(ValueError):
    """The text is not JSON, not a list, page or record of HSDS, or holds too many records.

    str(exc) is the message in the reader's language; `field` names the form field or "body"
    the text came from, for the caller's error report."""

    def __init__(self, message: str, *, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def iter_records(text: str, *, limit: int, field: str = "file") -> Iterator[Any]:
    """Each record of `text` in file order, decoded when reached.

    Accepted: a JSON list (its items are yielded as they are, objects or not: the caller reports
    a non-object per record); an HSDS page, an object whose `contents` list holds the records
    (its other keys, before or after `contents`, are checked as JSON and skipped); one record,
    an object without `contents`, yielded once. A BOM and JSON whitespace around are allowed.

    Errors are raised as NotRecords when the reading reaches them, so a caller that stores
    records as they come must be ready to report the records already stored:
    - raised before the first record: text that is no list or object, or a page whose
      `contents` is not a list (the shape is wrong from the start); invalid JSON before the
      first record; a single record that is not valid JSON anywhere (it is yielded only whole);
    - raised after earlier records were yielded: an item that is not valid JSON (when the
      reading reaches it), more than `limit` records (instead of record `limit + 1`), invalid
      JSON or anything else after the closing bracket, a page's keys after `contents` that are
      not valid JSON, and a second `contents`."""
    reader = _Reader(text, field)
    first = reader.skip()
    if first == "[":
        yield from reader.items(limit)
    elif first == "{":
        yield from reader.page_or_record(limit)
    else:
        reader.value()  # text that is not JSON at all is reported as such, with its place
        raise reader.not_records()
    if reader.skip():
        raise reader.invalid(reader.pos)


class _Reader:
    """A position in the text and the steps that move it past one JSON token or value."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        # The BOM is skipped in place: slicing it off would copy a text that may be megabytes.
        self.start = 1 if text.startswith(_BOM) else 0
        self.pos = self.start

    def skip(self) -> str:
        """Move past whitespace; the next character, or "" at the end of the text."""
        found = _WHITESPACE.match(self.text, self.pos)
        assert found is not None  # the pattern matches the empty string
        self.pos = found.end()
        return self.text[self.pos : self.pos + 1]

    def value(self) -> Any:
        """Decode the one JSON value that starts here."""
        begins = self.pos
        try:
            value, self.pos = _DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise self.invalid(exc.pos) from None
        except RecursionError:
            message = _("The file is nested too deeply (line %(line)d, column %(column)d).")
            raise self._at(message, begins) from None
        return value

    def expect(self, char: str) -> None:
        if self.skip() != char:
            raise self.invalid(self.pos)
        self.pos += 1

    def items(self, limit: int) -> Iterator[Any]:
        """The items of the list whose "[" is here, each decoded when the caller asks for it."""
        self.expect("[")
        if self.skip() == "]":
            self.pos += 1
            return
        count = 0
        while True:
            self.skip()
            if count >= limit:
                raise self.too_many(limit)
            count += 1
            yield self.value()
            if self.skip() != ",":
                self.expect("]")
                return
            self.pos += 1

    def page_or_record(self, limit: int) -> Iterator[Any]:
        """The object here: a page's `contents` streamed, else the object as one record."""
        self.expect("{")
        kept: dict[str, Any] = {}  # a record's fields, or a page's small keys before contents
        paged = False
        if self.skip() == "}":
            self.pos += 1
        else:
            while True:
                if self.skip() != '"':
                    raise self.invalid(self.pos)
                key = self.value()
                self.expect(":")
                if key == "contents":
                    if paged or self.skip() != "[":
                        raise self.not_records()
                    paged = True
                    kept.clear()
                    yield from self.items(limit)
                else:
                    self.skip()
                    value = self.value()
                    if not paged:
                        kept[key] = value
                if self.skip() != ",":
                    self.expect("}")
                    break
                self.pos += 1
        if not paged:
            if limit < 1:
                raise self.too_many(limit)
            yield kept

    def invalid(self, pos: int) -> NotRecords:
        return self._at(_("The file is not valid JSON (line %(line)d, column %(column)d)."), pos)

    def not_records(self) -> NotRecords:
        message = _("Give a JSON list of HSDS records, an HSDS page (contents) or one record.")
        return NotRecords(message, field=self.field)

    def too_many(self, limit: int) -> NotRecords:
        message = _("Import at most %(n)d records at a time.") % {"n": limit}
        return NotRecords(message, field=self.field)

    def _at(self, message: str, pos: int) -> NotRecords:
        """The message with the line and column of `pos`, counted as an editor shows them."""
        line = self.text.count("\n", 0, pos) + 1
        line_start = max(self.text.rfind("\n", 0, pos) + 1, self.start)
        place = {"line": line, "column": pos - line_start + 1}
        return NotRecords(message % place, field=self.field)
