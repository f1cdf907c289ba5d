"""A URL field type for channel settings: http(s), with a host."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field


def _check(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("the URL has an invalid port") from exc
    return url


HttpUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_check)]
