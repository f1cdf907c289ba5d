"""The LogQL subset parser and the pure-Python matcher (the live tail's filter)."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
from agentdeck.logstore.logql import (
    anchored_regex,
    extract_fields,
    line_regex,
    matches,
    parse,
    render,
    validate,
)

TENANT = uuid.uuid4()


def record(message: str = "hello", **fields: object) -> LogRecord:
    base: dict[str, object] = {
        "id": "r1",
        "tenant_id": TENANT,
        "ts_ns": 1,
        "service": "api",
        "severity": Severity.INFO,
        "message": message,
    }
    base.update(fields)
    return LogRecord(**base)  # type: ignore[arg-type]


# --- parsing ---------------------------------------------------------------------------------


def test_full_grammar() -> None:
    query = parse(
        '{service="api", severity=~"error|critical", agent!="a-1", k8s.pod!~`web-.*`,} '
        '|= "timeout" != "retry" |~ `t\\d+` !~ "x|y" '
        '| json | status="500" | logfmt | user=~"u-[0-9]+" | lvl!=`x` | a==`b` | c!~"d"'
    )
    assert query.matchers == (
        Matcher("service", "=", "api"),
        Matcher("severity", "=~", "(?i)error|critical"),
        Matcher("agent", "!=", "a-1"),
        Matcher("k8s.pod", "!~", "web-.*"),
    )
    assert query.line_filters == (
        LineFilter("|=", "timeout"),
        LineFilter("!=", "retry"),
        LineFilter("|~", "t\\d+"),
        LineFilter("!~", "x|y"),
    )
    assert query.field_filters == (
        FieldFilter("json", "status", "=", "500"),
        FieldFilter("logfmt", "user", "=~", "u-[0-9]+"),
        FieldFilter("logfmt", "lvl", "!=", "x"),
        FieldFilter("logfmt", "a", "=", "b"),
        FieldFilter("logfmt", "c", "!~", "d"),
    )


@pytest.mark.parametrize(
    "text",
    ["", "   ", "{}", " { } ", '|= "x"', '!~ "a+"', '{} |= "x"', "{}| json", "| logfmt"],
)
def test_empty_selector_and_filter_only_queries(text: str) -> None:
    query = parse(text)
    assert query.matchers == ()


def test_go_escapes_and_raw_strings() -> None:
    query = parse(r'{a="q\"\\\n\t\x41\101\u00e9\U0001F600", b=`raw \n "x"`}')
    assert query.matchers[0].value == 'q"\\\n\tAAé😀'
    assert query.matchers[1].value == 'raw \\n "x"'
    assert parse('{a="\\xc3\\xa9"}').matchers[0].value == "é"  # bytes that form UTF-8


def test_severity_values_are_normalised() -> None:
    assert parse('{severity="warn"}').matchers[0].value == "WARNING"
    assert parse('{severity!="Error"}').matchers[0].value == "ERROR"
    assert parse('{severity="fatal"}').matchers[0].value == "CRITICAL"
    assert parse('{severity=""}').matchers[0].value == ""
    assert parse('{severity=~"err.*"}').matchers[0].value == "(?i)err.*"
    assert parse('{severity=~"(?i)x"}').matchers[0].value == "(?i)x"
    assert severity_from_text(" Warning ") is Severity.WARNING
    assert severity_from_text("verbose") is None


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('{service="x"', 12, 'expected "}"'),
        ('{service="x" |= "a"', 13, 'expected "}"'),
        ('{service="x"} |= "a', 17, "unterminated string"),
        ("{service=`x}", 9, "unterminated raw string"),
        ('{service~"x"}', 8, "matcher operator"),
        ('{="x"}', 1, "label name"),
        ("{a=x}", 3, "quoted string"),
        ('{a="x",,}', 7, "label name"),
        ('{a=~"("}', 4, "invalid regex"),
        ('{a="x"} |~ "a{1001}"', 11, "invalid regex"),
        ('{a="x"} |~ "(?=x)"', 11, "invalid regex"),
        ('{a="\\q"}', 4, 'unknown escape "\\q"'),
        ('{a="\\x4"}', 4, "bad escape"),
        ('{a="\\ud800"}', 4, "no Unicode code point"),
        ('{a="\\777"}', 4, "above 255"),
        ('{a="\\xff"}', 3, "not valid UTF-8"),
        ('{a="x\ny"}', 5, "newline in string"),
        ('{severity="loud"}', 10, "unknown severity"),
        ('{a="x"} | status="500"', 10, '"| json" or "| logfmt" before it'),
        ('{a="x"} | json | 5="x"', 17, "field name"),
        ('{a="x"} | yaml', 10, '"json", "logfmt" or a field filter'),
        ('{a="x"} |= "a" foo', 15, 'expected "|=", "!=", "|~", "!~" or "|"'),
        ('{a="x"} {b="y"}', 8, 'expected "|='),
        ('} |= "x"', 0, 'unexpected "}"'),
        ('{a="x"} | json | b=~"["', 20, "invalid regex"),
        ('{a="x"} |=', 10, "quoted string"),
        ('|~ "(?<n>x)"', 3, "(?P<name>...)"),
    ],
)
def test_errors_name_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(LogQueryError) as caught:
        parse(text)
    assert caught.value.position == position, str(caught.value)
    assert fragment in str(caught.value)
    assert str(caught.value).endswith(f"at position {position}")


def test_limits() -> None:
    with pytest.raises(LogQueryError, match="longer than"):
        parse('|= "' + "x" * 20_000 + '"')
    with pytest.raises(LogQueryError, match="longer than 4096"):
        parse("|~ `" + "x" * 5000 + "`")
    with pytest.raises(LogQueryError, match="more than 64"):
        parse(" ".join(['|= "x"'] * 70))
    with pytest.raises(LogQueryError, match="NUL"):
        parse('|~ "a\\x00"')


# --- properties ------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True).filter(
    lambda n: n != "severity"
)
field_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
# Regexes RE2 accepts, built from safe pieces (a random string is rarely a valid regex).
regex_atoms = st.sampled_from(["a", "b+", "[0-9]", ".*", "x|y", "(ab)?", "\\d", "é", "\\.", "^"])
regexes = st.lists(regex_atoms, min_size=1, max_size=4).map("".join)


@st.composite
def queries(draw: st.DrawFn) -> LogQuery:
    def matcher() -> Matcher:
        op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(regexes if "~" in op else texts)
        return Matcher(draw(names), op, value)

    def line() -> LineFilter:
        op = draw(st.sampled_from(["|=", "!=", "|~", "!~"]))
        return LineFilter(op, draw(regexes if "~" in op else texts))

    def field() -> FieldFilter:
        op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(regexes if "~" in op else texts)
        return FieldFilter(draw(st.sampled_from(["json", "logfmt"])), draw(field_names), op, value)

    return LogQuery(
        tuple(matcher() for _ in range(draw(st.integers(0, 4)))),
        tuple(line() for _ in range(draw(st.integers(0, 4)))),
        tuple(field() for _ in range(draw(st.integers(0, 3)))),
    )


@given(queries())
@settings(max_examples=300, deadline=None)
def test_render_parse_round_trip(query: LogQuery) -> None:
    assert parse(render(query)) == query


@given(queries(), st.data())
@settings(max_examples=200, deadline=None)
def test_truncated_queries_fail_inside_the_text(query: LogQuery, data: st.DataObject) -> None:
    text = render(query)
    cut = data.draw(st.integers(0, len(text)))
    try:
        parse(text[:cut])
    except LogQueryError as exc:
        assert exc.position is not None and 0 <= exc.position <= cut


@given(st.text(alphabet=st.sampled_from(list('{}|=!~"`,\\ axyjsonlgfmt()[]*+.')), max_size=40))
@example('{a="x"')
@example("`")
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_parses_or_fails_with_a_position(text: str) -> None:
    try:
        query = parse(text)
    except LogQueryError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        assert f"at position {exc.position}" in str(exc)
    else:
        validate(query)  # whatever parses is a valid query
        assert parse(render(query)) == query


# --- matching --------------------------------------------------------------------------------


def test_matchers_on_columns_labels_and_missing_values() -> None:
    rec = record(
        agent="a1",
        labels={"region": "eu", "k8s.pod": "web-1"},
        trace_id="t1",
        template_id=42,
        severity=Severity.ERROR,
    )
    assert matches(parse('{service="api", agent="a1", trace_id="t1", span_id=""}'), rec)
    assert matches(parse('{template="42", region="eu", k8s.pod=~"web-[0-9]"}'), rec)
    assert matches(parse('{missing="", missing!~".+", region!="us"}'), rec)
    assert matches(parse('{severity="err"}'), rec)
    assert matches(parse('{severity=~"error|warning"}'), rec)
    assert not matches(parse('{severity!~"ERR.*"}'), rec)
    assert not matches(parse('{region=~"e"}'), rec)  # regexes match the whole value
    assert not matches(parse('{template=""}'), rec)
    assert matches(parse('{template=""}'), record())


def test_line_filters() -> None:
    rec = record("GET /api 504 upstream timeout\nretrying")
    assert matches(parse('|= "timeout" != "200" |~ "5[0-9]{2}" !~ "^POST"'), rec)
    assert matches(parse('|~ "timeout.retrying"'), rec)  # "." matches a newline
    assert not matches(parse('|= "Timeout"'), rec)
    assert matches(parse('|~ "(?i)TIMEOUT"'), rec)
    assert matches(parse('|= ""'), rec)
    assert not matches(parse('!= ""'), rec)


def test_regex_bombs_run_in_linear_time() -> None:
    rec = record("a" * 100_000 + "!")
    started = time.perf_counter()
    assert not matches(parse('|~ "^(a+)+$"'), rec)
    assert not matches(parse('{service=~"(a|aa)*b"}'), record(service="a" * 50_000))
    assert time.perf_counter() - started < 2.0


def test_json_fields() -> None:
    message = '{"status": 500, "ok": false, "user": {"id": "u1", "n": 1.50}, "x.y": null, "l": [1]}'
    assert extract_fields("json", message) == {
        "status": "500",
        "ok": "false",
        "user_id": "u1",
        "user_n": "1.50",
        "x_y": "",
    }
    assert extract_fields("json", "not json {") == {}
    assert extract_fields("json", "[1, 2]") == {}
    rec = record(message)
    assert matches(parse('| json | status="500" | user_id=~"u[0-9]" | l="" | x.y=""'), rec)
    assert not matches(parse('| json | status!="500"'), rec)
    assert matches(parse('| json | nothing=""'), record("plain text"))


def test_logfmt_fields() -> None:
    message = 'level=info msg="hello \\"world\\"" dur=1.5s bare k=v=w empty= t=a\\tb u="\\u00e9"'
    assert extract_fields("logfmt", message) == {
        "level": "info",
        "msg": 'hello "world"',
        "dur": "1.5s",
        "bare": "",
        "k": "v=w",
        "empty": "",
        "t": "a\\tb",
        "u": "é",
    }
    assert extract_fields("logfmt", 'a="unterminated') == {"a": "unterminated"}
    rec = record(message)
    assert matches(parse('| logfmt | level="info" | msg=~"hello.*" | missing=""'), rec)
    assert not matches(parse('| logfmt | level=~"debug|warn"'), rec)


@pytest.mark.parametrize("pattern", ["\\(?<x", "[(?<]x", "[]?(<]", "[^](?<]"])
def test_new_named_group_check_skips_escapes_and_classes(pattern: str) -> None:
    assert parse(f"|~ `{pattern}`").line_filters[0].value == pattern


def test_regex_wrapping_is_the_same_for_every_engine() -> None:
    assert anchored_regex("a|b") == "^(?s:a|b)$"
    assert line_regex("a|b") == "(?s:a|b)"


def test_built_queries_are_validated() -> None:
    with pytest.raises(LogQueryError, match="invalid regex"):
        matches(LogQuery(line_filters=(LineFilter("|~", "(unclosed"),)), record())
    with pytest.raises(LogQueryError, match="unknown matcher operator"):
        validate(LogQuery(matchers=(Matcher("a", "==", "x"),)))
    with pytest.raises(LogQueryError, match="invalid regex"):
        validate(LogQuery(matchers=(Matcher("a", "=~", "\\Qabc"),)))  # breaks out of the group
