"""Revision ETags of the resources written with optimistic concurrency (agents, alert rules,
the routing tree).

Each such row carries a ``revision``; responses send it as a strong ETag (``"<revision>"``).
``GET`` honours ``If-None-Match`` (304); writes honour ``If-Match``: the services refuse a stale
revision with 412 and write nothing.
"""

from __future__ import annotations

import re

from fastapi import Response

_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def etag(revision: int) -> str:
    """The strong ETag of a revision."""
    return f'"{revision}"'


def tag(response: Response, revision: int) -> None:
    """Send ``revision`` as the response's ETag."""
    response.headers["ETag"] = etag(revision)


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque tag) pairs of an If-Match / If-None-Match header; None for `*`."""
    if header.strip() == "*":
        return None
    tags = []
    for part in header.split(","):
        match = _ENTITY_TAG.fullmatch(part)
        if match:
            tags.append((match[1] is not None, match[2]))
    return tags


def expected_revisions(if_match: str | None) -> set[int] | None:
    """Revisions allowed by If-Match (strong comparison); None means no precondition.

    Unparseable or weak tags match nothing, so a malformed header fails safe with 412.
    """
    if if_match is None:
        return None
    tags = _entity_tags(if_match)
    if tags is None:
        return None  # `*`: any current representation; a missing row is a 404 anyway
    return {int(tag) for weak, tag in tags if not weak and tag.isdigit()}


def tag_or_not_modified(
    response: Response, revision: int, if_none_match: str | None
) -> Response | None:
    """The 304 answer when If-None-Match names ``revision`` (weak comparison) or is `*`;
    otherwise None, with ``revision`` sent as the response's ETag."""
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        if tags is None or any(tag == str(revision) for _, tag in tags):
            return Response(status_code=304, headers={"ETag": etag(revision)})
    tag(response, revision)
    return None
