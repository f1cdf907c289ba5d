"""The fast path of the JSON batch, ``{"samples": [...]}``, decoded into numbered columns.

:func:`decode` decodes the body with msgspec into small typed structs (no dict per sample)
and numbers what repeats: each distinct metric name and each distinct ``labels`` object (by
its raw JSON bytes, the label-set *token*) gets an id, and every sample carries the two ids.
A client that sends the same labels sends the same bytes, so each distinct label set is parsed
and validated once, and the ingest core resolves series per distinct (name, token) pair
instead of per sample.

It handles the common, well-formed case only and returns ``None`` for anything else
(compact ``values`` form, a value that is not a number, a string timestamp, an unknown key, a
syntax error, bytes that are not UTF-8, a number beyond float64, a lone surrogate, a labels
object orjson refuses, ...): the caller then runs the general parser
(:func:`agentdeck.ingest.decoders.json.parse_batch`), which gives the per-sample errors and
answers. Whatever this path accepts, it accepts with the same samples, the same metadata and
the same refusals as the general parser (``tests/ingest/test_json_columns.py`` checks
them against each other).

This module imports only msgspec, numpy and orjson: the decode worker processes
(:mod:`.worker`) run it without loading the application.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec
import numpy as np
import orjson

#: The metric types a sample may declare (``MetricType``'s values).
TYPES = ("gauge", "counter", "histogram", "summary", "unknown")
_TYPE_NAMES = ", ".join(TYPES)
_NULL = msgspec.Raw(b"null")
#: Parsed label objects remembered (raw bytes → (labels, agent)); cleared when full.
_MEMO_MAX = 100_000
#: Why a label set is refused: (reason, field, message); the ingest core's ``Invalid``.
BAD_LABELS = ("invalid_labels", "labels", "labels must be an object of strings")

LabelSet = dict[str, Any] | tuple[str, str, str] | None


class Meta(NamedTuple):
    """A metric's declared type, unit and help (the newest declaration wins)."""

    name: str
    type: str
    unit: str
    help: str


class _Sample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Unknown keys are refused (the general parser then takes the body): msgspec skips
    # unknown values without checking their UTF-8, which orjson would refuse. gc=False: the
    # fields are never containers, so the cyclic collector need not track 10,000 of them.
    name: str
    value: float
    timestamp: int | None = None
    labels: msgspec.Raw = _NULL


class _MetaSample(_Sample, forbid_unknown_fields=True, gc=False):
    # A sample that may carry metadata: decoded only when a body has some (see _structs).
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


def _structs(body: bytes) -> _Batch | _MetaBatch | None:
    """The body as structs: without metadata fields first (most bodies have none, and
    looking for them in every sample would cost as much as decoding), with them when that
    fails (a sample with ``type``, ``unit`` or ``help`` usually fails it at once)."""
    plain, with_meta = _decoders()
    try:
        return plain.decode(body)
    except msgspec.ValidationError:
        pass  # an unknown key, which may be metadata, or a wrong type: try with metadata
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        # UnicodeDecodeError: a string field that is not UTF-8 (msgspec raises it as is).
        return None
    try:
        return with_meta.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        return None


_NAME = attrgetter("name")
_VALUE = attrgetter("value")
_TIMESTAMP = attrgetter("timestamp")
_LABELS = attrgetter("labels")


class Undecodable(Exception):
    """A labels object orjson refuses: the general parser answers for the whole body."""


@dataclass
class LabelMemo:
    """Raw labels bytes → (labels, agent), parsed once each (bounded: cleared when full)."""

    parsed: dict[bytes, tuple[LabelSet, str | None]] = field(default_factory=dict)
    limit: int = _MEMO_MAX

    def lookup(self, raws: list[bytes]) -> list[tuple[LabelSet, str | None]]:
        """(labels, agent) of each raw labels object; raises :class:`Undecodable`."""
        parsed = self.parsed
        missing = [raw for raw in raws if raw not in parsed]
        if missing:
            if len(parsed) + len(missing) > self.limit:
                parsed.clear()
            for raw in missing:
                parsed[raw] = _parse_labels(raw)
        return list(map(parsed.__getitem__, raws))


def _parse_labels(raw: bytes) -> tuple[LabelSet, str | None]:
    """(labels, agent) of a raw labels object, as the general parser reads them."""
    try:
        labels = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Undecodable from exc
    if labels is None:
        return None, None
    if type(labels) is not dict:
        return BAD_LABELS, None
    agent = labels.get("agent")
    return labels, agent if agent and type(agent) is str else None


def _numbered(
    items: Iterable[Any], n: int
) -> tuple[list[Any], np.ndarray[Any, np.dtype[np.int32]]]:
    """(distinct items in first-seen order, each item's position among them), in one pass:
    each item maps to where it was first seen, and those positions are then ranked."""
    first: dict[Any, int] = {}
    seen_at = np.fromiter(map(first.setdefault, items, count()), dtype=np.int64, count=n)
    starts = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    return list(first), np.searchsorted(starts, seen_at).astype(np.int32)


@dataclass(slots=True)
class Decoded:
    """A decoded batch. Sample ``i`` is metric ``names[name_ids[i]]`` with the labels object
    ``tokens[token_ids[i]]`` (raw JSON bytes) at ``timestamps[i]`` with ``values[i]``;
    ``indexes[i]`` is its position in the body (``None``: ``0..n-1``). ``errors`` are
    ``(index, field, message)`` of samples refused here (for their metadata), left out of the
    columns; ``total`` counts every sample of the body."""

    names: list[str]
    name_ids: np.ndarray[Any, np.dtype[np.int32]]
    tokens: list[bytes]
    token_ids: np.ndarray[Any, np.dtype[np.int32]]
    timestamps: np.ndarray[Any, np.dtype[np.int64]]
    values: np.ndarray[Any, np.dtype[np.float64]]
    indexes: np.ndarray[Any, np.dtype[np.int64]] | None = None
    metadata: list[Meta] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    total: int = 0


def decode(body: bytes, *, max_samples: int, now_ms: int, memo: LabelMemo) -> Decoded | None:
    """Numbered columns of a ``samples``-only batch body, or ``None`` when the general parser
    must read it. Samples without a timestamp get ``now_ms``. ``memo`` remembers parsed label
    objects between calls (it tells labels that are no object apart, for the metadata)."""
    doc = _structs(body)
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
    names, name_ids = _numbered(map(_NAME, samples), n)
    tokens, token_ids = _numbered(map(bytes, map(_LABELS, samples)), n)
    try:
        label_sets = memo.lookup(tokens)
    except Undecodable:
        return None
    out = Decoded(names, name_ids, tokens, token_ids, timestamps, values, total=n)
    if isinstance(doc, _MetaBatch):
        _read_metadata(doc.samples, [type(labels) is tuple for labels, _ in label_sets], out)
    return out


def _read_metadata(samples: list[_MetaSample], refused: list[bool], out: Decoded) -> None:
    """Type, unit and help of the samples that carry them; samples whose metadata is invalid
    are refused here and left out of the columns (as the general parser does). ``refused``
    tells, per token, the label sets the core refuses (their samples are refused for that)."""
    unset = msgspec.UNSET
    meta: dict[str, Meta] = {}
    token_ids = out.token_ids
    keep = np.ones(len(samples), dtype=bool)
    for i, sample in enumerate(samples):
        if sample.kind is unset and sample.unit is unset and sample.help is unset:
            continue
        if refused[token_ids[i]]:
            continue  # labels that are no object: refused for that first, by the core
        fields = {
            key: value
            for key, value in (("type", sample.kind), ("unit", sample.unit), ("help", sample.help))
            if value is not unset
        }
        problem = metadata_problem(fields, sample.name, meta)
        if problem:
            keep[i] = False
            out.errors.append((i, problem[0], problem[1]))
    out.metadata.extend(meta.values())
    if not keep.all():
        positions = np.flatnonzero(keep)
        out.name_ids = out.name_ids[positions]
        out.token_ids = token_ids[positions]
        out.timestamps = out.timestamps[positions]
        out.values = out.values[positions]
        out.indexes = positions.astype(np.int64)


def is_unicode(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: the lenient decode of the general parser
    lets lone surrogates (``"\\ud800"``) through, and no database or answer can hold one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def metadata_problem(
    sample: Mapping[str, Any], name: Any, meta: dict[str, Meta]
) -> tuple[str, str] | None:
    """Record the sample's type/unit/help in ``meta``; ``(field, message)`` when invalid."""
    kind = sample.get("type")
    unit = sample.get("unit") or ""
    help_text = sample.get("help") or ""
    if kind is not None and kind not in TYPES:
        return ("type", f"type must be one of {_TYPE_NAMES}")
    if not isinstance(unit, str) or len(unit) > 64:
        return ("unit", "unit must be a string of at most 64 characters")
    if not isinstance(help_text, str) or len(help_text) > 1024:
        return ("help", "help must be a string of at most 1024 characters")
    for where, text in (("unit", unit), ("help", help_text)):
        if not text.isascii() and not is_unicode(text):
            return (where, f"{where} is not valid Unicode (it holds a lone UTF-16 surrogate)")
    if isinstance(name, str) and name:
        previous = meta.get(name)
        meta[name] = Meta(
            name,
            kind if kind is not None else (previous.type if previous else "unknown"),
            unit or (previous.unit if previous else ""),
            help_text or (previous.help if previous else ""),
        )
    return None
