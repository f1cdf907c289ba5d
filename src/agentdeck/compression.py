"""Request bodies with their compression undone, bounded: one function for every ingest path.

``decompress`` reads a ``Content-Encoding`` (identity, gzip, deflate, zstd, snappy) and returns
at most ``limit`` decoded bytes. It raises domain errors only: :class:`~agentdeck.errors.Malformed`
(``malformed-body``) for a corrupt or truncated body, :class:`~agentdeck.errors.TooLarge` for more
than ``limit`` decoded bytes (no decompression bombs) and
:class:`~agentdeck.errors.UnsupportedMediaType` for an encoding it does not know.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import cramjam
import orjson
import zstandard

from agentdeck.errors import Malformed, TooLarge, UnsupportedMediaType

#: The encodings :func:`decompress` reads (``x-gzip`` is read as gzip).
ENCODINGS = ("identity", "gzip", "deflate", "zstd", "snappy")


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the decompressed request body exceeds {limit} bytes")


def malformed_body(detail: str) -> Malformed:
    """A body that cannot be read (corrupt, truncated, not the format it claims): 400
    ``malformed-body`` for every ingest path."""
    return Malformed(detail, kind="malformed-body")


def load_json(body: bytes) -> Any:
    """The JSON document of a body: orjson, then the standard library with invalid UTF-8
    replaced (orjson refuses it); 400 ``malformed-body`` naming the fault when neither reads."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body.decode("utf-8", errors="replace"))
        except ValueError as exc:
            raise malformed_body(f"the body is not valid JSON: {exc}") from None


def _corrupt(coding: str, why: object) -> Malformed:
    return malformed_body(f"the {coding} body is corrupt: {why}")


def _inflate(raw: bytes, coding: str, limit: int) -> bytes:
    wbits = 47 if coding != "deflate" else 15  # 47: a gzip or zlib header, detected
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise _corrupt(coding, exc) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    if not inflater.eof:
        raise malformed_body(f"the {coding} body is truncated")
    return out


def _unzstd(raw: bytes, limit: int) -> bytes:
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        out = reader.read(limit + 1)
        while len(out) <= limit:
            more = reader.read(limit + 1 - len(out))
            if not more:
                break
            out += more
    except zstandard.ZstdError as exc:
        raise _corrupt("zstd", exc) from None
    if len(out) > limit:
        raise _too_large(limit)
    return out


def _unsnappy(raw: bytes, limit: int) -> bytes:
    """Snappy *block* format (Prometheus remote write, Loki push)."""
    try:
        size = cramjam.snappy.decompress_raw_len(raw)
    except Exception as exc:  # cramjam raises its own error types
        raise _corrupt("snappy", exc) from None
    if size > limit:
        raise _too_large(limit)
    try:
        return bytes(cramjam.snappy.decompress_raw(raw))
    except Exception as exc:
        raise _corrupt("snappy", exc) from None


def decompress(raw: bytes, encoding: str | None, *, limit: int) -> bytes:
    """``raw`` with its ``encoding`` undone; at most ``limit`` bytes come out."""
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        if len(raw) > limit:
            raise _too_large(limit)
        return raw
    if coding in ("gzip", "x-gzip", "deflate"):
        return _inflate(raw, coding, limit)
    if coding == "zstd":
        return _unzstd(raw, limit)
    if coding == "snappy":
        return _unsnappy(raw, limit)
    raise UnsupportedMediaType(
        f"unsupported Content-Encoding {coding!r}: send identity, gzip, deflate, zstd or snappy",
        kind="unsupported-media-type",
    )


#: The two OTLP/HTTP body types (metrics and logs alike).
OTLP_PROTOBUF = "application/x-protobuf"
OTLP_JSON = "application/json"


def otlp_media_type(content_type: str | None) -> str:
    """``application/x-protobuf`` (the default) or ``application/json``: the OTLP body type a
    ``Content-Type`` names; :class:`~agentdeck.errors.UnsupportedMediaType` for any other."""
    base = (content_type or OTLP_PROTOBUF).split(";", 1)[0].strip().lower()
    if base in ("", OTLP_PROTOBUF, "application/protobuf"):
        return OTLP_PROTOBUF
    if base == OTLP_JSON:
        return OTLP_JSON
    raise UnsupportedMediaType(
        f"unsupported Content-Type {content_type!r}: send {OTLP_PROTOBUF} or {OTLP_JSON}"
    )
