"""The JSON batch body (``POST /api/v1/metrics/batch``) decoded for the ingest core.

A batch body goes first to the columnar fast path (:mod:`.json_fast`: msgspec structs
numbered into columns, decoded in a worker process for large bodies (:mod:`.pool`);
:mod:`.json_columns` makes them a :class:`~agentdeck.ingest.batch.Batch` of
:class:`~agentdeck.ingest.batch.KeyedColumns`, so the core validates each distinct label set
once); bodies it does not take (the compact form, per-sample mistakes, unusual shapes) are
parsed with orjson and walked by hand into a batch of plain rows, naming every mistake.
Pydantic models for 10,000 samples would cost more than everything else on the path
together.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import orjson

from agentdeck.errors import Malformed, TooLarge
from agentdeck.ingest.batch import Batch, Row, paused_gc
from agentdeck.ingest.decoders.json_columns import LABELS, column_batch, metric_meta
from agentdeck.ingest.decoders.json_fast import Decoded, Meta, decode, is_unicode, metadata_problem
from agentdeck.ingest.decoders.pool import DecodePool

# --- the JSON batch ------------------------------------------------------------------------


def parse_timestamp(value: Any) -> int | str:
    """Milliseconds from an integer (ms) or an RFC 3339 string; a message when invalid."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return f"timestamp {value!r} is neither milliseconds nor an RFC 3339 time"
        if moment.tzinfo is None:
            return f"timestamp {value!r} has no time zone offset (RFC 3339 needs one, e.g. Z)"
        return int(moment.timestamp() * 1000)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return "timestamp must be integer milliseconds or an RFC 3339 string"


def _value_problem(value: Any) -> str:
    if isinstance(value, str):
        return f"value must be a finite number, not the string {value[:32]!r}"
    if value is None:
        return "value is missing"
    if isinstance(value, float):
        return "value must be a finite number"
    return "value must be a number"


def read_batch(body: bytes, *, max_samples: int, now_ms: int) -> Batch:
    """A ``/metrics/batch`` body as columns (fast path) or rows (:func:`parse_batch`).

    Both answer alike; samples without a timestamp get ``now_ms``. Raises as
    :func:`parse_batch`.
    """
    with paused_gc():
        decoded = decode(body, max_samples=max_samples, now_ms=now_ms, memo=LABELS)
        return _columns_or_rows(decoded, body, max_samples, now_ms)


async def read_batch_with(pool: DecodePool, body: bytes, *, max_samples: int, now_ms: int) -> Batch:
    """:func:`read_batch`, with large bodies decoded by ``pool``'s worker processes."""
    decoded = await pool.decode(body, max_samples=max_samples, now_ms=now_ms)
    with paused_gc():
        return _columns_or_rows(decoded, body, max_samples, now_ms)


def _columns_or_rows(decoded: Decoded | None, body: bytes, max_samples: int, now_ms: int) -> Batch:
    """The decoded columns for the core, or the general parser's rows when the fast path
    did not take the body."""
    batch = None if decoded is None else column_batch(decoded)
    if batch is None:
        batch = _parse_batch(body, max_samples=max_samples)
    batch.now_ms = now_ms
    return batch


def parse_batch(body: bytes, *, max_samples: int) -> Batch:
    """Parse a ``/metrics/batch`` body (see :class:`~agentdeck.ingest.schemas.MetricBatch`).

    Raises :class:`~agentdeck.errors.Malformed` (``malformed-json``) for bad JSON or a body of
    the wrong shape and :class:`~agentdeck.errors.TooLarge` for more than ``max_samples``
    samples. Per-sample problems become errors in the result.
    """
    with paused_gc():
        return _parse_batch(body, max_samples=max_samples)


def _parse_batch(body: bytes, *, max_samples: int) -> Batch:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        doc = _lenient_loads(body, exc)
    if not isinstance(doc, dict):
        raise _malformed("the body must be a JSON object")
    samples = doc.get("samples")
    values = doc.get("values")
    if samples is None and values is None:
        raise _malformed("the body needs 'samples' or 'values'")
    if samples is not None and not isinstance(samples, list):
        raise _malformed("'samples' must be a list")
    if values is not None and not isinstance(values, dict):
        raise _malformed("'values' must be an object of name → number")
    total = (len(samples) if samples else 0) + (len(values) if values else 0)
    if total > max_samples:
        raise TooLarge(f"the batch has {total} samples; the limit is {max_samples}")
    rows: list[Row] = []
    out = Batch(samples=rows)
    if samples:
        _parse_samples(samples, out, rows)
    if values:
        _parse_compact(doc, values, len(samples) if samples else 0, out, rows)
    return out


def _lenient_loads(body: bytes, refused: orjson.JSONDecodeError) -> Any:
    """The body as the standard library reads it, once orjson has refused it.

    orjson refuses a whole body for one number beyond float64 (``1e400``) or one lone
    surrogate (``"\\ud800"``); the standard library reads them as infinity and as a string
    holding the surrogate, which the per-sample checks then refuse with the sample's index,
    keeping the others. Anything else it refuses as well (not UTF-8, a syntax error, ``NaN``
    literals, nesting too deep) is a 400 for the whole body. Only bodies orjson refused come
    here, so well-formed ones keep the fast decoders.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(
            f"the body is not valid JSON: it is not UTF-8 "
            f"(byte {body[exc.start]:#04x} at position {exc.start})"
        ) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _malformed(f"the body is not valid JSON: {refused}") from None


def _malformed(detail: str) -> Malformed:
    return Malformed(detail, kind="malformed-json")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_samples(samples: list[Any], out: Batch, rows: list[Row]) -> None:
    agents = out.agents
    isfinite = math.isfinite
    stamps: dict[Any, int | str] = {}
    meta: dict[str, Meta] = {}
    for i, sample in enumerate(samples):
        if type(sample) is not dict:
            out.refuse(i, "malformed", "", "a sample must be a JSON object")
            continue
        value = sample.get("value")
        if (type(value) is not float or not isfinite(value)) and type(value) is not int:
            out.refuse(i, "invalid_value", "value", _value_problem(value))
            continue
        labels = sample.get("labels")
        if labels is not None:
            if type(labels) is not dict:
                out.refuse(i, "invalid_labels", "labels", "labels must be an object of strings")
                continue
            agent = labels.get("agent")
            if agent and type(agent) is str and (agent.isascii() or is_unicode(agent)):
                agents.add(agent)
        ts = sample.get("timestamp")
        if ts is not None and type(ts) is not int:
            parsed: int | str | None = stamps.get(ts) if type(ts) is str else None
            if parsed is None:
                parsed = parse_timestamp(ts)
                if type(ts) is str:
                    stamps[ts] = parsed
            if isinstance(parsed, str):
                out.refuse(i, "invalid_timestamp", "timestamp", parsed)
                continue
            ts = parsed
        name = sample.get("name")
        if len(sample) > 2 and ("type" in sample or "unit" in sample or "help" in sample):
            problem = metadata_problem(sample, name, meta)
            if problem:
                out.refuse(i, "invalid_metadata", problem[0], problem[1])
                continue
        rows.append((name, labels, value, ts, i))
    out.metadata.extend(map(metric_meta, meta.values()))


def _parse_compact(
    doc: dict[str, Any], values: dict[str, Any], start: int, out: Batch, rows: list[Row]
) -> None:
    agent = doc.get("agent")
    labels = doc.get("labels")
    index = start
    refuse_all = ""
    where = ""
    if labels is not None and type(labels) is not dict:
        refuse_all, where = "labels must be an object of strings", "labels"
    if agent is not None and (type(agent) is not str or not agent or not is_unicode(agent)):
        refuse_all, where = "agent must be a non-empty string of valid Unicode", "agent"
    ts = doc.get("timestamp")
    if ts is not None and not refuse_all:
        parsed = parse_timestamp(ts)
        if isinstance(parsed, str):
            refuse_all, where = parsed, "timestamp"
        else:
            ts = parsed
    merged: dict[str, Any] | None = dict(labels) if labels and not refuse_all else None
    if agent and not refuse_all:
        merged = {**(merged or {}), "agent": agent}
        out.agents.add(agent)
    isfinite = math.isfinite
    for name, value in values.items():
        if refuse_all:
            out.refuse(index, "invalid_" + where, where, refuse_all)
        elif (type(value) is float and isfinite(value)) or type(value) is int:
            rows.append((name, merged, value, ts, index))
        else:
            out.refuse(index, "invalid_value", "value", _value_problem(value))
        index += 1
