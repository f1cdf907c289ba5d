"""The columnar fast path of ``/metrics/batch`` answers exactly like the general parser.

Each body goes through both paths into its own real DuckDB store: the general one
(``parse_batch``: rows) and the fast one (``read_batch``: keyed columns when it takes the
body), each through its own ingest core. Accepted counts, every error (index, field,
message), the rejection counters, metadata, agents and the stored samples must be the same;
bodies the fast path must take are checked to take it, and bodies it cannot read must fall
back and answer the same 4xx.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.errors import Malformed, TooLarge
from agentdeck.ingest import series as _series_cache
from agentdeck.ingest.batch import KeyedColumns
from agentdeck.ingest.core import Ingestor
from agentdeck.ingest.decoders import json as service
from agentdeck.server.errors import status_for
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import Matcher, MatchOp
from agentdeck.tsdb.duckdb import DuckDBStore
from tests.ingest.ingest_support import now_ms

NOW = now_ms()
T = NOW - 60_000
SETTINGS = TSDBSettings(max_active_series=50)


class Pair:
    """Two real stores: one fed by the general path, one by the fast path."""

    def __init__(self, slow: DuckDBStore, fast: DuckDBStore, session: AsyncSession) -> None:
        self.slow, self.fast, self.session = slow, fast, session
        self.slow_core, self.fast_core = Ingestor(slow, SETTINGS), Ingestor(fast, SETTINGS)

    async def check(
        self, body: bytes, *, fast: bool | None = None, tenant: uuid.UUID | None = None
    ) -> dict[str, Any]:
        """Run ``body`` through both paths and assert they agree; returns the outcome.

        ``fast``: True/False asserts whether the fast path took the body. ``tenant``: the
        tenant to ingest into (a new one by default); everything it holds is compared.
        """
        tenant = tenant or uuid.uuid4()
        try:
            reference = service.parse_batch(body, max_samples=SETTINGS.max_batch_samples)
        except (Malformed, TooLarge) as exc:
            with pytest.raises((Malformed, TooLarge)) as raised:
                service.read_batch(body, max_samples=SETTINGS.max_batch_samples, now_ms=NOW)
            assert (type(raised.value), raised.value.kind, raised.value.detail) == (
                type(exc),
                exc.kind,
                exc.detail,
            )
            assert fast is not True
            return {"status": status_for(exc)}
        parsed = service.read_batch(body, max_samples=SETTINGS.max_batch_samples, now_ms=NOW)
        if fast is not None:
            assert isinstance(parsed.samples, KeyedColumns) is fast
        assert not isinstance(reference.samples, KeyedColumns)
        before_slow = dict(self.slow_core.stats.rejected)
        before_fast = dict(self.fast_core.stats.rejected)
        reference.now_ms = NOW
        # metadata is compared, not written (no metadata argument); retention is read
        expected = await self.slow_core.ingest(
            self.session, tenant, replace(reference, metadata=[])
        )
        got = await self.fast_core.ingest(self.session, tenant, replace(parsed, metadata=[]))
        assert (got.accepted, got.rejected) == (expected.accepted, expected.rejected)
        assert [(e.index, e.field, e.message) for e in got.errors] == [
            (e.index, e.field, e.message) for e in expected.errors
        ]
        assert _delta(self.fast_core.stats.rejected, before_fast) == _delta(
            self.slow_core.stats.rejected, before_slow
        )
        assert parsed.metadata == reference.metadata
        assert parsed.agents == reference.agents
        assert await _stored(self.fast, tenant) == await _stored(self.slow, tenant)
        return {
            "accepted": got.accepted,
            "errors": [(e.index, e.field, e.message) for e in got.errors],
            "metadata": [(m.name, m.type.value, m.unit, m.help) for m in parsed.metadata],
            "agents": parsed.agents,
        }


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


async def _stored(store: DuckDBStore, tenant: uuid.UUID) -> list[Any]:
    series = await store.select(tenant, [Matcher("__name__", MatchOp.re, ".+")], 0, 10**13)
    return [(s.name, s.labels, s.timestamps.tolist(), s.values.tolist()) for s in series]


@pytest.fixture
async def pair(tmp_path: Path, session: AsyncSession) -> AsyncIterator[Pair]:
    slow = await DuckDBStore.open(tmp_path / "slow.duckdb")
    fast = await DuckDBStore.open(tmp_path / "fast.duckdb")
    try:
        yield Pair(slow, fast, session)
    finally:
        await slow.close()
        await fast.close()


def _body(*samples: Any, **extra: Any) -> bytes:
    # The standard library's encoder also writes integers beyond 64 bits.
    return json.dumps({"samples": list(samples), **extra}, ensure_ascii=False).encode()


async def test_a_well_formed_batch_takes_the_fast_path(pair: Pair) -> None:
    outcome = await pair.check(
        _body(
            {"name": "cpu", "value": 1, "timestamp": T, "labels": {"agent": "a", "z": "1"}},
            {"name": "cpu", "value": 2.5, "timestamp": T, "labels": {"z": "1", "agent": "a"}},
            {"name": "cpu", "value": -0.0, "labels": {"agent": "b"}},  # no timestamp: now
            {"name": "up", "value": 1e308, "timestamp": T, "labels": None},
            {"name": "up", "value": 3, "timestamp": T, "labels": {}},
            {"name": "up", "value": 4, "timestamp": T + 1, "labels": {"empty": ""}},
            {"name": "x", "value": 5, "timestamp": T, "labels": {"agent": "ü", "k": "\u2603"}},
        ),
        fast=True,
    )
    assert outcome["accepted"] == 7
    assert outcome["agents"] == {"a", "b", "ü"}


async def test_every_per_sample_refusal_matches(pair: Pair) -> None:
    long_value = "v" * 2049
    outcome = await pair.check(
        _body(
            {"name": "ok", "value": 1, "timestamp": T},
            {"name": "", "value": 1, "timestamp": T},
            {"name": "bad name", "value": 1, "timestamp": T},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"__x": "1"}},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"1a": "1"}},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"a": 5}},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"a": None}},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"a": long_value}},
            {"name": "m", "value": 1, "timestamp": T, "labels": {f"l{i}": "x" for i in range(41)}},
            {"name": "m", "value": 1, "timestamp": T, "labels": 5},
            {"name": "m", "value": 1, "timestamp": T, "labels": ["a"]},
            {"name": "m", "value": 1, "timestamp": NOW + 11 * 60_000},
            {"name": "m", "value": 1, "timestamp": 10**13 + 1},
            {"name": "m", "value": 1, "timestamp": NOW - 31 * 86_400_000},
            {"name": "m", "value": 1, "timestamp": -5},
            {"name": "m" * 256, "value": 1, "timestamp": T},
            {"name": "m", "value": 1, "timestamp": T, "labels": {"l" * 256: "1"}},
            {"name": "ok", "value": 2, "timestamp": T + 1, "labels": {"agent": "z"}},
        ),
        fast=True,
    )
    assert outcome["accepted"] == 2
    assert [index for index, _, _ in outcome["errors"]] == list(range(1, 17))


async def test_metadata_and_its_refusals_match(pair: Pair) -> None:
    outcome = await pair.check(
        _body(
            {"name": "jobs_total", "value": 1, "timestamp": T, "type": "counter", "help": "Jobs."},
            {"name": "jobs_total", "value": 2, "timestamp": T + 1, "unit": "seconds"},
            {"name": "jobs_total", "value": 3, "timestamp": T + 2, "type": "meter"},
            {"name": "g", "value": 1, "timestamp": T, "type": None, "unit": None, "help": None},
            {"name": "g2", "value": 1, "timestamp": T, "unit": "u" * 65},
            {"name": "g3", "value": 1, "timestamp": T, "help": 5},
            # Labels that are no object are refused for that, before their metadata.
            {"name": "g4", "value": 1, "timestamp": T, "labels": 3, "type": "meter"},
            # Metadata is read even where the name is refused later on.
            {"name": "bad name", "value": 1, "timestamp": T, "type": "gauge"},
            {"name": "g5", "value": 1, "timestamp": T, "labels": {"__x": "1"}, "type": "x"},
        ),
        fast=True,
    )
    assert outcome["metadata"] == [
        ("jobs_total", "counter", "seconds", "Jobs."),
        ("g", "unknown", "", ""),
        ("bad name", "gauge", "", ""),
    ]
    # An escaped key is still the key "type".
    escaped = b'{"samples":[{"name":"c","value":1,"\\u0074ype":"counter"}]}'
    outcome = await pair.check(escaped, fast=True)
    assert outcome["metadata"] == [("c", "counter", "", "")]


async def test_the_series_cap_refuses_the_same_samples(pair: Pair) -> None:
    samples = [
        {"name": "capped", "value": i, "timestamp": T, "labels": {"s": str(i % 60)}}
        for i in range(120)
    ]
    outcome = await pair.check(_body(*samples), fast=True)
    assert outcome["accepted"] == 100  # 50 series, two samples each
    assert outcome["errors"][0] == (
        50,
        "name",
        "new series refused: the tenant has reached its limit of 50 active series",
    )


@pytest.mark.parametrize(
    "body",
    [
        _body({"name": "m", "value": "NaN", "timestamp": T}),
        _body({"name": "m", "value": None, "timestamp": T}),
        _body({"name": "m", "value": True, "timestamp": T}),
        _body({"name": "m", "timestamp": T}),
        _body({"value": 1, "timestamp": T}),
        _body({"name": 5, "value": 1, "timestamp": T}),
        _body({"name": "m", "value": 1, "timestamp": "2026-01-01T00:00:00Z"}),
        _body({"name": "m", "value": 1, "timestamp": "yesterday"}),
        _body({"name": "m", "value": 1, "timestamp": float(T)}),
        _body({"name": "m", "value": 1, "timestamp": T + 0.5}),
        _body({"name": "m", "value": 1, "timestamp": T, "extra": "\u00ff"}),
        _body({"name": "m", "value": 1, "timestamp": T}, agent="a", values={"n": 1}),
        _body({"name": "m", "value": 1, "timestamp": T}, labels={"a": "b"}),
        _body("not a sample"),
        b'{"samples":[{"name":"m","value":1,"timestamp":18446744073709551615}]}',
        b'{"samples":[{"name":"m","value":1,"timestamp":-9223372036854775809}]}',
        b'{"samples":[]}',
        b'{"samples":[{"name":"m","value":1e400}]}',
        b'{"samples":[{"name":"m","value":NaN}]}',
        b'{"samples":[{"name":"m","value":1,"labels":{"a":"\xff"}}]}',
        b'{"samples":[{"name":"m","value":1,"labels":{"a":"\\ud800"}}]}',
        b'{"samples":[{"name":"m","value":1}]} trailing',
        b'\xef\xbb\xbf{"samples":[{"name":"m","value":1}]}',
        b'{"samples":[{"name":"m","value":1,"labels":' + b"[" * 2000 + b"]" * 2000 + b"}]}",
        b'{"samples": 3}',
        b"[1, 2]",
        b"{}",
        orjson.dumps({"samples": [{"name": "m", "value": 1}] * 10_001}),
    ],
)
async def test_bodies_the_fast_path_leaves_alone_answer_the_same(pair: Pair, body: bytes) -> None:
    await pair.check(body, fast=False)


async def test_timestamps_beyond_int64_are_refused_per_sample_not_a_server_error(
    pair: Pair,
) -> None:
    outcome = await pair.check(
        b'{"samples":[{"name":"m","value":1,"timestamp":18446744073709551615},'
        b'{"name":"m","value":2,"timestamp":-9223372036854775809},'
        + f'{{"name":"m","value":3,"timestamp":{T}}}]}}'.encode(),
        fast=False,
    )
    assert outcome["accepted"] == 1
    assert [(i, f) for i, f, _ in outcome["errors"]] == [(0, "timestamp"), (1, "timestamp")]


async def test_random_batches_match(pair: Pair) -> None:
    """Random mixes of good and bad samples, mostly on the fast path."""
    rng = random.Random(4)
    names = ["cpu", "mem", "a:b_c", "", "9bad", "x y"]
    label_sets: list[Any] = [
        None,
        {},
        {"agent": "a1"},
        {"agent": "a2", "template": "t0"},
        {"template": "t0", "agent": "a2"},
        {"agent": "", "x": "1"},
        {"__bad": "1"},
        {"agent": 7},
        "str",
        {"agent": "a3", "le": "+Inf"},
    ]
    stamps = [T, T + 1, None, NOW + 3_600_000, NOW - 40 * 86_400_000, 10**14]
    values: list[Any] = [0, 1, -2.5, 1e-300, 123456789012345678901234567890, 7.25]
    took_fast = 0
    for _ in range(40):
        samples = []
        for _ in range(rng.randint(1, 60)):
            sample: dict[str, Any] = {"name": rng.choice(names), "value": rng.choice(values)}
            labels = rng.choice(label_sets)
            if labels is not None or rng.random() < 0.5:
                sample["labels"] = labels
            ts = rng.choice(stamps)
            if ts is not None:
                sample["timestamp"] = ts
            if rng.random() < 0.1:
                sample["type"] = rng.choice(["gauge", "counter", "meter"])
            samples.append(sample)
        body = _body(*samples)
        parsed = service.read_batch(body, max_samples=SETTINGS.max_batch_samples, now_ms=NOW)
        took_fast += isinstance(parsed.samples, KeyedColumns)
        await pair.check(body)
    assert took_fast == 40


async def test_a_tenants_later_batches_find_their_series_again(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch after batch into one tenant (the fast path numbers the tenant's names, label
    sets and series once and finds them again by number): the same answers as the general
    path, with label sets spelt differently for one series, refused label sets, the series
    cap reached in a later batch, and the numbering cleared when the caches fill up."""
    monkeypatch.setattr(_series_cache, "LABEL_CACHE_MAX", 40)
    tenant = uuid.uuid4()
    rng = random.Random(9)
    spellings: list[Any] = [
        {"agent": "a1", "zone": "z"},
        {"zone": "z", "agent": "a1"},  # the same series as the one above
        {"agent": "a1", "zone": "z", "empty": ""},  # and again: empty values are dropped
        {"agent": "a2"},
        {"__bad": "x"},
        {"agent": 3},
        None,
    ]
    accepted = 0
    for batch in range(12):
        samples = [
            {
                "name": rng.choice(["cpu", "mem", "9bad"]) if batch % 4 else "cpu",
                "value": float(i),
                "timestamp": T + batch * 1000 + i,
                "labels": rng.choice(spellings) if batch < 6 else {"agent": f"n{batch}-{i}"},
            }
            for i in range(rng.randint(5, 60) if batch < 6 else 30)
        ]
        outcome = await pair.check(_body(*samples), fast=True, tenant=tenant)
        accepted += outcome["accepted"]
    assert accepted
    # Bounded memory: the numbering was cleared with the caches (one batch of 30 since).
    assert len(pair.fast_core.tenants[tenant].slots) <= 40 + 30
    cap = "new series refused: the tenant has reached its limit of 50 active series"
    assert any(message == cap for _, _, message in outcome["errors"])


async def test_one_series_spelt_three_ways_counts_once_against_the_cap(pair: Pair) -> None:
    tenant = uuid.uuid4()
    first = [{"name": "m", "value": 1, "timestamp": T, "labels": {"s": str(i)}} for i in range(48)]
    assert (await pair.check(_body(*first), fast=True, tenant=tenant))["accepted"] == 48
    spelt = [{"a": "1", "b": "2"}, {"b": "2", "a": "1"}, {"a": "1", "b": "2", "c": ""}]
    second = [
        *({"name": "m", "value": 2, "timestamp": T + i, "labels": s} for i, s in enumerate(spelt)),
        {"name": "m", "value": 3, "timestamp": T, "labels": {"s": "new"}},
        {"name": "m", "value": 4, "timestamp": T, "labels": {"s": "newer"}},
    ]
    outcome = await pair.check(_body(*second), fast=True, tenant=tenant)
    # Two new series fit under the cap of 50 (the first spelt three ways), the third not.
    assert outcome["accepted"] == 4
    assert [index for index, _, _ in outcome["errors"]] == [4]
