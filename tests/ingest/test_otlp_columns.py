"""OTLP samples ingested as columns answer exactly like the same rows ingested one by one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.ingest.batch import columns_from_rows
from agentdeck.ingest.decoders import otlp
from agentdeck.settings import TSDBSettings
from tests.ingest.ingest_support import now_ms, rows_and_columns_agree
from tests.ingest.otlp_support import gauge, histogram, request, sum_metric, summary

NOW = now_ms()
T_NS = (NOW - 60_000) * 1_000_000
SETTINGS = TSDBSettings(max_active_series=30)


def _request() -> Any:
    long_value = "v" * 2049
    points = [({"agent.template": f"t{i % 3}"}, float(i), T_NS + i * 10**9) for i in range(12)]
    return request(
        [
            gauge("agent.cpu.utilization", points, unit="1"),
            gauge(
                "queue", [({}, 3, T_NS), ({}, math.nan, T_NS + 1), ({"k": long_value}, 1.0, T_NS)]
            ),
            gauge("old", [({}, 1.0, (NOW - 40 * 86_400_000) * 1_000_000)]),
            gauge("ahead", [({}, 1.0, (NOW + 3_600_000) * 1_000_000)]),
            sum_metric("jobs", [({"queue": "a"}, 5, T_NS), ({"queue": "b"}, 6, T_NS)]),
            histogram("llm.latency", {"model": "m1"}, [0.1, 1.0], [1, 2, 3], 2.5, T_NS, unit="s"),
            summary("rpc.time", {0.5: 0.2, 0.99: 1.5}, 10, 3.5, T_NS),
            # More new series than the cap leaves room for: the same ones must be refused.
            gauge("wide", [({"n": str(i)}, 1.0, T_NS) for i in range(25)]),
        ],
        {"service.name": "bot-1"},
    )


async def test_columns_from_otlp_rows_match_the_row_path(
    tmp_path: Path, session: AsyncSession
) -> None:
    translation = otlp.translate(_request(), now_ms=NOW)
    columns = columns_from_rows(translation.rows, now_ms=NOW)
    assert len(columns) == len(translation.rows)
    got = await rows_and_columns_agree(
        tmp_path,
        session=session,
        settings=SETTINGS,
        rows=translation.rows,
        columns=columns,
        errors=translation.errors,
        now_ms=NOW,
    )
    assert {e.message.split(":")[0] for e in got.errors} >= {
        "value is NaN, which cannot be stored",
        "label value is 2049 bytes; the limit is 2048",
        "timestamp is older than the retention of 30 days",
        "timestamp is more than 600 s in the future",
        "new series refused",
    }
    assert got.accepted > 30


def test_every_row_becomes_a_column() -> None:
    """Rows of any kind become columns (one path through the core): an int value as a float,
    a missing timestamp as now, no labels as the ``None`` token; a value that is no number
    or a timestamp beyond int64 is a problem for the core to refuse."""
    labels = {"a": "b"}
    assert len(columns_from_rows([], now_ms=NOW)) == 0
    columns = columns_from_rows(
        [
            ("m", labels, 1, 5, 3),
            ("n", labels, 2.0, None, 4),
            ("o", None, "x", 6, 5),
            ("p", labels, 1.0, 2**64, 6),
        ],
        now_ms=NOW,
    )
    assert columns.tokens[0] == columns.tokens[1] == (("a", "b"),)
    assert columns.tokens[2] is None and columns.label_sets[None] is None
    assert columns.values[:2].tolist() == [1.0, 2.0]
    assert columns.timestamps[:3].tolist() == [5, NOW, 6]
    assert columns.indexes is not None and columns.indexes.tolist() == [3, 4, 5, 6]
    assert columns.problems is not None
    assert {i: reason for i, (reason, _, _) in columns.problems.items()} == {
        2: "invalid_value",
        3: "too_far_in_future",
    }
