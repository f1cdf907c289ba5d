"""The template registry without HTTP: statistics, the hourly trend, rising, its JSON state."""

from __future__ import annotations

import uuid
from dataclasses import fields, replace

import pytest

from agentdeck.logintel.templates.service import TemplateRegistry, TenantTemplates, with_template
from agentdeck.logintel.templates.stats import HOUR_NS, rising_score
from agentdeck.logstore.base import LogRecord, Severity
from agentdeck.settings import LogIntelSettings

TENANT = uuid.UUID(int=1)


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def test_trend_counts_lines_per_hour_and_rising_ranks_the_burst() -> None:
    clock = Clock(1000 * HOUR_NS + 5)
    registry = TemplateRegistry(LogIntelSettings(template_trend_hours=4), clock_ns=clock)
    steady = [f"disk check {i} ok" for i in range(3)]
    for hour in range(997, 1001):  # 3 lines an hour of "disk check"
        registry.assign(TENANT, steady, ["api"] * 3, [hour * HOUR_NS] * 3)
    burst = [f"payment {i} failed with code {i}" for i in range(9)]
    registry.assign(TENANT, burst, ["pay"] * 9, [1000 * HOUR_NS] * 9)
    old = registry.assign(TENANT, ["disk check 9 ok"], ["api"], [900 * HOUR_NS])
    views, cursor = registry.page(TENANT, sort="rising")
    assert cursor is None
    assert [v.template for v in views] == ["payment <*> failed with code <*>", "disk check <*> ok"]
    assert views[0].trend == [0, 0, 0, 9] and views[1].trend == [3, 3, 3, 3]
    assert views[1].count == 13  # the old line counts, in no trend bucket
    assert views[1].first_ns == 900 * HOUR_NS and old == [views[1].id]
    assert views[0].rising == pytest.approx(10.0) and views[1].rising == pytest.approx(1.0)
    assert [v.count for v in registry.page(TENANT, service="pay")[0]] == [9]


def test_rising_score() -> None:
    assert rising_score([0, 0, 0]) == 1.0
    assert rising_score([2, 2, 8]) == 3.0
    assert rising_score([]) == 0.0


def test_state_round_trips_as_json_and_refuses_garbage() -> None:
    registry = TemplateRegistry(LogIntelSettings())
    ids = registry.assign(TENANT, ["job 1 done", "job 2 done", "starting up"])
    raw = registry.tenant(TENANT).to_json()
    restored = TenantTemplates.from_json(raw)
    assert restored.miner.add("job 3 done") == ids[0]
    assert restored.stats[ids[0]].samples == ["job 1 done", "job 2 done"]
    for bad in (b"[]", b"{}", b'{"format": "agentdeck.logintel.templates/1"}', b"not json"):
        with pytest.raises(ValueError):
            TenantTemplates.from_json(bad)


def test_with_template_copies_every_field() -> None:
    record = LogRecord(
        id="r1",
        tenant_id=TENANT,
        ts_ns=5,
        service="api",
        severity=Severity.ERROR,
        message="m",
        agent="a",
        labels={"k": "v"},
        trace_id="t",
        span_id="s",
        truncated=True,
        observed_ns=9,
    )
    assert with_template(record, 7) == replace(record, template_id=7)
    assert [f.name for f in fields(LogRecord)][-2:] == ["template_id", "observed_ns"]
