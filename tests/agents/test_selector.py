"""The label selector parser (Kubernetes syntax)."""

from __future__ import annotations

import pytest

from agentdeck.agents.selectors import Requirement, parse_label_selector
from agentdeck.errors import Invalid


def test_parses_every_operator() -> None:
    parsed = parse_label_selector(
        "a=1, b==2, c!=3, d, !e, f in (x, y), g notin (z), example.com/h=v"
    )
    assert parsed == [
        Requirement("a", "eq", ("1",)),
        Requirement("b", "eq", ("2",)),
        Requirement("c", "ne", ("3",)),
        Requirement("d", "exists"),
        Requirement("e", "not_exists"),
        Requirement("f", "in", ("x", "y")),
        Requirement("g", "notin", ("z",)),
        Requirement("example.com/h", "eq", ("v",)),
    ]


def test_empty_value_is_allowed() -> None:
    assert parse_label_selector("a=") == [Requirement("a", "eq", ("",))]


@pytest.mark.parametrize("selector", ["a in (b", "a=b)", "a,,b", "a in ()", "a b", "!"])
def test_rejects_malformed_selectors(selector: str) -> None:
    with pytest.raises(Invalid) as caught:  # answered as 422
        parse_label_selector(selector)
    assert caught.value.errors is not None
    assert list(caught.value.errors[0].loc) == ["query", "label"]
