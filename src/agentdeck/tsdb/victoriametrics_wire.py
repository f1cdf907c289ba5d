"""VictoriaMetrics's wire formats as the store uses them: import lines written, export lines
and series read back, exact selectors, and times in seconds."""

from __future__ import annotations

import json
import math
from uuid import UUID

import numpy as np

from agentdeck.tsdb.base import (
    Matcher,
    MatchOp,
    SampleBatch,
    SeriesKey,
    StoreError,
    format_selector,
)
from agentdeck.tsdb.names import METRIC_NAME_LABEL

TENANT_LABEL = "__tenant__"
#: Series heads remembered for import lines before the memory is cleared.
PREFIX_CACHE = 200_000


def seconds(ms: int) -> str:
    """Milliseconds as the decimal seconds VictoriaMetrics accepts (exact to the ms)."""
    return f"{ms // 1000}.{ms % 1000:03d}"


def encode_import(
    tenant_id: UUID, batch: SampleBatch, prefixes: dict[tuple[UUID, SeriesKey], str]
) -> bytes:
    """One ``/api/v1/import`` JSON line per series of the batch:
    ``{"metric":…,"values":…,"timestamps":…}``; ``prefixes`` remembers each series' head."""
    order = np.argsort(batch.series_index, kind="stable")
    index = batch.series_index[order]
    bounds = np.flatnonzero(np.diff(index)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(index)]
    positions = index[starts].tolist()
    values = batch.values[order]
    # repr() is the shortest text that parses back to the same float64; VictoriaMetrics
    # spells infinities Inf/-Inf (it drops lines with JSON's Infinity, silently).
    if np.isinf(values).any():
        value_text = [
            ("Inf" if v > 0 else "-Inf") if math.isinf(v) else repr(v) for v in values.tolist()
        ]
    else:
        value_text = list(map(repr, values.tolist()))
    ts_text = list(map(str, batch.timestamps[order].tolist()))
    if len(prefixes) > PREFIX_CACHE:
        prefixes.clear()
    tenant = str(tenant_id)
    parts: list[str] = []
    for position, begin, end in zip(positions, starts, ends, strict=True):
        key = batch.series[position]
        prefix = prefixes.get((tenant_id, key))
        if prefix is None:
            metric = {METRIC_NAME_LABEL: key.name, TENANT_LABEL: tenant, **dict(key.labels)}
            prefix = (
                '{"metric":'
                + json.dumps(metric, ensure_ascii=False, separators=(",", ":"))
                + ',"values":['
            )
            prefixes[(tenant_id, key)] = prefix
        parts.append(prefix)
        parts.append(",".join(value_text[begin:end]))
        parts.append('],"timestamps":[')
        parts.append(",".join(ts_text[begin:end]))
        parts.append("]}\n")
    return "".join(parts).encode()


def key_of(metric: dict[str, str]) -> SeriesKey:
    labels = {k: v for k, v in metric.items() if k not in (METRIC_NAME_LABEL, TENANT_LABEL)}
    return SeriesKey.of(metric.get(METRIC_NAME_LABEL, ""), labels)


def exact_selector(metric: dict[str, str], label_names: set[str]) -> str:
    """A selector matching exactly this label set (other known labels must be absent)."""
    matchers = [Matcher(name, MatchOp.eq, value) for name, value in sorted(metric.items())]
    matchers += [Matcher(name, MatchOp.eq, "") for name in sorted(label_names - metric.keys())]
    return format_selector(matchers)


def parse_export_line(line: str) -> tuple[SeriesKey, np.ndarray, np.ndarray]:
    """Parse one ``/api/v1/export`` line.

    Values may be ``+Inf``/``-Inf``, which is not JSON, so the values array is cut out and
    parsed with :func:`float`; the metric part is ordinary JSON. ``"values":[`` cannot occur
    unescaped inside a label value, so the last occurrence is the real one.
    """
    values_at = line.rfind('"values":[')
    timestamps_at = line.rfind('],"timestamps":[')
    if values_at < 0 or timestamps_at < values_at:
        raise StoreError(f"unexpected VictoriaMetrics export line: {line[:200]}")
    head = json.loads(line[:values_at].rstrip(",") + "}")
    raw_values = line[values_at + len('"values":[') : timestamps_at]
    raw_timestamps = line[timestamps_at + len('],"timestamps":[') : line.rfind("]")]
    values = np.array([float(v) for v in raw_values.split(",")] if raw_values else [], np.float64)
    timestamps = np.array(
        [int(t) for t in raw_timestamps.split(",")] if raw_timestamps else [], np.int64
    )
    if len(values) != len(timestamps):
        raise StoreError("VictoriaMetrics export line has unequal values and timestamps")
    return key_of(head["metric"]), timestamps, values
