"""The LogQL subset: a parser into :class:`~agentdeck.logstore.base.LogQuery` and a matcher.

Grammar (whitespace is free between tokens)::

    query        = [ selector ] { stage }
    selector     = "{" [ matcher { "," matcher } [ "," ] ] "}"
    matcher      = name ( "=" | "!=" | "=~" | "!~" ) string
    stage        = line_filter | "|" parser | "|" field_filter
    line_filter  = ( "|=" | "!=" | "|~" | "!~" ) string
    parser       = "json" | "logfmt"
    field_filter = name ( "=" | "==" | "!=" | "=~" | "!~" ) string   (after a parser)
    string       = '"' Go-escaped text '"' | '`' raw text '`'

Semantics, shared by both stores and by :func:`matches` (the live tail):

* A matcher names a column field (:data:`~agentdeck.logstore.base.COLUMN_FIELDS`) or a
  label; a missing label, trace id or template is the empty string (as in LogQL).
* Regexes are RE2, validated here with the RE2 engine (linear time: no regex bomb). Matcher
  and field-filter regexes match the whole value, line-filter regexes any part of the line.
  ``.`` matches a newline too. Every engine runs the same wrapped pattern
  (:func:`anchored_regex`, :func:`line_regex`): a non-capturing group around the user's
  pattern keeps old ClickHouse from pre-filtering on a literal it took outside the group.
* Severity values are normalised: ``severity="warn"`` means ``WARNING``; severity regexes
  match case-insensitively (the stored values are upper-case).
* ``| json`` / ``| logfmt`` parse the message into fields (:func:`extract_fields`); a field
  filter after them tests one field, a missing field being ``""``. Stores evaluate field
  filters with this module's code on the rows their SQL selected, so all agree.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable

from agentdeck.logstore._fields import extract_fields, sanitise_field
from agentdeck.logstore._regex import (
    MAX_REGEX_CHARS,
    anchored_regex,
    compiled_regex,
    line_regex,
    regex_problem,
)
from agentdeck.logstore.base import (
    FieldFilter,
    LineFilter,
    LogQuery,
    LogQueryError,
    LogRecord,
    Matcher,
    Severity,
    severity_from_text,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_REGEX_CHARS",
    "anchored_regex",
    "compile_query",
    "extract_fields",
    "field_value",
    "line_regex",
    "matches",
    "parse",
    "render",
    "sanitise_field",
    "validate",
]

#: Longest query text accepted.
MAX_QUERY_CHARS = 16_384
#: Most matchers plus filters in one query.
MAX_TERMS = 64

MATCH_OPS = ("=~", "!~", "!=", "=")
LINE_OPS = ("|=", "!=", "|~", "!~")
PARSERS = ("json", "logfmt")

# Label names: a letter or "_" (any script), then letters, digits and ``_ . : / -``.
_NAME = re.compile(r"[^\W\d][\w.:/\-]*")
_GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # tokens

    def fail(self, message: str, position: int | None = None) -> LogQueryError:
        where = self.pos if position is None else position
        return LogQueryError(f"{message} at position {where}", position=where)

    def skip_ws(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        self.pos = pos

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text)

    def peek_op(self, ops: tuple[str, ...]) -> str | None:
        for op in ops:
            if self.text.startswith(op, self.pos):
                return op
        return None

    def describe_here(self) -> str:
        if self.pos >= len(self.text):
            return "the end of the query"
        return json.dumps(self.text[self.pos], ensure_ascii=False)

    def expect(self, token: str, alternatives: str = "") -> None:
        self.skip_ws()
        if not self.text.startswith(token, self.pos):
            wanted = f'"{token}"' + (f" or {alternatives}" if alternatives else "")
            raise self.fail(f"expected {wanted}, got {self.describe_here()}")
        self.pos += len(token)

    def name(self, what: str) -> str:
        self.skip_ws()
        found = _NAME.match(self.text, self.pos)
        if found is None:
            raise self.fail(f"expected {what}, got {self.describe_here()}")
        self.pos = found.end()
        return found.group()

    def op(self, ops: tuple[str, ...], what: str) -> str:
        self.skip_ws()
        found = self.peek_op(ops)
        if found is None:
            listed = ", ".join(f'"{op}"' for op in ops)
            raise self.fail(f"expected {what} ({listed}), got {self.describe_here()}")
        self.pos += len(found)
        return found

    def string(self) -> tuple[str, int]:
        """A quoted string and the position of its opening quote."""
        self.skip_ws()
        start = self.pos
        text = self.text
        if start >= len(text) or text[start] not in '"`':
            raise self.fail(f"expected a quoted string, got {self.describe_here()}")
        if text[start] == "`":
            end = text.find("`", start + 1)
            if end < 0:
                raise self.fail("unterminated raw string", start)
            self.pos = end + 1
            return text[start + 1 : end], start
        out = bytearray()
        pos = start + 1
        while True:
            if pos >= len(text):
                raise self.fail("unterminated string", start)
            char = text[pos]
            if char == '"':
                break
            if char == "\n":
                raise self.fail("newline in string (use \\n)", pos)
            if char != "\\":
                out += char.encode("utf-8", "surrogatepass")
                pos += 1
                continue
            pos = self._escape(out, pos)
        self.pos = pos + 1
        try:
            return out.decode("utf-8"), start
        except UnicodeDecodeError as exc:
            raise self.fail("string is not valid UTF-8 once unescaped", start) from exc

    def _escape(self, out: bytearray, pos: int) -> int:
        """Decode the escape at ``pos`` (a backslash) into ``out``; return the next position."""
        text = self.text
        if pos + 1 >= len(text):
            raise self.fail("unterminated string", pos)
        kind = text[pos + 1]
        if kind in _GO_ESCAPES:
            out += _GO_ESCAPES[kind].encode()
            return pos + 2
        if kind in "xuU01234567":
            width, base = {"x": (2, 16), "u": (4, 16), "U": (8, 16)}.get(kind, (3, 8))
            digits_at = pos + 1 if base == 8 else pos + 2
            digits = text[digits_at : digits_at + width]
            valid = "0123456789abcdefABCDEF" if base == 16 else "01234567"
            if len(digits) != width or any(d not in valid for d in digits):
                raise self.fail(f'bad escape "{text[pos : digits_at + width]}"', pos)
            value = int(digits, base)
            escape = text[pos : digits_at + width]
            if kind in "uU":
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    raise self.fail(f'escape "{escape}" is no Unicode code point', pos)
                out += chr(value).encode()
            else:
                if value > 0xFF:
                    raise self.fail(f'octal escape "{escape}" is above 255', pos)
                out.append(value)
            return digits_at + width
        raise self.fail(f'unknown escape "\\{kind}"', pos)

    # grammar

    def query(self) -> LogQuery:
        if len(self.text) > MAX_QUERY_CHARS:
            raise LogQueryError(
                f"query longer than {MAX_QUERY_CHARS} characters", position=MAX_QUERY_CHARS
            )
        matchers: list[Matcher] = []
        line_filters: list[LineFilter] = []
        field_filters: list[FieldFilter] = []
        self.skip_ws()
        if self.text.startswith("{", self.pos):
            matchers = self.selector()
        parser: str | None = None
        while not self.at_end():
            if len(matchers) + len(line_filters) + len(field_filters) >= MAX_TERMS:
                raise self.fail(f"more than {MAX_TERMS} matchers and filters")
            op = self.peek_op(LINE_OPS)
            if op is not None:
                self.pos += len(op)
                value, at = self.string()
                if op in ("|~", "!~"):
                    self.check_regex(value, at)
                line_filters.append(LineFilter(op, value))
                continue
            if not self.text.startswith("|", self.pos):
                if not matchers and not line_filters and self.text.startswith("}", self.pos):
                    raise self.fail('unexpected "}" (a selector starts with "{")')
                raise self.fail(
                    f'expected "|=", "!=", "|~", "!~" or "|", got {self.describe_here()}'
                )
            self.pos += 1
            self.skip_ws()
            start = self.pos
            name = self.name('"json", "logfmt" or a field name')
            self.skip_ws()
            op = self.peek_op(("==", *MATCH_OPS))
            if op is None:
                if name in PARSERS:
                    parser = name
                    continue
                raise self.fail(
                    f'expected "json", "logfmt" or a field filter (name op "value"), got "{name}"',
                    start,
                )
            if parser is None:
                raise self.fail(
                    f'the field filter on "{name}" needs "| json" or "| logfmt" before it', start
                )
            self.pos += len(op)
            value, at = self.string()
            op = "=" if op == "==" else op
            if op in ("=~", "!~"):
                self.check_regex(value, at)
            field_filters.append(FieldFilter(parser, sanitise_field(name), op, value))
        return LogQuery(tuple(matchers), tuple(line_filters), tuple(field_filters))

    def selector(self) -> list[Matcher]:
        self.expect("{")
        matchers: list[Matcher] = []
        self.skip_ws()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return matchers
        while True:
            self.skip_ws()
            if self.text.startswith("}", self.pos) and matchers:  # a trailing comma
                self.pos += 1
                return matchers
            if len(matchers) >= MAX_TERMS:
                raise self.fail(f"more than {MAX_TERMS} matchers")
            matchers.append(self.matcher())
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect("}", '","')
            return matchers

    def matcher(self) -> Matcher:
        name = self.name("a label name")
        op = self.op(MATCH_OPS, "a matcher operator")
        value, at = self.string()
        if op in ("=~", "!~"):
            self.check_regex(value, at)
        if name == "severity":
            value = self.severity_value(op, value, at)
        return Matcher(name, op, value)

    def severity_value(self, op: str, value: str, at: int) -> str:
        if op in ("=~", "!~"):  # stored severities are upper-case
            return value if value.startswith("(?i)") else f"(?i){value}"
        if value == "":
            return value
        severity = severity_from_text(value)
        if severity is None:
            known = ", ".join(s.value for s in Severity)
            raise self.fail(f'unknown severity "{value}" (one of {known})', at)
        return severity.value

    def check_regex(self, pattern: str, at: int) -> None:
        problem = regex_problem(pattern)
        if problem is not None:
            shown = pattern if len(pattern) <= 40 else pattern[:37] + "..."
            raise self.fail(f"invalid regex {json.dumps(shown, ensure_ascii=False)}: {problem}", at)


def parse(text: str) -> LogQuery:
    """Parse a LogQL-subset query; raise :class:`LogQueryError` naming the position."""
    return _Parser(text).query()


def render(query: LogQuery) -> str:
    """The query as text that :func:`parse` reads back into an equal query."""
    parts: list[str] = []
    if query.matchers or not (query.line_filters or query.field_filters):
        inner = ", ".join(f"{m.name}{m.op}{_quote(m.value)}" for m in query.matchers)
        parts.append("{" + inner + "}")
    parts.extend(f"{f.op} {_quote(f.value)}" for f in query.line_filters)
    parser: str | None = None
    for field_filter in query.field_filters:
        if field_filter.parser != parser:
            parser = field_filter.parser
            parts.append(f"| {parser}")
        parts.append(f"| {field_filter.name}{field_filter.op}{_quote(field_filter.value)}")
    return " ".join(parts)


def _quote(value: str) -> str:
    # JSON's escapes (\" \\ \n \uXXXX ...) are all Go escapes too.
    return json.dumps(value, ensure_ascii=False)


# --- matching --------------------------------------------------------------------------------


def field_value(record: LogRecord, name: str) -> str:
    """The value a matcher named ``name`` sees on ``record`` (``""`` when missing)."""
    if name == "service":
        return record.service
    if name == "severity":
        return str(record.severity)
    if name == "agent":
        return record.agent
    if name == "trace_id":
        return record.trace_id
    if name == "span_id":
        return record.span_id
    if name == "template":
        return "" if record.template_id is None else str(record.template_id)
    return record.labels.get(name, "")


def _value_test(op: str, value: str) -> Callable[[str], bool]:
    if op == "=":
        return lambda got: got == value
    if op == "!=":
        return lambda got: got != value
    regex = compiled_regex(anchored_regex(value))
    if op == "=~":
        return lambda got: regex.search(got) is not None
    return lambda got: regex.search(got) is None


def _line_test(line_filter: LineFilter) -> Callable[[str], bool]:
    op, value = line_filter.op, line_filter.value
    if op == "|=":
        return lambda line: value in line
    if op == "!=":
        return lambda line: value not in line
    regex = compiled_regex(line_regex(value))
    if op == "|~":
        return lambda line: regex.search(line) is not None
    return lambda line: regex.search(line) is None


def field_filter_test(filters: tuple[FieldFilter, ...]) -> Callable[[str], bool]:
    """A predicate on a message: do all ``filters`` hold on its parsed fields?"""
    tests = [(f.parser, f.name, _value_test(f.op, f.value)) for f in filters]

    def test(message: str) -> bool:
        parsed: dict[str, dict[str, str]] = {}
        for parser, name, check in tests:
            fields = parsed.get(parser)
            if fields is None:
                fields = parsed[parser] = extract_fields(parser, message)
            if not check(fields.get(name, "")):
                return False
        return True

    return test


@functools.lru_cache(maxsize=256)
def compile_query(query: LogQuery) -> Callable[[LogRecord], bool]:
    """A predicate equivalent to the stores' evaluation of ``query`` (cached per query).

    Raises :class:`LogQueryError` for a query built in code with an unknown operator or a
    regex RE2 refuses (parsed queries have been checked already)."""
    validate(query)
    matchers = [(m.name, _value_test(m.op, m.value)) for m in query.matchers]
    lines = [_line_test(f) for f in query.line_filters]
    fields = field_filter_test(query.field_filters) if query.field_filters else None

    def test(record: LogRecord) -> bool:
        for name, check in matchers:
            if not check(field_value(record, name)):
                return False
        message = record.message
        for check_line in lines:
            if not check_line(message):
                return False
        return fields is None or fields(message)

    return test


def validate(query: LogQuery) -> None:
    """Check a query built in code: operators known, regexes RE2-valid."""
    regexes: list[str] = []
    for matcher in query.matchers:
        if matcher.op not in MATCH_OPS:
            raise LogQueryError(f"unknown matcher operator {matcher.op!r}")
        if matcher.op in ("=~", "!~"):
            regexes.append(matcher.value)
    for line_filter in query.line_filters:
        if line_filter.op not in LINE_OPS:
            raise LogQueryError(f"unknown line filter operator {line_filter.op!r}")
        if line_filter.op in ("|~", "!~"):
            regexes.append(line_filter.value)
    for field_filter in query.field_filters:
        if field_filter.parser not in PARSERS or field_filter.op not in MATCH_OPS:
            raise LogQueryError(
                f"unknown field filter {field_filter.parser!r} / {field_filter.op!r}"
            )
        if field_filter.op in ("=~", "!~"):
            regexes.append(field_filter.value)
    for pattern in regexes:
        problem = regex_problem(pattern)
        if problem is not None:
            raise LogQueryError(f"invalid regex {pattern!r}: {problem}")


def matches(query: LogQuery, record: LogRecord) -> bool:
    """Does ``record`` match ``query``? The same answer as the stores give (the live tail)."""
    return compile_query(query)(record)
