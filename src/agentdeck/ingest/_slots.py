"""A tenant's series numbered, so a columnar batch finds its series with array lookups.

A JSON batch of 10,000 samples from a fleet holds thousands of distinct series, most of them
sent before. Finding each one's entry by hashing its (name, label set) pair costs a few
dictionary probes per series and request, on the event loop. :class:`SeriesSlots` instead
numbers, per tenant, every metric name and every label-set token it has been sent, and every
(name, token) pair: a pair's code is ``token number × NAME_SPACE + name number``, kept in a
sorted array beside the *slot* of its entry. A batch then costs a dictionary probe per
distinct name and token (a few hundred), and numpy does the rest: the codes of all samples,
one ``searchsorted`` and the distinct slots by scatter, without sorting the samples.

Pairs that name the same series (labels given in another order, or with empty values) share
one slot, since a slot is an entry. Only pairs never seen go through ``resolve``, which
validates them (:meth:`~agentdeck.ingest.series.TenantSeries.entry`).

The owner clears the numbering with the tenant's other caches when they are full
(:meth:`~agentdeck.ingest.series.TenantSeries.trim`); nothing here outlives that.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from agentdeck.tsdb.base import IndexArray
from agentdeck.tsdb.int_map import IntMap

if TYPE_CHECKING:
    from agentdeck.ingest.series import Entry

#: Name numbers stay below this (the numbering is cleared long before: see the cache limit).
NAME_SPACE = 1 << 24

Int64Vector = np.ndarray[Any, np.dtype[np.int64]]
Resolve = Callable[[list[Any], list[Hashable]], "list[Entry]"]


_KEY = attrgetter("key")
_OK = attrgetter("ok")
_GEN = attrgetter("gen")
_AGENT = attrgetter("agent")
_UID = attrgetter("uid")
ObjectArray = np.ndarray[Any, np.dtype[np.object_]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


class BatchSeries:
    """The distinct series of a batch as the ingest core reads them, in columns: ``keys``
    (:class:`SeriesKey`, ``None`` where refused), ``ok``, ``agents`` (``agent`` label or
    ``None``), ``gens`` (the entries' cap generations when the columns were made) and ``uids``
    (the entries' uids, which are also the series' tags for the store).

    The entries themselves (:attr:`entries`) are only needed for refused and new series; a
    caller that has the columns already (:class:`~agentdeck.ingest._slots.SeriesSlots`) hands over a
    function that lists them on demand.
    """

    __slots__ = ("_entries", "_list", "agents", "gens", "keys", "ok", "uids")

    def __init__(
        self,
        *,
        keys: ObjectArray,
        ok: BoolArray,
        agents: ObjectArray,
        gens: Int64Vector,
        uids: Int64Vector,
        entries: Callable[[], list[Entry]],
    ) -> None:
        self.keys, self.ok, self.agents, self.gens, self.uids = keys, ok, agents, gens, uids
        self._list = entries
        self._entries: list[Entry] | None = None

    @classmethod
    def of(cls, entries: list[Entry]) -> BatchSeries:
        n = len(entries)
        return cls(
            keys=_objects(map(_KEY, entries), n),
            ok=np.fromiter(map(_OK, entries), dtype=bool, count=n),
            agents=_objects(map(_AGENT, entries), n),
            gens=np.fromiter(map(_GEN, entries), dtype=np.int64, count=n),
            uids=np.fromiter(map(_UID, entries), dtype=np.int64, count=n),
            entries=lambda: entries,
        )

    def __len__(self) -> int:
        return len(self.ok)

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = self._list()
        return self._entries


def _objects(items: Iterable[Any], n: int) -> ObjectArray:
    array = np.empty(n, dtype=object)
    array[:] = list(items)  # element by element: tuples stay whole
    return array


class SeriesSlots:
    """Numbered names, tokens, (name, token) pairs and entries of one tenant."""

    __slots__ = (
        "_agents",
        "_pairs",
        "_gens",
        "_keys",
        "_names",
        "_ok",
        "_slot_of_uid",
        "_tokens",
        "_uids",
        "entries",
    )

    def __init__(self) -> None:
        #: slot → entry (refused pairs have entries too, with their error).
        self.entries: list[Entry] = []
        # Per slot, in arrays (grown by doubling): the entry's key, ok, agent, uid, and its
        # cap generation when last looked at (it only grows: see ``distinct``).
        self._keys: ObjectArray = np.empty(0, dtype=object)
        self._ok: BoolArray = np.empty(0, dtype=bool)
        self._agents: ObjectArray = np.empty(0, dtype=object)
        self._gens: Int64Vector = np.empty(0, dtype=np.int64)
        self._uids: Int64Vector = np.empty(0, dtype=np.int64)
        self._slot_of_uid: dict[int, int] = {}
        self._names: dict[Any, int] = {}
        self._tokens: dict[Hashable, int] = {}
        self._pairs = IntMap()  # pair code → slot

    def __len__(self) -> int:
        """How many (name, token) pairs are numbered."""
        return len(self._pairs)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def locate(
        self,
        names: Sequence[Any],
        name_ids: IndexArray,
        tokens: Sequence[Hashable],
        token_ids: IndexArray,
        resolve: Resolve,
    ) -> IndexArray:
        """The slot of each sample ``i``, the pair (``names[name_ids[i]]``,
        ``tokens[token_ids[i]]``); ``resolve(names, tokens)`` gives the entries of pairs seen
        for the first time."""
        name_numbers = _numbers(self._names, names)
        token_numbers = _numbers(self._tokens, tokens)
        codes = token_numbers[token_ids] * NAME_SPACE + name_numbers[name_ids]
        slots, missing = self._pairs.find(codes)
        if missing is not None:
            new_codes, first = np.unique(codes[missing], return_index=True)
            at = missing[first]
            entries = resolve(
                list(map(names.__getitem__, name_ids[at].tolist())),
                list(map(tokens.__getitem__, token_ids[at].tolist())),
            )
            self._add(new_codes, entries)
            slots[missing] = self._pairs.find(codes[missing])[0]
        return slots

    def distinct(self, slots: IndexArray, gen: int) -> tuple[BatchSeries, IndexArray]:
        """The distinct series among ``slots`` (in slot order) and each slot's position
        among them. ``gen`` is the tenant's cap generation now."""
        size = len(self.entries)
        present = np.zeros(size, dtype=bool)
        present[slots] = True
        used = np.flatnonzero(present)
        position = np.empty(size, dtype=np.int32)
        position[used] = np.arange(len(used), dtype=np.int32)
        entries = self.entries
        gens = self._gens[used]
        stale = np.flatnonzero(gens != gen)
        if len(stale):
            # Entries' generations change outside (admitted, reloaded): read those again.
            gens[stale] = [entries[i].gen for i in used[stale].tolist()]
            self._gens[used[stale]] = gens[stale]
        series = BatchSeries(
            keys=self._keys[used],
            ok=self._ok[used],
            agents=self._agents[used],
            gens=gens,
            uids=self._uids[used],
            entries=lambda: list(map(entries.__getitem__, used.tolist())),
        )
        return series, position[slots]

    def _add(self, codes: Int64Vector, entries: list[Entry]) -> None:
        """Number new pairs (``codes`` sorted, not yet known) with their entries' slots."""
        slot_of_uid = self._slot_of_uid
        slots = []
        first = len(self.entries)
        for entry in entries:
            slot = slot_of_uid.get(entry.uid)
            if slot is None:
                slot = slot_of_uid[entry.uid] = len(self.entries)
                self.entries.append(entry)
            slots.append(slot)
        self._grow(first)
        self._pairs.add(codes, np.asarray(slots, dtype=np.int32))

    def _grow(self, first: int) -> None:
        """Fill the per-slot arrays for the entries from slot ``first`` on."""
        size = len(self.entries)
        if size > len(self._ok):
            capacity = max(size, 2 * len(self._ok), 64)
            self._keys = _resized(self._keys, capacity)
            self._ok = _resized(self._ok, capacity)
            self._agents = _resized(self._agents, capacity)
            self._gens = _resized(self._gens, capacity)
            self._uids = _resized(self._uids, capacity)
        added = BatchSeries.of(self.entries[first:])
        self._keys[first:size] = added.keys
        self._ok[first:size] = added.ok
        self._agents[first:size] = added.agents
        self._gens[first:size] = added.gens
        self._uids[first:size] = added.uids


def _resized(array: np.ndarray[Any, Any], capacity: int) -> np.ndarray[Any, Any]:
    grown = np.empty(capacity, dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _numbers(memo: dict[Any, int], items: Sequence[Any]) -> Int64Vector:
    """Each item's number in ``memo``, numbering the new ones."""
    numbers = np.fromiter(map(memo.get, items, repeat(-1)), dtype=np.int64, count=len(items))
    if (numbers < 0).any():
        for i in np.flatnonzero(numbers < 0).tolist():
            numbers[i] = memo.setdefault(items[i], len(memo))
    return numbers
