"""The Kubernetes driver against the API server emulation: what it writes, how it follows a
rollout, conflicts, watches that end or expire, a failed rollout and its rollback."""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentdeck.errors import Invalid
from agentdeck.fleet.driver import ReplicaPhase, Strategy, WorkloadStatus
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.driver import KubernetesDriver
from agentdeck.settings import FleetKubernetesSettings
from tests.fleet.helpers import eventually
from tests.fleet.kubernetes.apiserver import REVISION, ApiServer, write_kubeconfig
from tests.fleet.kubernetes.conftest import NAMESPACE, make_spec


def deployment_of(api: ApiServer, agent_id: uuid.UUID) -> dict[str, Any] | None:
    for (resource, ns, _), obj in api.objects.items():
        mine = obj["metadata"]["labels"].get(manifests.AGENT_ID) == str(agent_id)
        if resource == "deployments" and ns == NAMESPACE and mine:
            return obj
    return None


def pods_of(api: ApiServer, agent_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        obj
        for (resource, _, _), obj in sorted(api.objects.items())
        if resource == "pods" and obj["metadata"]["labels"].get(manifests.AGENT_ID) == str(agent_id)
    ]


async def settled(
    driver: KubernetesDriver, agent_id: uuid.UUID, spec_hash: str, ready: int
) -> WorkloadStatus:
    async def probe() -> WorkloadStatus | None:
        return await driver.status(agent_id)

    status = await eventually(
        probe,
        lambda s: (
            s is not None and s.spec_hash == spec_hash and s.settled and s.updated_ready == ready
        ),
        what=f"{ready} ready replicas of {spec_hash}",
    )
    assert status is not None
    return status


async def roll(
    api: ApiServer, driver: KubernetesDriver, agent_id: uuid.UUID, spec_hash: str, n: int
) -> WorkloadStatus:
    """Step the controller until the Deployment's rollout is complete (bounded), then wait for
    the driver to have seen it through its watches."""
    for _ in range(20):
        deployment = deployment_of(api, agent_id)
        assert deployment is not None
        done = deployment.get("status", {})
        pods = pods_of(api, agent_id)
        if (
            done.get("observedGeneration") == deployment["metadata"]["generation"]
            and done.get("updatedReplicas", 0) == n == done.get("availableReplicas", 0)
            and len(pods) == n
            and all(p["metadata"]["labels"][manifests.SPEC_HASH] == spec_hash for p in pods)
        ):
            break
        await api.step()
    return await settled(driver, agent_id, spec_hash, n)


async def test_apply_writes_a_deployment_and_a_service_with_labels_and_limits(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=2, strategy=Strategy.rolling)
    deployment = deployment_of(api, spec.agent_id)
    assert deployment is not None
    name = deployment["metadata"]["name"]
    assert name == manifests.object_name("Support Bot", spec.agent_id)
    assert name.startswith("ad-support-bot-") and len(name) <= 63
    labels = deployment["metadata"]["labels"]
    assert labels[manifests.MANAGED_BY] == "agentdeck"
    assert labels[manifests.NAME] == "Support-Bot"
    assert labels[manifests.INSTANCE] == name
    assert labels[manifests.AGENT_ID] == str(spec.agent_id)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert deployment["spec"]["progressDeadlineSeconds"] == 10
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/support-bot:1.0.0"
    assert container["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "500m", "memory": "256Mi"},
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PORT"] == "8000" and env["LOG_LEVEL"] == "info"
    assert env["AGENTDECK_AGENT_CONFIG"] == '{"llm": {"model": "small"}}'
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert template_labels[manifests.SPEC_HASH] == spec.spec_hash
    service = api.get("services", NAMESPACE, name)
    assert service is not None
    assert service["spec"]["selector"] == manifests.selector(spec.agent_id)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    # every manifest written was valid for the API server's OpenAPI schema (it refuses with 422)
    assert [k for k in api.written if k["kind"] in ("Deployment", "Service")]
    assert not [r for r in api.refusals if r[1] == 422]
    methods = {(s.method, s.path) for s in api.requests}
    assert ("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments") in methods
    assert ("POST", f"/api/v1/namespaces/{NAMESPACE}/services") in methods


async def test_a_rollout_is_followed_from_observed_generation_to_complete(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=2, strategy=Strategy.rolling)
    status = await driver.status(spec.agent_id)
    assert status is not None and status.desired == 2 and status.ready == 0
    await roll(api, driver, spec.agent_id, spec.spec_hash, 2)
    deployment = deployment_of(api, spec.agent_id)
    assert deployment is not None
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    assert deployment["status"]["updatedReplicas"] == deployment["status"]["availableReplicas"] == 2
    conditions = {c["type"]: c for c in deployment["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    status = await settled(driver, spec.agent_id, spec.spec_hash, 2)
    assert all(r.pod and r.port == 8000 and r.phase is ReplicaPhase.ready for r in status.replicas)
    kinds = [e.kind for e in await driver.events(spec.agent_id)]
    assert kinds.count("replica_started") == 2 and kinds.count("replica_ready") == 2
    assert kinds[0] == "workload_applied" and "rollout_complete" in kinds
    assert driver.capabilities().replicas == 2


async def test_a_rolling_update_never_has_fewer_ready_pods_than_desired(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    v1 = make_spec()
    await driver.apply(v1, replicas=2, strategy=Strategy.rolling)
    await roll(api, driver, v1.agent_id, v1.spec_hash, 2)
    v2 = make_spec(agent_id=v1.agent_id, version="2.0.0")
    await driver.apply(v2, replicas=2, strategy=Strategy.rolling)
    deployment = deployment_of(api, v1.agent_id)
    assert deployment is not None and deployment["metadata"]["generation"] == 2
    for _ in range(12):
        await api.step()
        live = [p for p in pods_of(api, v1.agent_id) if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in live if p["status"]["conditions"][0]["status"] == "True"]
        assert len(ready) >= 2  # maxUnavailable 0: one new pod ready before an old one goes
        assert len(live) <= 3  # maxSurge 1
    await roll(api, driver, v1.agent_id, v2.spec_hash, 2)
    deployment = deployment_of(api, v1.agent_id)
    assert deployment is not None
    assert deployment["metadata"]["annotations"][REVISION] == "2"
    status = await driver.status(v1.agent_id)
    assert status is not None and {r.version for r in status.replicas} == {"2.0.0"}
    stopped = [e for e in await driver.events(v1.agent_id) if e.kind == "replica_stopped"]
    assert len(stopped) == 2 and all(e.spec_hash == v1.spec_hash for e in stopped)


async def test_recreate_stops_every_old_pod_before_starting_new_ones(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    v1 = make_spec()
    await driver.apply(v1, replicas=2, strategy=Strategy.recreate)
    await roll(api, driver, v1.agent_id, v1.spec_hash, 2)
    v2 = make_spec(agent_id=v1.agent_id, version="2.0.0")
    await driver.apply(v2, replicas=2, strategy=Strategy.recreate)
    for _ in range(8):
        await api.step()
        hashes = {p["metadata"]["labels"][manifests.SPEC_HASH] for p in pods_of(api, v1.agent_id)}
        assert len(hashes) <= 1  # never old and new at once
    await roll(api, driver, v1.agent_id, v2.spec_hash, 2)


async def test_scaling_goes_through_the_scale_subresource(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    await driver.scale(spec.agent_id, 3)
    name = manifests.object_name(spec.agent_name, spec.agent_id)
    scale_calls = [s for s in api.requests if s.path.endswith(f"/deployments/{name}/scale")]
    assert [s.method for s in scale_calls] == ["PATCH"]
    deployment = deployment_of(api, spec.agent_id)
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["generation"] == 2
    await roll(api, driver, spec.agent_id, spec.spec_hash, 3)
    await driver.stop(spec.agent_id)
    for _ in range(4):
        await api.step()
    status = await eventually(
        lambda: driver.status(spec.agent_id),
        lambda s: s is not None and s.desired == 0 and not s.live,
        what="scaled to zero",
    )
    assert status is not None
    assert deployment_of(api, spec.agent_id) is not None  # kept: its spec waits for a start


async def test_a_stale_resource_version_is_a_409_and_the_driver_reads_again(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    # someone else changes the Deployment, and the driver has not heard of it yet (its watch
    # event is not out): the driver's resourceVersion is stale
    key = next(k for k in api.objects if k[0] == "deployments")
    changed = copy.deepcopy(api.objects[key])
    changed["metadata"]["annotations"]["someone.example/note"] = "hand edit"
    api._bump(changed)
    api.objects[key] = changed
    v2 = make_spec(agent_id=spec.agent_id, version="2.0.0")
    await driver.apply(v2, replicas=1, strategy=Strategy.rolling)
    puts = [r for r in api.refusals if r[0].startswith("PUT")]
    assert puts == [(f"PUT /apis/apps/v1/namespaces/{NAMESPACE}/deployments/{key[2]}", 409)]
    deployment = api.objects[key]
    assert deployment["metadata"]["annotations"][manifests.SPEC_HASH] == v2.spec_hash
    await roll(api, driver, spec.agent_id, v2.spec_hash, 1)


async def test_a_create_that_lost_a_race_is_409_already_exists_then_replaced(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    name = manifests.object_name(spec.agent_name, spec.agent_id)
    other = make_spec(agent_id=spec.agent_id, version="0.9.0")
    api.race_create.add(name)  # another writer creates it just before the driver's POST
    api.race_body = manifests.deployment(
        other, replicas=1, strategy=Strategy.rolling, settings=driver.settings
    )
    await driver.apply(spec, replicas=2, strategy=Strategy.rolling)
    assert (f"POST /apis/apps/v1/namespaces/{NAMESPACE}/deployments", 409) in api.refusals
    deployment = api.get("deployments", NAMESPACE, name)
    assert deployment is not None
    assert deployment["metadata"]["annotations"][manifests.SPEC_HASH] == spec.spec_hash
    assert deployment["spec"]["replicas"] == 2


async def test_progress_deadline_exceeded_fails_the_rollout(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    v1 = make_spec()
    await driver.apply(v1, replicas=2, strategy=Strategy.rolling)
    await roll(api, driver, v1.agent_id, v1.spec_hash, 2)
    v2 = make_spec(agent_id=v1.agent_id, version="2.0.0", image="registry.example/broken:2")
    api.crashing_images.add("registry.example/broken:2")
    await driver.apply(v2, replicas=2, strategy=Strategy.rolling)
    await api.step(13)  # progressDeadlineSeconds 10, one emulated second per step
    status = await eventually(
        lambda: driver.status(v1.agent_id),
        lambda s: s is not None and s.rollout_failed is not None,
        what="the rollout to fail",
    )
    assert status is not None
    assert status.rollout_failed is not None
    assert status.rollout_failed.startswith("ProgressDeadlineExceeded")
    assert status.error is not None and "CrashLoopBackOff" in status.error
    assert status.ready == 2  # the old pods still serve (maxUnavailable 0)
    crashing = [r for r in status.replicas if r.spec_hash == v2.spec_hash]
    assert crashing and crashing[0].phase is ReplicaPhase.crash_loop
    assert crashing[0].restarts > 0 and crashing[0].last_exit_code == 1
    kinds = {e.kind for e in await driver.events(v1.agent_id)}
    assert {"rollout_failed", "replica_crash_loop", "replica_exited"} <= kinds


async def test_rollback_reapplies_the_previous_revision(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    v1 = make_spec()
    await driver.apply(v1, replicas=2, strategy=Strategy.rolling)
    await roll(api, driver, v1.agent_id, v1.spec_hash, 2)
    before = deployment_of(api, v1.agent_id)
    assert before is not None
    template_v1 = copy.deepcopy(before["spec"]["template"])
    api.crashing_images.add("registry.example/broken:2")
    v2 = make_spec(agent_id=v1.agent_id, version="2.0.0", image="registry.example/broken:2")
    await driver.apply(v2, replicas=2, strategy=Strategy.rolling)
    await api.step(13)
    await eventually(
        lambda: driver.status(v1.agent_id),
        lambda s: s is not None and s.rollout_failed is not None,
        what="the rollout to fail",
    )
    await driver.apply(v1, replicas=2, strategy=Strategy.rolling)  # what a rollback hands
    after = deployment_of(api, v1.agent_id)
    assert after is not None and after["spec"]["template"] == template_v1
    status = await driver.status(v1.agent_id)
    assert status is not None and status.rollout_failed is None  # a new generation
    await roll(api, driver, v1.agent_id, v1.spec_hash, 2)
    final = deployment_of(api, v1.agent_id)
    assert final is not None
    assert final["metadata"]["annotations"][REVISION] == "3"  # the old template, revision 3
    assert {p["metadata"]["labels"][manifests.SPEC_HASH] for p in pods_of(api, v1.agent_id)} == {
        v1.spec_hash
    }


async def test_watches_resume_from_their_version_and_list_again_after_410(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    lists_before = sum(
        1
        for s in api.requests
        if s.path.endswith("/deployments") and "watch" not in s.query and s.method == "GET"
    )
    await api.end_watches()
    await driver.scale(spec.agent_id, 2)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 2)
    resumed = [
        s
        for s in api.requests
        if s.path.endswith("/deployments") and s.query.get("watch") in ("true", "True")
    ]
    assert len(resumed) >= 2 and resumed[-1].query["resourceVersion"] not in ("", "0")
    lists_now = sum(
        1
        for s in api.requests
        if s.path.endswith("/deployments") and "watch" not in s.query and s.method == "GET"
    )
    assert lists_now == lists_before  # resumed, not listed again
    # changes the driver's watches do not deliver, then compaction: the version the driver
    # would resume from is gone (410 Gone), so it lists again
    api.frozen = True
    await driver.scale(spec.agent_id, 1)
    await api.step(3)
    api.compact()
    api.frozen = False
    await api.end_watches()
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)

    async def lists() -> int:
        return sum(
            1
            for s in api.requests
            if s.path.endswith("/deployments") and "watch" not in s.query and s.method == "GET"
        )

    # the status may settle from the driver's other reads before its watch loop comes back
    # for the 410 and lists again: wait for that list (bounded)
    await eventually(lists, lambda n: n > lists_now, what="a list again after the 410")


async def test_delete_removes_the_deployment_service_and_pods(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=2, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 2)
    stepping = asyncio.create_task(api.run(0.02))
    try:
        await driver.delete(spec.agent_id, wait=True)
    finally:
        stepping.cancel()
        await asyncio.gather(stepping, return_exceptions=True)
    assert deployment_of(api, spec.agent_id) is None
    assert not [k for k in api.objects if k[0] == "services"]
    assert pods_of(api, spec.agent_id) == []
    assert await driver.workloads() == []
    assert await driver.status(spec.agent_id) is None


async def test_a_new_driver_finds_the_running_deployments(
    driver: KubernetesDriver, api: ApiServer, kube_settings: FleetKubernetesSettings
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=2, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 2)
    second = KubernetesDriver(kube_settings)
    await second.start()
    try:
        assert await second.workloads() == [spec.agent_id]
        status = await second.status(spec.agent_id)
        assert status is not None and status.settled and status.ready == 2
        await second.scale(spec.agent_id, 1)  # from the spec its annotation holds
        deployment = deployment_of(api, spec.agent_id)
        assert deployment is not None and deployment["spec"]["replicas"] == 1
    finally:
        await second.close()


async def test_pod_output_is_read_from_the_log_endpoint(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await roll(api, driver, spec.agent_id, spec.spec_hash, 1)
    lines = await driver.logs(spec.agent_id, limit=10)
    assert [line.line for line in lines][-1] == "listening on port 8000"
    assert lines[0].replica.startswith("ad-support-bot-") and lines[0].agent == "Support Bot"


def test_a_spec_without_an_image_is_refused_naming_the_field(
    kube_settings: FleetKubernetesSettings,
) -> None:
    driver = KubernetesDriver(kube_settings.model_copy(update={"image": None}))
    spec = make_spec(image=None, template="llm", command=None)
    with pytest.raises(Invalid) as caught:
        driver.validate(spec, 1, loc=("config",))
    assert caught.value.errors[0].loc == ["config", "image"]
    assert "fleet.kubernetes.image" in caught.value.errors[0].message
    custom = make_spec(image=None, command="python")
    with pytest.raises(Invalid):
        driver.validate(custom, 1, loc=("config",))
    # with a template image configured, a template agent needs no image of its own
    KubernetesDriver(kube_settings).validate(
        make_spec(image=None, template="llm"), 1, loc=("config",)
    )


async def test_a_refused_write_shows_in_the_status_and_is_retried(
    api: ApiServer, api_url: str, tmp_path: Path, kube_settings: FleetKubernetesSettings
) -> None:
    bad = write_kubeconfig(tmp_path / "bad", api_url, token="wrong")
    driver = KubernetesDriver(kube_settings.model_copy(update={"kubeconfig": bad}))
    await driver.start()
    try:
        spec = make_spec()
        await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
        status = await driver.status(spec.agent_id)
        assert status is not None and status.error is not None
        assert "401" in status.error and "Unauthorized" in status.error
        assert "watch reconnecting" in driver.capabilities().detail
        assert [e.kind for e in await driver.events(spec.agent_id)] == ["apply_failed"]
    finally:
        await driver.close()
