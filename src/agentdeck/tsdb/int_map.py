"""A map of int64 keys to int32 values looked up many keys at a time, with numpy.

Sorted key and value arrays: a lookup of thousands of keys is one ``searchsorted`` and a
compare, with no Python call per key, which is what the hot paths that find a batch's series
by number need (the ingest core's numbered pairs, the DuckDB store's series tags). Adding keys
costs a merge of the arrays, so it suits maps that grow by batches of new keys and are
mostly read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Int64Vector = np.ndarray[Any, np.dtype[np.int64]]
Int32Vector = np.ndarray[Any, np.dtype[np.int32]]


class IntMap:
    __slots__ = ("_keys", "_values")

    def __init__(self) -> None:
        self._keys: Int64Vector = np.empty(0, dtype=np.int64)
        self._values: Int32Vector = np.empty(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)
        self._values = np.empty(0, dtype=np.int32)

    def find(self, keys: Int64Vector) -> tuple[Int32Vector, Int64Vector | None]:
        """(the value of each key, -1 where absent; positions of the absent keys, or
        ``None`` when every key is present)."""
        known = self._keys
        if not len(known):
            return np.full(len(keys), -1, dtype=np.int32), np.arange(len(keys), dtype=np.int64)
        at = np.searchsorted(known, keys)
        np.minimum(at, len(known) - 1, out=at)
        found = known[at] == keys
        values = self._values[at]
        if found.all():
            return values, None
        values[~found] = -1
        return values, np.flatnonzero(~found).astype(np.int64, copy=False)

    def add(self, keys: Int64Vector, values: Int32Vector) -> None:
        """Add absent ``keys`` with their ``values`` (a key given twice keeps its first)."""
        keys, first = np.unique(np.asarray(keys, dtype=np.int64), return_index=True)
        at = np.searchsorted(self._keys, keys)
        self._keys = np.insert(self._keys, at, keys)
        self._values = np.insert(self._values, at, np.asarray(values, dtype=np.int32)[first])
