"""The fast path of the JSON batch as the ingest core takes it: a
:class:`~agentdeck.ingest.batch.Batch` of :class:`~agentdeck.ingest.batch.KeyedColumns`.

:mod:`.json_fast` turns a ``{"samples": [...]}`` body into numbered columns (in this
process, or in a decode worker process: :mod:`.worker`); :func:`column_batch` adds
what needs this process: the parsed label sets (from a per-process memo, so each distinct
labels object is parsed once), the agents named by them, and the metadata and errors as the
ingest core's types.
"""

from __future__ import annotations

from agentdeck.ingest.batch import Batch, KeyedColumns, MetricMeta, SampleError
from agentdeck.ingest.decoders.json_fast import Decoded, LabelMemo, Meta, Undecodable
from agentdeck.ingest.models import MetricType

#: This process's parsed labels objects (raw bytes → (labels, agent)).
LABELS = LabelMemo()


def metric_meta(meta: Meta) -> MetricMeta:
    return MetricMeta(meta.name, MetricType(meta.type), meta.unit, meta.help)


def column_batch(decoded: Decoded) -> Batch | None:
    """The ingest core's view of a decoded batch; ``None`` when the general parser must read
    the body after all (a labels object this process cannot parse)."""
    try:
        parsed = LABELS.lookup(decoded.tokens)
    except Undecodable:
        return None
    columns = KeyedColumns(
        decoded.names,
        decoded.name_ids,
        decoded.tokens,
        decoded.token_ids,
        dict(zip(decoded.tokens, [labels for labels, _ in parsed], strict=True)),
        decoded.timestamps,
        decoded.values,
        decoded.indexes,
    )
    return Batch(
        columns,
        metadata=list(map(metric_meta, decoded.metadata)),
        errors=[
            SampleError(index, where, message, "invalid_metadata")
            for index, where, message in decoded.errors
        ],
        agents={agent for _, agent in parsed if agent is not None},
    )
