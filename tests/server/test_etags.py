"""The revision ETags shared by agents, alert rules and the routing tree."""

from __future__ import annotations

import pytest
from fastapi import Response

from agentdeck.server.etags import expected_revisions, tag_or_not_modified


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("*", None),
        ('"3"', {3}),
        ('"3", "5"', {3, 5}),
        ('W/"3"', set()),  # weak tags never match a write precondition: 412
        ("3", set()),  # unquoted: malformed, fails safe
        ('"abc"', set()),
    ],
)
def test_if_match_gives_the_revisions_a_write_may_replace(
    header: str | None, expected: set[int] | None
) -> None:
    assert expected_revisions(header) == expected


@pytest.mark.parametrize("header", ['"4"', 'W/"4"', '"1", "4"', "*", ' "4" '])
def test_if_none_match_naming_the_revision_is_a_304_with_the_etag(header: str) -> None:
    response = Response()
    unchanged = tag_or_not_modified(response, 4, header)
    assert unchanged is not None
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == '"4"'


@pytest.mark.parametrize("header", [None, '"3"', 'W/"5"', "4"])
def test_otherwise_the_answer_carries_the_etag(header: str | None) -> None:
    response = Response()
    assert tag_or_not_modified(response, 4, header) is None
    assert response.headers["etag"] == '"4"'
