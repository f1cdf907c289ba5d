"""The shape every user-given outbound URL must have (a scrape target, a channel's webhook)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split_http_url(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host and a valid port; ``ValueError`` (worded for a
    validation answer) when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("the URL has an invalid port") from exc
    return parts
