"""The fast path of the JSON batch: ``{"samples": [...]}`` decoded straight into columns.

:func:`decode_columns` decodes the body with msgspec into small typed structs (no dict per
sample) and keeps each sample's ``labels`` object as its raw JSON bytes. Those bytes are the
label-set token of :class:`~agentdeck.telemetry.ingest.SampleColumns`: a client that sends
the same labels sends the same bytes, so each distinct label set is parsed and validated once
(per process and tenant), and the ingest core tells samples apart with C-level dictionary
lookups instead of walking them in Python.

It handles the common, well-formed case only and returns ``None`` for anything else
(compact ``values`` form, a value that is not a number, a string timestamp, an unknown key, a
syntax error, ...): the caller then runs the general parser
(:func:`agentdeck.telemetry.service.parse_batch`), which gives the per-sample errors and
answers. Whatever this path accepts, it accepts with the same samples, the same metadata and
the same refusals as the general parser (``tests/telemetry/test_json_columns.py`` checks
them against each other).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
import numpy as np
import orjson

from agentdeck.telemetry.ingest import Invalid, MetricMeta, SampleColumns, SampleError
from agentdeck.telemetry.models import MetricType

_TYPES = {t.value: t for t in MetricType}
_TYPE_NAMES = ", ".join(_TYPES)
_NULL = msgspec.Raw(b"null")
_BAD_LABELS: Invalid = ("invalid_labels", "labels", "labels must be an object of strings")
#: Parsed label objects remembered (raw bytes → (labels, agent)); cleared when full.
_MEMO_MAX = 100_000


class _Sample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Unknown keys are refused (the general parser then takes the body): msgspec skips
    # unknown values without checking their UTF-8, which orjson would refuse. gc=False: the
    # fields are never containers, so the cyclic collector need not track 10,000 of them.
    name: str
    value: float
    timestamp: int | None = None
    labels: msgspec.Raw = _NULL


class _MetaSample(_Sample, forbid_unknown_fields=True, gc=False):
    # A sample that may carry metadata: decoded only when a body has some (see _decode).
    kind: Any = msgspec.field(default=msgspec.UNSET, name="type")
    unit: Any = msgspec.UNSET
    help: Any = msgspec.UNSET


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    samples: list[_Sample]
    values: Any = None


class _MetaBatch(msgspec.Struct, forbid_unknown_fields=True):
    samples: list[_MetaSample]
    values: Any = None


@functools.cache
def _decoders() -> tuple[msgspec.json.Decoder[_Batch], msgspec.json.Decoder[_MetaBatch]]:
    return msgspec.json.Decoder(_Batch), msgspec.json.Decoder(_MetaBatch)


def _decode(body: bytes) -> _Batch | _MetaBatch | None:
    """The body as structs: without metadata fields first (most bodies have none, and
    looking for them in every sample would cost as much as decoding), with them when that
    fails (a sample with ``type``, ``unit`` or ``help`` usually fails it at once)."""
    plain, with_meta = _decoders()
    try:
        return plain.decode(body)
    except msgspec.ValidationError:
        pass  # an unknown key, which may be metadata, or a wrong type: try with metadata
    except (msgspec.DecodeError, RecursionError):
        return None
    try:
        return with_meta.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


_NAME = attrgetter("name")
_VALUE = attrgetter("value")
_TIMESTAMP = attrgetter("timestamp")
_LABELS = attrgetter("labels")
_FIRST = itemgetter(0)


class _Undecodable(Exception):
    """A labels object orjson refuses: the general parser answers for the whole body."""


_memo: dict[bytes, tuple[dict[str, Any] | Invalid | None, str | None]] = {}


def _parse_labels(raw: bytes) -> tuple[dict[str, Any] | Invalid | None, str | None]:
    """(labels, agent) of a raw labels object, as the general parser reads them."""
    try:
        labels = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Undecodable from exc
    if labels is None:
        return None, None
    if type(labels) is not dict:
        return _BAD_LABELS, None
    agent = labels.get("agent")
    return labels, agent if agent and type(agent) is str else None


@dataclass(slots=True)
class ColumnBatch:
    """A decoded batch: columns for the ingest core plus what was refused while decoding."""

    columns: SampleColumns
    metadata: list[MetricMeta] = field(default_factory=list)
    errors: list[SampleError] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)
    total: int = 0


def decode_columns(body: bytes, *, max_samples: int, now_ms: int) -> ColumnBatch | None:
    """Columns of a ``samples``-only batch body, or ``None`` when the general parser must
    read it. Samples without a timestamp get ``now_ms``."""
    doc = _decode(body)
    if doc is None:
        return None
    samples = doc.samples
    n = len(samples)
    if doc.values is not None or not 0 < n <= max_samples:
        return None
    try:
        timestamps = np.fromiter(map(_TIMESTAMP, samples), dtype=np.int64, count=n)
    except TypeError:  # some have none: they get now_ms
        stamps = [now_ms if ts is None else ts for ts in map(_TIMESTAMP, samples)]
        try:
            timestamps = np.fromiter(stamps, dtype=np.int64, count=n)
        except OverflowError:
            return None
    except OverflowError:  # beyond int64: the general path names it
        return None
    values = np.fromiter(map(_VALUE, samples), dtype=np.float64, count=n)
    if not np.isfinite(values).all():  # JSON has no NaN or infinity; msgspec refuses 1e400
        return None
    names = list(map(_NAME, samples))
    raws = list(map(bytes, map(_LABELS, samples)))

    distinct = list(set(raws))
    memo = _memo
    missing = [raw for raw in distinct if raw not in memo]
    if missing:
        if len(memo) + len(missing) > _MEMO_MAX:
            memo.clear()
        try:
            for raw in missing:
                memo[raw] = _parse_labels(raw)
        except _Undecodable:
            return None
    parsed = list(map(memo.__getitem__, distinct))
    label_sets: Mapping[Any, Any] = dict(zip(distinct, map(_FIRST, parsed), strict=True))
    out = ColumnBatch(
        SampleColumns(names, raws, label_sets, timestamps, values),
        agents={agent for _, agent in parsed if agent is not None},
        total=n,
    )
    if isinstance(doc, _MetaBatch):
        _read_metadata(doc.samples, label_sets, out)
    return out


def _read_metadata(
    samples: list[_MetaSample], label_sets: Mapping[Any, Any], out: ColumnBatch
) -> None:
    """Type, unit and help of the samples that carry them; samples whose metadata is invalid
    are refused here and left out of the columns (as the general parser does)."""
    unset = msgspec.UNSET
    meta: dict[str, MetricMeta] = {}
    columns = out.columns
    keep = np.ones(len(samples), dtype=bool)
    for i, sample in enumerate(samples):
        if sample.kind is unset and sample.unit is unset and sample.help is unset:
            continue
        if type(label_sets[columns.tokens[i]]) is tuple:
            continue  # labels that are no object: refused for that first, by the core
        fields = {
            key: value
            for key, value in (("type", sample.kind), ("unit", sample.unit), ("help", sample.help))
            if value is not unset
        }
        problem = metadata_problem(fields, sample.name, meta)
        if problem:
            keep[i] = False
            out.errors.append(SampleError(i, problem[0], problem[1]))
            out.reasons.append("invalid_metadata")
    out.metadata.extend(meta.values())
    if not keep.all():
        positions = np.flatnonzero(keep)
        chosen = positions.tolist()
        out.columns = SampleColumns(
            [columns.names[i] for i in chosen],
            [columns.tokens[i] for i in chosen],
            columns.label_sets,
            columns.timestamps[positions],
            columns.values[positions],
            positions.astype(np.int64),
        )


def metadata_problem(
    sample: Mapping[str, Any], name: Any, meta: dict[str, MetricMeta]
) -> tuple[str, str] | None:
    """Record the sample's type/unit/help in ``meta``; ``(field, message)`` when invalid."""
    kind = sample.get("type")
    unit = sample.get("unit") or ""
    help_text = sample.get("help") or ""
    if kind is not None and kind not in _TYPES:
        return ("type", f"type must be one of {_TYPE_NAMES}")
    if not isinstance(unit, str) or len(unit) > 64:
        return ("unit", "unit must be a string of at most 64 characters")
    if not isinstance(help_text, str) or len(help_text) > 1024:
        return ("help", "help must be a string of at most 1024 characters")
    if isinstance(name, str) and name:
        previous = meta.get(name)
        meta[name] = MetricMeta(
            name,
            _TYPES[kind]
            if kind is not None
            else (previous.type if previous else MetricType.unknown),
            unit or (previous.unit if previous else ""),
            help_text or (previous.help if previous else ""),
        )
    return None
