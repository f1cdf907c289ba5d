"""The whole app on the Kubernetes driver, against the emulation with its controller running:
start, replicas, scale, a deployment whose pods crash-loop (ProgressDeadlineExceeded → rolled
back automatically to the previous revision), stop, delete."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Caller
from tests.fleet.conftest import FAST_FLEET, AppFactory
from tests.fleet.helpers import AGENTS, act, eventually, replicas, wait_status
from tests.fleet.kubernetes.apiserver import ApiServer
from tests.fleet.kubernetes.conftest import NAMESPACE


@pytest.fixture
async def stepping(api: ApiServer, api_url: str) -> AsyncIterator[None]:
    """The emulated controller at work: a step (one emulated second) every 20 ms."""
    task = asyncio.create_task(api.run(0.02))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def kube_client(
    app_factory: AppFactory, kubeconfig: Path, stepping: None
) -> httpx.AsyncClient:
    fleet: dict[str, Any] = {
        **FAST_FLEET,
        "driver": "kubernetes",
        "kubernetes": {
            "namespace": NAMESPACE,
            "kubeconfig": str(kubeconfig),
            "in_cluster": False,
            "progress_deadline_seconds": 10,
            "request_timeout_seconds": 5,
        },
    }
    return await app_factory(fleet=fleet)


async def deployment(client: httpx.AsyncClient, caller: Caller, dep_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/deployments/{dep_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def cluster_deployment(api: ApiServer) -> dict[str, Any] | None:
    found = [o for (r, _, _), o in api.objects.items() if r == "deployments"]
    return found[0] if found else None


async def test_an_agent_runs_scales_rolls_back_and_goes_on_kubernetes(
    kube_client: httpx.AsyncClient, dev: Caller, api: ApiServer
) -> None:
    client = kube_client
    driver = (await client.get("/api/v1/fleet/driver", headers=dev.headers)).json()
    assert driver["driver"] == "kubernetes" and driver["limits"] == "kubernetes"
    created = await client.post(
        AGENTS,
        json={
            "name": "support-bot",
            "type": "custom",
            "config": {"image": "registry.example/bot:1", "port": 8000, "health_path": "/healthz"},
            "replica_count": 2,
            "cpu_limit": "250m",
            "memory_limit": "128Mi",
        },
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    assert (await act(client, dev, agent_id, "start")).status_code == 200
    running = await wait_status(client, dev, agent_id, "running", ready=2)
    assert running["health"]["healthy"] is True
    assert running["health"]["replicas"] == {"desired": 2, "ready": 2}
    rows = await replicas(client, dev, agent_id)
    assert len(rows) == 2 and all(r["pod"] and r["pid"] is None and r["ready"] for r in rows)
    in_cluster = cluster_deployment(api)
    assert in_cluster is not None
    container = in_cluster["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "250m", "memory": "128Mi"}

    assert (await act(client, dev, agent_id, "scale", replicas=3)).status_code == 200
    await wait_status(client, dev, agent_id, "running", ready=3)

    api.crashing_images.add("registry.example/bot:2")
    response = await client.post(
        f"{AGENTS}/{agent_id}/deployments",
        json={"version": "2.0.0", "spec": {"image": "registry.example/bot:2"}},
        headers=dev.headers,
    )
    assert response.status_code == 201, response.text
    dep_id = response.json()["id"]
    final = await eventually(
        lambda: deployment(client, dev, dep_id),
        lambda d: d["status"] in ("rolled_back", "failed", "completed"),
        what="the deployment to end",
    )
    assert final["status"] == "rolled_back", final
    assert "ProgressDeadlineExceeded" in (final["error"] or "")
    kinds = [e["kind"] for e in final["events"]]
    assert "rollout_failed" in kinds and "rolling_back" in kinds
    back = await wait_status(client, dev, agent_id, "running", ready=3)
    assert back["version"] != "2.0.0" and back["config"]["image"] == "registry.example/bot:1"
    in_cluster = cluster_deployment(api)
    assert in_cluster is not None
    image = in_cluster["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example/bot:1"

    assert (await act(client, dev, agent_id, "stop")).status_code == 200
    await wait_status(client, dev, agent_id, "stopped", ready=0)
    in_cluster = cluster_deployment(api)
    assert in_cluster is not None and in_cluster["spec"]["replicas"] == 0

    response = await client.delete(f"{AGENTS}/{agent_id}", headers=dev.headers)
    assert response.status_code == 204, response.text
    await eventually(
        lambda: _objects(api), lambda kinds: not kinds, what="the agent's objects to go"
    )
    assert api.unserved == []


async def _objects(api: ApiServer) -> list[str]:
    return sorted({r for (r, _, _) in api.objects})


async def test_an_agent_without_an_image_is_refused_on_kubernetes(
    kube_client: httpx.AsyncClient, dev: Caller
) -> None:
    created = await kube_client.post(
        AGENTS,
        json={"name": "no-image", "type": "custom", "config": {"command": "python"}},
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    response = await act(kube_client, dev, created.json()["id"], "start")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/image-required"
    assert problem["errors"][0]["loc"] == ["config", "image"]
