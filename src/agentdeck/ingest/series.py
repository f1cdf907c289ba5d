"""What an ingestor knows of each tenant's series: validated label sets and the series cap.

:class:`TenantSeries` remembers every series a tenant sent as an :class:`Entry` (validated
once: :func:`check_series`), and :func:`admit` applies the per-tenant active-series cap.
Both belong to one :class:`~agentdeck.ingest.core.Ingestor`, so every app (and every test
app) has its own and nothing is global.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np

from agentdeck.ingest._slots import BatchSeries, SeriesSlots
from agentdeck.ingest.batch import Invalid
from agentdeck.ingest.decoders.json_fast import is_unicode
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import (
    ACTIVE_WINDOW_MS,
    Matcher,
    MatchOp,
    SeriesKey,
    Store,
    next_series_tag,
)
from agentdeck.tsdb.names import METRIC_NAME_LABEL, is_valid_label_name, is_valid_metric_name

#: How long a cached active-series count is trusted before it is read from the store again.
COUNT_TTL_SECONDS = 30.0
#: How often (at most) a tenant's known series are reloaded from the store near the cap.
RELOAD_INTERVAL_SECONDS = 5.0
#: Validated label sets remembered per tenant (cleared when full).
LABEL_CACHE_MAX = 200_000


class Entry:
    """A validated series of one tenant (or why its name or labels are refused).

    Equal series share one entry (see :meth:`TenantSeries.entry`), so a request tells series
    apart by ``uid`` (unique per entry, never reused) instead of hashing label tuples again;
    it is also the series' tag for the store (:func:`~agentdeck.tsdb.base.next_series_tag`).
    ``gen`` equals the tenant's generation when the series is known to count as active (for
    the cap). ``agent`` is the value of its ``agent`` label, if any (for the write listeners).
    """

    __slots__ = ("agent", "error", "gen", "key", "ok", "uid")

    def __init__(self, key: SeriesKey | None, error: Invalid | None) -> None:
        self.key = key
        self.error = error
        self.ok = error is None
        self.gen = -1
        self.uid = next_series_tag()
        self.agent = _agent_label(key) if key is not None else None


def _agent_label(key: SeriesKey) -> str | None:
    for name, value in key.labels:
        if name == "agent":
            return value
    return None


@dataclass(slots=True)
class TenantSeries:
    """What this process knows of a tenant's series: validated label sets and the cap."""

    #: label-set token → name → entry, for :class:`~agentdeck.ingest.batch.SampleColumns`
    #: (two small lookups per sample beat one in a table of every series).
    tokens: dict[Hashable, dict[Any, Entry]] = field(default_factory=dict)
    #: Entries held in ``tokens``.
    token_entries: int = 0
    #: Names, tokens and (name, token) pairs numbered, for numbered columns
    #: (:class:`~agentdeck.ingest.batch.KeyedColumns`): a batch's series found by array lookups.
    slots: SeriesSlots = field(default_factory=SeriesSlots)
    canonical: dict[SeriesKey, Entry] = field(default_factory=dict)
    #: Entries whose ``gen`` equals this are known active; a reload starts a new generation.
    gen: int = 0
    #: The active series read from the store at the last reload.
    reloaded: set[SeriesKey] = field(default_factory=set)
    count: int = 0
    count_at: float = -math.inf
    reloaded_at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def trim(self) -> None:
        """Forget validated label sets when the caches are full (they refill as needed)."""
        if self.token_entries + len(self.slots) > LABEL_CACHE_MAX:
            self.tokens.clear()
            self.token_entries = 0
            self.slots.clear()
            self.canonical.clear()

    def entry(self, name: Any, labels: Mapping[str, Any] | None, settings: TSDBSettings) -> Entry:
        checked = check_series(name, labels, settings)
        if not isinstance(checked, SeriesKey):
            return Entry(None, checked)
        entry = self.canonical.get(checked)
        if entry is None:
            entry = self.canonical[checked] = Entry(checked, None)
            if checked in self.reloaded:
                entry.gen = self.gen
        return entry


# --- validation ----------------------------------------------------------------------------


def check_series(
    name: Any, labels: Mapping[str, Any] | None, settings: TSDBSettings
) -> SeriesKey | Invalid:
    """The canonical series key, or why the name or labels are refused.

    Lengths are checked before the patterns, so a message never quotes more than a name of
    the allowed length, and a field names a label by at most :data:`SHOWN_CHARS` characters.
    """
    if not isinstance(name, str) or not name:
        return ("missing_name", "name", "metric name is missing")
    name_limit = settings.max_metric_name_bytes
    if len(name) > name_limit:  # a valid name is ASCII: characters are bytes
        return (
            "name_too_long",
            "name",
            f"metric name is {_utf8_size(name)} bytes; the limit is {name_limit}",
        )
    if not is_valid_metric_name(name):
        return (
            "invalid_name",
            "name",
            f"metric name {name!r} does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
        )
    if not labels:
        return SeriesKey(name, ())
    if not isinstance(labels, Mapping):
        return ("invalid_labels", "labels", "labels must be an object of strings")
    kept: list[tuple[str, str]] = []
    limit = settings.max_label_value_bytes
    label_limit = settings.max_label_name_bytes
    for label, value in labels.items():
        if not isinstance(label, str) or len(label) > label_limit or not is_valid_label_name(label):
            return _bad_label_name(label, label_limit)
        if not isinstance(value, str):
            return ("invalid_label_value", f"labels.{label}", "label value must be a string")
        if not value:
            continue
        if not value.isascii():
            if not is_unicode(value):
                return ("invalid_label_value", f"labels.{label}", _SURROGATE_MESSAGE)
            if len(value) * 4 > limit:  # cheap bound first: a code point is at most 4 bytes
                size = len(value.encode("utf-8"))
                if size > limit:
                    return (
                        "label_value_too_long",
                        f"labels.{label}",
                        f"label value is {size} bytes; the limit is {limit}",
                    )
        elif len(value) > limit:
            return (
                "label_value_too_long",
                f"labels.{label}",
                f"label value is {len(value)} bytes; the limit is {limit}",
            )
        kept.append((label, value))
    if len(kept) > settings.max_labels:
        return (
            "too_many_labels",
            "labels",
            f"{len(kept)} labels; the limit is {settings.max_labels}",
        )
    kept.sort()
    return SeriesKey(name, tuple(kept))


#: The most characters of a refused label name that an error's field shows.
SHOWN_CHARS = 64
_SURROGATE_MESSAGE = "label value is not valid Unicode (it holds a lone UTF-16 surrogate)"


def shown(text: str) -> str:
    """``text`` fit for an answer: at most :data:`SHOWN_CHARS` characters (``…`` marks a
    cut) and lone surrogates escaped (``\\ud800``), which no UTF-8 answer could hold."""
    cut = text[:SHOWN_CHARS]
    if not cut.isascii():
        cut = cut.encode("utf-8", "backslashreplace").decode("utf-8")
    return cut + "…" if len(text) > SHOWN_CHARS else cut


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _bad_label_name(label: Any, limit: int) -> Invalid:
    """Why a label name that does not match the pattern is refused."""
    if not isinstance(label, str):
        return ("invalid_label_name", f"labels.{label}", f"label name {label!r} is no string")
    where = f"labels.{shown(label)}"
    if len(label) > limit:
        size = _utf8_size(label)
        return ("label_name_too_long", where, f"label name is {size} bytes; the limit is {limit}")
    if label.startswith("__"):
        message = f"label name {label!r} starts with '__', which is reserved"
    else:
        message = f"label name {label!r} does not match [a-zA-Z_][a-zA-Z0-9_]*"
    return ("invalid_label_name", where, message)


# --- the series cap ----------------------------------------------------------------------


async def admit(
    tenant: TenantSeries,
    store: Store,
    settings: TSDBSettings,
    tenant_id: UUID,
    series: BatchSeries,
    used: np.ndarray[Any, np.dtype[np.bool_]],
    now: int,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which series of the batch are refused by the active-series cap (a boolean mask).

    Series this process has seen for the tenant pass without any store call. New ones are
    counted against a cached active-series count; only when they would pass the cap are the
    tenant's active series reloaded from the store (throttled), so series that exist (written
    by another replica, or before a restart) keep flowing.
    """
    refused = np.zeros(len(series), dtype=bool)
    new = np.flatnonzero((series.gens != tenant.gen) & used).tolist()
    if not new:
        return refused
    cap = settings.max_active_series
    entries = series.entries
    async with tenant.lock:
        gen = tenant.gen
        new = [i for i in new if entries[i].gen != gen]
        if not new:
            return refused
        clock = time.monotonic()
        if clock - tenant.count_at > COUNT_TTL_SECONDS:
            tenant.count = await store.active_series_count(tenant_id, now_ms=now)
            tenant.count_at = clock
        if tenant.count + len(new) > cap and clock - tenant.reloaded_at > RELOAD_INTERVAL_SECONDS:
            active = await store.series(
                tenant_id,
                [Matcher(METRIC_NAME_LABEL, MatchOp.re, ".+")],
                now - ACTIVE_WINDOW_MS,
                now,
            )
            reloaded: set[SeriesKey] = set()
            for labels in active:
                metric = dict(labels)
                name = metric.pop(METRIC_NAME_LABEL, "")
                reloaded.add(SeriesKey.of(name, metric))
            tenant.gen = gen = gen + 1
            tenant.reloaded = reloaded
            for key in reloaded:
                entry = tenant.canonical.get(key)
                if entry is not None:
                    entry.gen = gen
            tenant.count = len(reloaded)
            tenant.count_at = tenant.reloaded_at = clock
            new = [i for i in new if entries[i].gen != gen]
        room = max(cap - tenant.count, 0)
        for i in new[room:]:
            refused[i] = True
        admitted = new[:room]
        for i in admitted:
            entries[i].gen = gen
        tenant.count += len(admitted)
    return refused
