"""A stream taking every line keeps an ingest batch's columns and reads them as rows later:
the same rows, in the same order, under the same bound, as lines kept one by one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from agentdeck.logintel.streams.buffers import Pending, StreamBuffers, StreamFilter
from agentdeck.logstore.base import LogColumns, Severity

TENANT = uuid.UUID(int=7)
EVERY = frozenset(s.value for s in Severity)


def columns(tag: str, severities: list[Severity], templates: bool = False) -> LogColumns:
    n = len(severities)
    return LogColumns(
        tenant_id=TENANT,
        id=[f"{tag}-{i}" for i in range(n)],
        ts_ns=[1_700_000_000_000_000_000 + i for i in range(n)],
        service=["api"] * n,
        severity=severities,
        message=[f"{tag} line {i}" for i in range(n)],
        agent=["a1"] * n,
        labels=[{}] * n,
        trace_id=[""] * n,
        span_id=[""] * n,
        truncated=[False] * n,
        observed_ns=[0] * n,
        template_id=[i % 3 for i in range(n)] if templates else None,
    )


def stream(severities: frozenset[str] = EVERY, batch_size: int = 100) -> StreamFilter:
    return StreamFilter(
        id=uuid.uuid4(),
        tenant_id=TENANT,
        services=frozenset(),
        severities=severities,
        batch_size=batch_size,
    )


def test_every_line_is_kept_as_rows_in_order() -> None:
    buffers = StreamBuffers(max_lines=1000)
    everything, errors = stream(), stream(frozenset({"ERROR"}))
    buffers.set_streams([everything, errors])
    buffers.listener(TENANT, columns("a", [Severity.INFO, Severity.ERROR], templates=True))
    buffers.listener(TENANT, columns("b", [Severity.ERROR]))
    pending = buffers.pending[everything.id]
    assert len(pending) == 3
    assert pending.rows == [
        ("a-0", 1_700_000_000_000_000_000, "api", "INFO", "a line 0", "a1", 0),
        ("a-1", 1_700_000_000_000_000_001, "api", "ERROR", "a line 1", "a1", 1),
        ("b-0", 1_700_000_000_000_000_000, "api", "ERROR", "b line 0", "a1", None),
    ]
    assert [row[0] for row in buffers.pending[errors.id].rows] == ["a-1", "b-0"]


def test_the_bound_takes_the_first_lines_and_counts_the_rest_dropped() -> None:
    buffers = StreamBuffers(max_lines=5)
    everything = stream(batch_size=4)
    woken: list[bool] = []
    buffers.on_full = lambda: woken.append(True)
    buffers.set_streams([everything])
    buffers.listener(TENANT, columns("a", [Severity.INFO] * 3))
    assert woken == [] and not buffers.ready()
    buffers.listener(TENANT, columns("b", [Severity.INFO] * 4))
    buffers.listener(TENANT, columns("c", [Severity.INFO] * 2))  # no room left
    pending = buffers.pending[everything.id]
    assert len(pending) == 5 and woken == [True] and buffers.ready()
    assert [row[0] for row in pending.rows] == ["a-0", "a-1", "a-2", "b-0", "b-1"]


def test_lines_given_back_go_before_the_columns_kept_since() -> None:
    buffers = StreamBuffers(max_lines=100)
    everything = stream()
    buffers.set_streams([everything])
    buffers.listener(TENANT, columns("a", [Severity.INFO] * 2))
    taken = buffers.take(everything.id)
    assert taken is not None
    buffers.listener(TENANT, columns("b", [Severity.INFO] * 2))
    buffers.give_back(everything.id, taken)
    pending = buffers.pending[everything.id]
    assert len(pending) == 4
    assert [row[0] for row in pending.rows] == ["a-0", "a-1", "b-0", "b-1"]


def test_rows_read_then_extended_count_with_the_columns() -> None:
    pending = Pending(received_at=datetime(2026, 12, 8, tzinfo=UTC), rows=[("x",)])
    pending.add_columns((["y", "z"],))
    assert len(pending) == 3
    pending.rows.append(("w",))
    pending.add_columns((["v"],))
    assert len(pending) == 5
    assert pending.rows == [("x",), ("y",), ("z",), ("w",), ("v",)]
