"""Fixtures of the Kubernetes driver tests: the API server emulation on 127.0.0.1, a kubeconfig
pointing at it, and a started driver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.fleet.driver import WorkloadSpec
from agentdeck.fleet.kubernetes.driver import KubernetesDriver
from agentdeck.settings import FleetKubernetesSettings
from tests.fleet.kubernetes.apiserver import ApiServer, serving, write_kubeconfig

NAMESPACE = "agents"


@pytest.fixture
def api() -> ApiServer:
    return ApiServer()


@pytest.fixture
async def api_url(api: ApiServer) -> AsyncIterator[str]:
    async with serving(api) as url:
        yield url


@pytest.fixture
def kubeconfig(api_url: str, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", api_url)


@pytest.fixture
def kube_settings(kubeconfig: Path) -> FleetKubernetesSettings:
    return FleetKubernetesSettings(
        namespace=NAMESPACE,
        kubeconfig=kubeconfig,
        in_cluster=False,
        image="registry.example/agentdeck:test",
        progress_deadline_seconds=10,
        request_timeout_seconds=5,
        watch_timeout_seconds=60,
    )


@pytest.fixture
async def driver(
    kube_settings: FleetKubernetesSettings, api: ApiServer
) -> AsyncIterator[KubernetesDriver]:
    driver = KubernetesDriver(kube_settings)
    await driver.start()
    yield driver
    await driver.close()
    assert api.unserved == [], "the driver asked for endpoints the emulation does not serve"


def make_spec(
    *, agent_id: uuid.UUID | None = None, version: str = "1.0.0", **fields: Any
) -> WorkloadSpec:
    values: dict[str, Any] = {
        "tenant_id": uuid.UUID(int=1),
        "agent_id": agent_id or uuid.uuid4(),
        "agent_name": "Support Bot",
        "version": version,
        "image": f"registry.example/support-bot:{version}",
        "port": 8000,
        "health_path": "/healthz",
        "cpu_limit": "500m",
        "memory_limit": "256Mi",
        "env": {"LOG_LEVEL": "info"},
        "config": {"llm": {"model": "small"}},
    }
    values.update(fields)
    return WorkloadSpec(**values)
