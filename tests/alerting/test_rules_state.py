"""The rules list says what each rule is doing now (normal, pending or firing, with how many
series), beside the evaluator's last evaluation time and error."""

from __future__ import annotations

import uuid

import httpx

from agentdeck.alerting.models import AlertRule, AlertRuleState, SeriesState
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller


async def _rule(api: httpx.AsyncClient, admin: Caller, name: str) -> str:
    made = await api.post(
        "/api/v1/alert-rules",
        json={"name": name, "expr": "agent_cpu_percent > 90", "severity": "warning"},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _series(world: World, rule_id: str, *states: SeriesState) -> None:
    for k, state in enumerate(states):
        await world._add(
            AlertRuleState(
                rule_id=uuid.UUID(rule_id),
                fingerprint=f"{k:032x}",
                tenant_id=world.tenant_id,
                labels={"agent": f"a{k}"},
                state=state,
            )
        )


async def test_list_and_detail_show_state_counts_and_last_evaluation(
    api: httpx.AsyncClient, admin: Caller, world: World
) -> None:
    quiet = await _rule(api, admin, "Quiet")
    waiting = await _rule(api, admin, "Waiting")
    burning = await _rule(api, admin, "Burning")
    await _series(world, waiting, SeriesState.pending)
    await _series(world, burning, SeriesState.pending, SeriesState.firing, SeriesState.firing)
    async with world.sessions() as session:
        rule = await session.get(AlertRule, uuid.UUID(burning))
        assert rule is not None
        rule.health = "error"
        rule.last_error = "query timed out"
        await session.commit()

    listed = await api.get("/api/v1/alert-rules", params={"q": "i"}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    by_id = {r["id"]: r for r in listed.json()["items"]}
    assert (by_id[quiet]["state"], by_id[quiet]["pending_series"]) == ("normal", 0)
    assert by_id[quiet]["last_evaluated_at"] is None
    assert by_id[waiting]["state"] == "pending"
    assert (by_id[waiting]["pending_series"], by_id[waiting]["firing_series"]) == (1, 0)
    assert by_id[burning]["state"] == "firing"
    assert (by_id[burning]["pending_series"], by_id[burning]["firing_series"]) == (1, 2)
    assert (by_id[burning]["health"], by_id[burning]["last_error"]) == ("error", "query timed out")

    one = await api.get(f"/api/v1/alert-rules/{burning}", headers=admin.headers)
    assert one.status_code == 200, one.text
    assert (one.json()["state"], one.json()["firing_series"]) == ("firing", 2)
