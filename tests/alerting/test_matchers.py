"""Label matchers behave as in Prometheus and Alertmanager."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentdeck.alerting.routing.matchers import (
    Matcher,
    MatcherError,
    MatcherModel,
    from_dicts,
    matches_all,
    parse_matcher,
    parse_matchers,
)

LABELS = {"alertname": "HighCPU", "severity": "critical", "agent": "api-2", "team": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity="critical"', True),
        ('severity!="critical"', False),
        ('severity=~"warning|critical"', True),
        ('severity!~"warning|critical"', False),
        # anchored: "api" alone does not match "api-2"
        ('agent=~"api"', False),
        ('agent=~"api.*"', True),
        # a missing label reads as the empty string
        ('missing=""', True),
        ('missing!=""', False),
        ('team=""', True),
        ("severity=critical", True),
        ('agent = "api-2"', True),
    ],
)
def test_a_matcher_matches_like_prometheus(text: str, expected: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is expected


def test_selectors_parse_with_or_without_braces_and_escapes() -> None:
    parsed = parse_matchers(r'{alertname="HighCPU", note="say \"hi\"", path=~"a\\.b"}')
    assert [(m.name, m.op, m.value) for m in parsed] == [
        ("alertname", "=", "HighCPU"),
        ("note", "=", 'say "hi"'),
        ("path", "=~", r"a\.b"),
    ]
    assert parse_matchers('a="1",b!="2"') == [Matcher("a", "=", "1"), Matcher("b", "!=", "2")]
    assert parse_matchers("{}") == []
    assert parse_matchers("  ") == []


def test_printing_a_matcher_parses_back_to_the_same_matcher() -> None:
    original = Matcher("note", "=", 'a"b\\c\nd')
    assert parse_matcher(str(original)) == original


@pytest.mark.parametrize(
    "text", ['{a="1"', 'a=="1"', '1abc="x"', 'a="1" b="2"', 'a=~"("', "just-text"]
)
def test_bad_matchers_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(MatcherError):
        parse_matchers(text)


def test_all_matchers_must_match_and_none_match_everything() -> None:
    assert matches_all(parse_matchers('{severity="critical",agent=~"api-.*"}'), LABELS)
    assert not matches_all(parse_matchers('{severity="critical",agent="web"}'), LABELS)
    assert matches_all([], LABELS)


def test_matcher_model_validates_name_operator_and_regex() -> None:
    assert MatcherModel(name="agent", op="=~", value="a.*").to_matcher().matches({"agent": "ab"})
    for bad in (
        {"name": "1x", "op": "=", "value": "v"},
        {"name": "x", "op": "~", "value": "v"},
        {"name": "x", "op": "=~", "value": "("},
    ):
        with pytest.raises(ValidationError):
            MatcherModel.model_validate(bad)


def test_matchers_stored_as_dicts_round_trip() -> None:
    stored = [m.to_dict() for m in parse_matchers('{a="1",b!~"x|y"}')]
    assert from_dicts(stored) == parse_matchers('{a="1",b!~"x|y"}')
