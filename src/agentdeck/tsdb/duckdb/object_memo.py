"""Values remembered per object identity, for the series key objects the ingest core hands to
every write (one object per series, batch after batch): a lookup by ``id`` is a C-level
dictionary probe, where a lookup by value would hash the key's label tuples again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")
D = TypeVar("D")


class ObjectMemo(Generic[T, V]):
    """``id(object)`` → value. The objects are kept alive, so no remembered ``id`` is reused
    by another object while its value is here; :meth:`make_room` bounds how many."""

    __slots__ = ("_alive", "values")

    def __init__(self) -> None:
        self.values: dict[int, V] = {}
        self._alive: list[T] = []

    def __len__(self) -> int:
        return len(self._alive)

    def __contains__(self, obj: object) -> bool:
        return id(obj) in self.values

    def get_many(self, objects: Iterable[T], default: D) -> Iterator[V | D]:
        """The value of each object, ``default`` for the ones not remembered."""
        return map(self.values.get, map(id, objects), repeat(default))

    def remember(self, obj: T, value: V) -> None:
        self.values[id(obj)] = value
        self._alive.append(obj)

    def make_room(self, incoming: int, limit: int) -> None:
        """Forget everything when ``incoming`` more would pass ``limit`` (the objects of past
        requests that nobody sends any more go with it; the rest are learnt again)."""
        if len(self._alive) + incoming > limit:
            self.clear()

    def clear(self) -> None:
        self.values.clear()
        self._alive.clear()
