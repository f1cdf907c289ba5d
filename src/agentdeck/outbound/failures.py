"""What a failed outbound request may tell whom.

A failure has a ``summary`` (a category: shown to everyone who can see the resource, so it
cannot serve as a port scanner's answer) and a ``detail`` (the cause, for admins; never more
of the remote answer than an escaped excerpt of :data:`EXCERPT_CHARS` characters).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import httpx

from agentdeck.outbound.policy import OutboundRefused

EXCERPT_CHARS = 200
TIMED_OUT = "timed out"
CONNECTION_FAILED = "connection failed"
REQUEST_FAILED = "request failed"


@dataclass(frozen=True, slots=True)
class Failure:
    summary: str
    detail: str


def excerpt(content: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a remote answer, at most ``limit`` characters once escaped (control and
    unprintable characters and backslashes as escapes)."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    out: list[str] = []
    size = 0
    for char in text:
        piece = char if char.isprintable() and char != "\\" else repr(char)[1:-1]
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe(exc: BaseException) -> Failure:
    """The summary and detail of an exception raised by an outbound request."""
    chain = list(_chain(exc))
    for cause in chain:
        if isinstance(cause, OutboundRefused):
            return Failure(cause.summary, str(cause))
    if any(isinstance(c, TimeoutError | httpx.TimeoutException) for c in chain):
        return Failure(TIMED_OUT, TIMED_OUT)
    for cause in chain:
        if isinstance(cause, socket.gaierror) or (
            isinstance(cause, httpx.ConnectError) and "cannot resolve" in str(cause)
        ):
            return Failure(CONNECTION_FAILED, "cannot resolve the host name")
        if isinstance(cause, ConnectionRefusedError):
            return Failure(CONNECTION_FAILED, "connection refused")
        if isinstance(cause, ConnectionResetError):
            return Failure(CONNECTION_FAILED, "connection reset")
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return Failure(CONNECTION_FAILED, excerpt(f"TLS error: {cause}"))
    connect_error = (httpx.ConnectError, aiohttp.ClientConnectorError, ConnectionError)
    summary = CONNECTION_FAILED if isinstance(exc, connect_error) else REQUEST_FAILED
    text = str(exc)
    return Failure(
        summary, excerpt(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    )
