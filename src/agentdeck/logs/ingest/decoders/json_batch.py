"""The JSON batch: ``{"entries": [{timestamp?, severity, service, message, labels?, trace_id?,
span_id?, agent?}]}``.

A well-formed body is decoded in one pass by msgspec into typed entries. A body where some
entry has a field of the wrong type is decoded again as plain JSON, so that each bad entry
gets its own error and the others are kept. Invalid UTF-8 is replaced (U+FFFD), not refused.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import orjson

from agentdeck.errors import Malformed
from agentdeck.logs.ingest.entry import Decoded, EntryError, RawEntry


class _Entry(msgspec.Struct, gc=False):
    timestamp: str | int | float | None = None
    severity: str | int | None = None
    service: str | None = None
    message: str | None = None
    labels: dict[str, str] | None = None
    trace_id: str | None = None
    span_id: str | None = None
    agent: str | None = None
    fields: ClassVar[None] = None
    default_service: ClassVar[str] = ""


class _Batch(msgspec.Struct, gc=False):
    entries: list[_Entry]


_DECODER = msgspec.json.Decoder(_Batch)
_KNOWN = frozenset(_Entry.__struct_fields__)


def _malformed(detail: str) -> Malformed:
    return Malformed(detail, kind="malformed-body")


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "utf-8" not in str(exc).lower() and "surrogate" not in str(exc).lower():
            raise _malformed(f"the body is not valid JSON: {exc}") from None
    # Invalid UTF-8 (or a lone surrogate escape): replace it and read again.
    import json

    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _malformed(f"the body is not valid JSON: {exc}") from None
    return _scrub(document)


def _scrub(value: Any) -> Any:
    """Lone surrogates (from ``\\ud800`` escapes) replaced, so every string encodes as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode("utf-8", errors="replace").decode()
        return value
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def decode(body: bytes) -> Decoded:
    """The entries of a JSON batch body (already decompressed)."""
    try:
        batch = _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        pass
    else:
        return Decoded(entries=batch.entries)  # type: ignore[arg-type]  # same attributes
    return _slow(_loads(body))


def _slow(document: Any) -> Decoded:
    if not isinstance(document, dict):
        raise _malformed('the body must be a JSON object {"entries": [...]}')
    items = document.get("entries")
    if not isinstance(items, list):
        raise _malformed('the body must have "entries": a list of log entries')
    decoded = Decoded()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            decoded.entries.append(None)
            decoded.errors.append(
                EntryError(index, "entry", "an entry must be an object", "invalid")
            )
            continue
        labels = item.get("labels")
        if labels is not None and not isinstance(labels, dict):
            decoded.entries.append(None)
            decoded.errors.append(
                EntryError(index, "labels", "labels must be an object of strings", "invalid")
            )
            continue
        decoded.entries.append(
            RawEntry(
                timestamp=item.get("timestamp"),
                severity=item.get("severity"),
                service=item.get("service"),
                message=item.get("message"),
                labels=labels,
                trace_id=item.get("trace_id"),
                span_id=item.get("span_id"),
                agent=item.get("agent"),
            )
        )
    return decoded
