"""One deployment at a time per agent when two rollouts race: the loser gets the same 409 as
a rollout refused before its write, naming the deployment under way."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.errors import Conflict
from agentdeck.fleet.deployments.service import ROLLOUT
from agentdeck.fleet.models import Deployment
from tests.conftest import Caller
from tests.fleet.helpers import assert_problem, create_agent
from tests.fleet.test_deployments import deploy


async def test_two_rollouts_at_once_one_wins_and_the_other_names_it(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    never = {"args": [str(programs["never_healthy"])]}
    responses = await asyncio.gather(
        deploy(fleet_client, dev, created["id"], "2.0.0", spec=never),
        deploy(fleet_client, dev, created["id"], "3.0.0", spec=never),
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 201).json()
    loser = next(r for r in responses if r.status_code == 409)
    assert assert_problem(loser, 409, "deployment-in-progress")["deployment_id"] == winner["id"]


async def test_a_rollout_that_loses_the_race_at_its_write_gets_the_same_409(
    fleet_client: httpx.AsyncClient, session: AsyncSession, dev: Caller, programs: dict[str, Path]
) -> None:
    """The check before the write passed (the winner had not committed yet); the database's
    unique ``active_agent_id`` refuses the write, and the 409 names the winner."""
    created = await create_agent(fleet_client, dev, programs["server"])
    first = await deploy(
        fleet_client, dev, created["id"], "2.0.0", spec={"args": [str(programs["never_healthy"])]}
    )
    assert first.status_code == 201, first.text
    winner = await session.scalar(
        select(Deployment).where(Deployment.id == uuid.UUID(first.json()["id"]))
    )
    assert winner is not None
    columns = {c.key: getattr(winner, c.key) for c in Deployment.__table__.columns}
    second = Deployment(**{**columns, "id": uuid.uuid4(), "version": "3.0.0"})
    session.add(second)
    with pytest.raises(Conflict) as refused:
        await ROLLOUT.flush(session, second)
    assert refused.value.kind == "deployment-in-progress"
    assert refused.value.extra == {"deployment_id": first.json()["id"]}
