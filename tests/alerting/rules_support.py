"""Helpers of the alert rule tests: ingest samples through the API, a valid rule body."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import Caller

RULES = "/api/v1/alert-rules"
# A minute-aligned instant 30 minutes ago: samples are ingested around it.
T0 = (int(time.time()) // 60) * 60_000 - 1_800_000


async def ingest(
    client: httpx.AsyncClient, caller: Caller, samples: list[tuple[str, dict[str, str], int, float]]
) -> None:
    """Samples (name, labels, ms, value) through the JSON batch route, as an agent sends them."""
    body = {
        "samples": [
            {"name": name, "labels": labels, "timestamp": ts, "value": value}
            for name, labels, ts, value in samples
        ]
    }
    response = await client.post("/api/v1/metrics/batch", json=body, headers=caller.headers)
    assert response.status_code in (200, 202), response.text
    await client.app.state.deck.store.flush()  # type: ignore[attr-defined]


def threshold_rule(name: str = "HighCPU", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "threshold": {
            "metric_name": "agent_cpu_percent",
            "aggregation": "avg",
            "window": "5m",
            "operator": ">=",
            "threshold": 70,
        },
        "severity": "warning",
        "annotations": {"summary": "CPU of {{ $labels.agent }} is {{ $value }}"},
    }
    body.update(overrides)
    return body
