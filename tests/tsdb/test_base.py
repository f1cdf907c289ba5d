"""Sample batches and label matchers (the parts of the protocol that need no backend)."""

from __future__ import annotations

import numpy as np
import pytest

from agentdeck.tsdb.base import (
    InvalidMatcher,
    Matcher,
    MatchOp,
    SampleBatch,
    SampleBatchBuilder,
    SeriesKey,
    check_selector,
    format_selector,
    matches_series,
)


def test_series_key_is_canonical() -> None:
    a = SeriesKey.of("m", {"b": "2", "a": "1", "empty": ""})
    b = SeriesKey.of("m", {"a": "1", "b": "2"})
    assert a == b and hash(a) == hash(b)
    assert a.labels == (("a", "1"), ("b", "2"))
    assert a.metric() == {"__name__": "m", "a": "1", "b": "2"}


def test_from_rows_resolves_each_series_once() -> None:
    batch = SampleBatch.from_rows(
        ["cpu", "cpu", "mem", "cpu"],
        [{"agent": "a"}, {"agent": "b"}, {"agent": "a"}, {"agent": "a", "x": ""}],
        [1, 2, 3, 4],
        [0.5, 1.5, 2.5, 3.5],
    )
    assert batch.series == (
        SeriesKey.of("cpu", {"agent": "a"}),
        SeriesKey.of("cpu", {"agent": "b"}),
        SeriesKey.of("mem", {"agent": "a"}),
    )
    assert batch.series_index.tolist() == [0, 1, 2, 0]
    assert batch.timestamps.dtype == np.int64 and batch.values.dtype == np.float64
    assert len(batch) == 4


def test_builder_matches_from_rows() -> None:
    builder = SampleBatchBuilder()
    builder.add("cpu", {"agent": "a"}, 1, 0.5)
    builder.add("cpu", {"agent": "a"}, 2, 0.75)
    builder.add("up", None, 2, 1.0)
    batch = builder.build()
    assert len(builder) == 3
    assert batch.series == (SeriesKey.of("cpu", {"agent": "a"}), SeriesKey.of("up"))
    assert batch.series_index.tolist() == [0, 0, 1]
    assert batch.values.tolist() == [0.5, 0.75, 1.0]


def test_from_series_concatenates() -> None:
    batch = SampleBatch.from_series([("a", {}, [1, 2], [1.0, 2.0]), ("b", {"x": "y"}, [3], [3.0])])
    assert batch.series_index.tolist() == [0, 0, 1]
    assert batch.timestamps.tolist() == [1, 2, 3]
    assert len(SampleBatch.from_series([])) == 0
    with pytest.raises(ValueError, match="differ in length"):
        SampleBatch.from_series([("a", {}, [1, 2], [1.0])])


@pytest.mark.parametrize(
    ("values", "timestamps", "message"),
    [
        ([float("nan")], [1], "NaN"),
        ([1.0], [-1], "timestamps must be within"),
        ([1.0], [10**14], "timestamps must be within"),
    ],
)
def test_batch_refuses_what_no_store_can_keep(
    values: list[float], timestamps: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SampleBatch.from_series([("m", {}, timestamps, values)])


def test_batch_checks_its_columns() -> None:
    keys = (SeriesKey.of("m"),)
    with pytest.raises(ValueError, match="same length"):
        SampleBatch(keys, np.zeros(2, np.int32), np.zeros(1, np.int64), np.zeros(1))
    with pytest.raises(ValueError, match="outside series"):
        SampleBatch(keys, np.array([1], np.int32), np.zeros(1, np.int64), np.zeros(1))
    with pytest.raises(ValueError, match="int64"):
        SampleBatch(keys, np.zeros(1, np.int32), np.zeros(1, np.float64), np.zeros(1))
    with pytest.raises(ValueError, match="same length"):
        SampleBatch.from_rows(["m"], [], [1], [1.0])


@pytest.mark.parametrize(
    ("op", "pattern", "value", "expected"),
    [
        ("=", "a", "a", True),
        ("=", "a", "ab", False),
        ("!=", "a", "b", True),
        ("!=", "a", "", True),
        ("=~", "a.*", "abc", True),
        ("=~", "a.*", "xabc", False),  # anchored at the start
        ("=~", "b", "abc", False),  # and at the end
        ("=~", "a|b", "b", True),  # alternation is anchored as a whole
        ("=~", "a|b", "ab", False),
        ("=~", ".*", "", True),
        ("=~", ".+", "", False),
        ("=~", "a.b", "a\nb", True),  # . matches newline, as in Prometheus
        ("=~", "(?i)abc", "ABC", True),
        ("!~", "a.*", "abc", False),
        ("!~", "a.*", "", True),
    ],
)
def test_matcher_semantics(op: str, pattern: str, value: str, expected: bool) -> None:
    assert Matcher("l", op, pattern).matches(value) is expected


def test_bad_matchers_are_refused() -> None:
    with pytest.raises(InvalidMatcher, match="invalid regex"):
        Matcher("l", "=~", "(unclosed")
    with pytest.raises(InvalidMatcher, match="unknown match operator"):
        Matcher("l", "==", "x")


def test_check_selector_needs_a_matcher_that_rejects_empty() -> None:
    check_selector([Matcher.name_is("up")])
    check_selector([Matcher("job", "=~", ".+"), Matcher("x", "=", "")])
    for selector in ([], [Matcher("job", "=~", ".*")], [Matcher("job", "!=", "a")]):
        with pytest.raises(InvalidMatcher):
            check_selector(selector)


def test_matches_series_treats_missing_labels_as_empty() -> None:
    key = SeriesKey.of("up", {"job": "api"})
    assert matches_series([Matcher("env", "=", "")], key)
    assert not matches_series([Matcher("env", "!=", "")], key)
    assert matches_series([Matcher("__name__", "=~", "u.")], key)


def test_format_selector_escapes_values() -> None:
    selector = format_selector(
        [Matcher("__name__", MatchOp.eq, "up"), Matcher("path", "=~", 'C:\\dir\\"x"\n')]
    )
    assert selector == '{__name__="up",path=~"C:\\\\dir\\\\\\"x\\"\\n"}'
