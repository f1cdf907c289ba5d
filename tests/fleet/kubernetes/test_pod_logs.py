"""Pod output followed into the logs pipeline: every line once, in order, across reconnects;
a pod that was there before the driver started is followed from then on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from agentdeck.fleet.driver import LogLine, Strategy
from agentdeck.fleet.kubernetes.driver import KubernetesDriver
from agentdeck.settings import FleetKubernetesSettings
from tests.conftest import Caller
from tests.fleet.helpers import AGENTS, act, eventually, replicas, wait_status
from tests.fleet.kubernetes.apiserver import ApiServer
from tests.fleet.kubernetes.conftest import make_spec
from tests.fleet.kubernetes.test_app import kube_client as kube_client  # the fixtures
from tests.fleet.kubernetes.test_app import stepping as stepping
from tests.fleet.kubernetes.test_driver import pods_of, roll


class Collected:
    def __init__(self) -> None:
        self.lines: list[LogLine] = []

    def __call__(self, lines: Sequence[LogLine]) -> None:
        self.lines.extend(lines)

    async def texts(self) -> list[str]:
        return [line.line for line in self.lines]


async def test_pod_lines_reach_the_sinks_once_and_in_order_across_reconnects(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    got = Collected()
    driver.add_line_sink(got)
    spec = make_spec(version="2.1.0")
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    (pod,) = pods_of(api, spec.agent_id)
    name = pod["metadata"]["name"]
    texts = await eventually(
        got.texts, lambda t: "listening on port 8000" in t, what="the pod's start-up lines"
    )
    assert texts[0].startswith("pod created from ")
    line = got.lines[0]
    assert (line.agent, line.agent_id, line.replica) == ("Support Bot", spec.agent_id, name)
    assert line.labels == {
        "agent": "Support Bot",
        "agent_id": str(spec.agent_id),
        "replica": name,
        "stream": "stdout",
        "version": "2.1.0",
    }

    await api.write_log(name, "first", "second")
    await eventually(got.texts, lambda t: t[-1] == "second", what="the written lines")
    # the stream is cut (as an API server restart does); the follower reconnects and asks for
    # the recent past again: nothing is handed on twice
    await api.cut_log_follows()
    await api.write_log(name, "third")
    texts = await eventually(got.texts, lambda t: t[-1] == "third", what="a line after the cut")
    assert texts == [
        texts[0],
        "listening on port 8000",
        "first",
        "second",
        "third",
    ]
    assert all(line.at.tzinfo is not None for line in got.lines)

    # the pod goes: its follower ends
    await driver.scale(spec.agent_id, 0)
    for _ in range(5):
        await api.step()
    await eventually(
        lambda: _value(api.open_log_follows), lambda n: n == 0, what="the follow stream closed"
    )


async def _value(n: int) -> int:
    return n


async def test_a_pod_running_before_the_driver_started_is_followed_from_then_on(
    driver: KubernetesDriver, api: ApiServer, kube_settings: FleetKubernetesSettings
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    (pod,) = pods_of(api, spec.agent_id)
    second = KubernetesDriver(kube_settings)
    got = Collected()
    second.add_line_sink(got)
    await second.start()
    try:
        await eventually(
            lambda: _value(api.open_log_follows), lambda n: n >= 2, what="both drivers follow"
        )
        await api.write_log(pod["metadata"]["name"], "after the restart")
        texts = await eventually(got.texts, lambda t: bool(t), what="the new line")
        assert texts == ["after the restart"]  # not the start-up lines printed before
    finally:
        await second.close()


async def test_pod_output_is_searchable_in_the_logs_of_the_app(
    kube_client: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    dev: Caller,
    api: ApiServer,
) -> None:
    client = kube_client
    created = await client.post(
        AGENTS,
        json={
            "name": "pod-talker",
            "type": "custom",
            "version": "3.0.0",
            "config": {"image": "registry.example/bot:1", "port": 8000, "health_path": "/healthz"},
        },
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    assert (await act(client, dev, agent_id, "start")).status_code == 200
    await wait_status(client, dev, agent_id, "running", ready=1)
    (row,) = await replicas(client, dev, agent_id)
    await api.write_log(row["pod"], "handled request 42")

    async def found() -> list[dict[str, Any]]:
        response = await client.get(
            "/api/v1/logs",
            params={"query": '{agent="pod-talker"} |= "request 42"'},
            headers=dev.headers,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    (item,) = await eventually(found, lambda items: len(items) == 1, what="the pod's line")
    assert item["service"] == "pod-talker" and item["severity"] == "INFO"
    assert item["labels"] == {
        "agent_id": agent_id,
        "replica": row["pod"],
        "stream": "stdout",
        "version": "3.0.0",
    }
    await act(client, dev, agent_id, "stop")
    await wait_status(client, dev, agent_id, "stopped")
