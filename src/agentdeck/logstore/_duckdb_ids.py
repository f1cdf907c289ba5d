"""Record ids split for the embedded store's columns ``id_seq`` / ``id_text`` (see
:mod:`agentdeck.logstore._duckdb_sql`), with numpy over the Arrow arrays of an insert: an id
of :class:`~agentdeck.logstore.base.RecordIds`' shape (26 lower-case hex digits) whose first
11 digits are its line's millisecond becomes the number of its last 15; any other stays text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

_NIBBLE = np.full(256, 255, np.uint8)
for _value, _char in enumerate(b"0123456789abcdef"):
    _NIBBLE[_char] = _value
_MS_MASK = 0xFFF_FFFF_FFFF


def split_ids(ids: pa.Array, ts_ns: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(id_seq, id_text)`` of each id: the number, or null and the text."""
    n = len(ids)
    fits = np.zeros(n, np.bool_)
    seq = np.zeros(n, np.uint64)
    lengths = pc.binary_length(ids).fill_null(0).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(lengths == 26)
    if len(rows):
        shaped = ids if len(rows) == n else ids.take(pa.array(rows))
        shaped = pa.concat_arrays([shaped])  # offsets from 0, values contiguous
        offsets = np.frombuffer(shaped.buffers()[1], np.int32)
        start = int(offsets[shaped.offset])
        values = np.frombuffer(shaped.buffers()[2], np.uint8)[start : start + 26 * len(rows)]
        nibbles = _NIBBLE[values.reshape(len(rows), 26)]
        hexadecimal = (nibbles != 255).all(axis=1)
        wide = nibbles.astype(np.uint64)
        prefix = np.zeros(len(rows), np.uint64)
        number = np.zeros(len(rows), np.uint64)
        for k in range(11):
            prefix = (prefix << np.uint64(4)) | wide[:, k]
        for k in range(11, 26):
            number = (number << np.uint64(4)) | wide[:, k]
        ts = ts_ns.to_numpy(zero_copy_only=False)[rows]
        ms = (np.where(ts > 0, ts // 1_000_000, 0) & _MS_MASK).astype(np.uint64)
        fits[rows] = hexadecimal & (prefix == ms)
        seq[rows] = number
    id_seq = pa.array(seq, pa.uint64(), mask=~fits)
    id_text = pc.if_else(pa.array(fits), pa.scalar(None, pa.string()), ids)
    return id_seq, id_text
