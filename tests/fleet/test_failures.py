"""What goes wrong: crash loops, commands that do not exist, ports in use, health paths that
never answer, processes that ignore SIGTERM, replicas killed from outside, limits."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import Caller
from tests.fleet.helpers import (
    AGENTS,
    act,
    assert_problem,
    create_agent,
    eventually,
    pid_alive,
    replicas,
    wait_gone,
    wait_status,
)


async def test_a_crash_loop_turns_the_agent_to_error_with_its_last_stderr_lines(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["crash"])
    await act(fleet_client, dev, created["id"], "start")
    failed = await wait_status(fleet_client, dev, created["id"], "error")
    assert failed["health"]["healthy"] is False
    detail = failed["health"]["detail"]
    assert "exited with code 3" in detail
    assert "fatal: the model endpoint is not configured" in detail
    rows = await replicas(fleet_client, dev, created["id"])
    assert len(rows) == 1
    row = rows[0]
    assert row["restarts"] >= 2 and row["health"] == "unhealthy"
    assert row["last_exit"]["code"] == 3
    assert row["last_exit"]["reason"] == "exited with code 3"
    assert "fatal: the model endpoint" in row["message"]
    # it keeps retrying, backed off, until stopped
    stopped = await act(fleet_client, dev, created["id"], "stop")
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["health"]["detail"] is None


async def test_a_command_that_does_not_exist_is_refused_naming_the_field(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(
        fleet_client, dev, programs["server"], config={"command": "no-such-agent-binary"}
    )
    response = await act(fleet_client, dev, created["id"], "start")
    problem = assert_problem(response, 422, "command-not-found")
    assert problem["errors"][0]["loc"] == ["config", "command"]
    assert "'no-such-agent-binary' was not found" in problem["detail"]
    missing_dir = await create_agent(
        fleet_client, dev, programs["server"], config={"working_dir": "/no/such/dir"}
    )
    response = await act(fleet_client, dev, missing_dir["id"], "start")
    problem = assert_problem(response, 422, "working-dir-not-found")
    assert problem["errors"][0]["loc"] == ["config", "working_dir"]
    # nothing was started, and the agent says so
    after = await fleet_client.get(f"{AGENTS}/{created['id']}", headers=dev.headers)
    assert after.json()["status"] == "stopped"


async def test_a_command_that_vanishes_after_the_check_shows_as_error(
    fleet_client: httpx.AsyncClient, dev: Caller, tmp_path: Path
) -> None:
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(0o755)
    created = await create_agent(
        fleet_client, dev, script, health_path=None, config={"command": str(script), "args": []}
    )
    await act(fleet_client, dev, created["id"], "start")
    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]),
        lambda rows: len(rows) == 1 and rows[0]["pid"] is not None,
    )
    script.unlink()
    os.kill(rows[0]["pid"], signal.SIGKILL)
    failed = await wait_status(fleet_client, dev, created["id"], "error")
    assert "was not found" in failed["health"]["detail"]


async def test_a_config_without_a_command_is_refused(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    response = await fleet_client.post(
        AGENTS, json={"name": "empty", "type": "custom"}, headers=dev.headers
    )
    created = response.json()
    problem = assert_problem(
        await act(fleet_client, dev, created["id"], "start"), 422, "command-required"
    )
    assert problem["errors"][0]["loc"] == ["config", "command"]
    bad = await create_agent(
        fleet_client, dev, programs["server"], config={"port": 70000, "env": {"PORT": "1"}}
    )
    problem = assert_problem(await act(fleet_client, dev, bad["id"], "start"), 422, "invalid-spec")
    assert {tuple(e["loc"]) for e in problem["errors"]} == {("config", "port"), ("config", "env")}


async def test_a_port_in_use_keeps_the_replica_from_starting(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        created = await create_agent(fleet_client, dev, programs["server"], config={"port": port})
        await act(fleet_client, dev, created["id"], "start")
        failed = await wait_status(fleet_client, dev, created["id"], "error")
        assert f"port {port} is in use" in failed["health"]["detail"]
        rows = await replicas(fleet_client, dev, created["id"])
        assert rows[0]["pid"] is None and rows[0]["port"] == port
        assert rows[0]["last_exit"]["reason"].startswith("could not start")
        # two replicas cannot share a fixed port on one host
        scaled = await act(fleet_client, dev, created["id"], "scale", replicas=2)
        problem = assert_problem(scaled, 422, "fixed-port-replicas")
        assert problem["errors"][0]["loc"] == ["body", "port"]
    # once the port is free the replica starts (after its backoff)
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)


async def test_a_health_path_that_never_answers_keeps_it_deploying_not_ready(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["never_healthy"])
    await act(fleet_client, dev, created["id"], "start")
    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]),
        lambda rows: len(rows) == 1 and rows[0]["pid"] is not None,
    )
    # the process has run for a second, probed every 50 ms, and is never ready
    await eventually(
        lambda: _uptime(fleet_client, dev, created["id"]), lambda s: s >= 1.0, what="uptime"
    )
    body = (await fleet_client.get(f"{AGENTS}/{created['id']}", headers=dev.headers)).json()
    assert body["status"] == "deploying"
    assert body["health"] == {
        "status": "deploying",
        "healthy": False,
        "replicas": {"desired": 1, "ready": 0},
        "detail": None,
    }
    row = (await replicas(fleet_client, dev, created["id"]))[0]
    assert row["phase"] == "starting" and row["health"] == "starting" and pid_alive(row["pid"])
    assert row["pid"] == rows[0]["pid"]  # not restarted: readiness is not liveness


async def _uptime(client: httpx.AsyncClient, caller: Caller, agent_id: str) -> float:
    rows = await replicas(client, caller, agent_id)
    if not rows or rows[0]["started_at"] is None:
        return 0.0
    started = datetime.fromisoformat(rows[0]["started_at"])
    return (datetime.now(UTC) - started).total_seconds()


async def test_a_replica_ignoring_sigterm_is_killed_after_the_grace_period(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["ignores_term"])
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    pid = (await replicas(fleet_client, dev, created["id"]))[0]["pid"]
    started = time.monotonic()
    await act(fleet_client, dev, created["id"], "stop")
    await wait_gone([pid])
    took = time.monotonic() - started
    assert took >= 0.9, took  # it outlived SIGTERM for the 1 s grace period
    driver = fleet_client.app.state.deck.fleet.driver  # type: ignore[attr-defined]
    kinds = [e.kind for e in await driver.events(uuid.UUID(created["id"]))]
    assert "replica_killed" in kinds
    assert kinds.index("replica_stopping") < kinds.index("replica_killed")


async def test_a_replica_killed_from_outside_is_restarted(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], replicas=2)
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)
    victim, other = await replicas(fleet_client, dev, created["id"])
    os.kill(victim["pid"], signal.SIGKILL)
    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]),
        lambda rows: any(
            r["name"] == victim["name"] and r["pid"] not in (None, victim["pid"]) and r["ready"]
            for r in rows
        ),
        what="the killed replica back",
    )
    again = next(r for r in rows if r["name"] == victim["name"])
    assert again["restarts"] == 1
    assert again["last_exit"]["reason"] == "killed by SIGKILL"
    assert again["last_exit"]["code"] == -signal.SIGKILL
    assert next(r for r in rows if r["name"] == other["name"])["pid"] == other["pid"]
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)


async def test_the_memory_limit_is_enforced(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    info = await fleet_client.get("/api/v1/fleet/driver", headers=dev.headers)
    assert info.status_code == 200
    assert info.json()["memory_limit"] is True and info.json()["driver"] == "local"
    created = await create_agent(
        fleet_client, dev, programs["memory_hog"], health_path=None, memory_limit="128Mi"
    )
    await act(fleet_client, dev, created["id"], "start")
    failed = await wait_status(fleet_client, dev, created["id"], "error")
    assert "MemoryError" in failed["health"]["detail"]


async def test_readyz_names_the_driver_and_how_limits_are_enforced(
    fleet_client: httpx.AsyncClient,
) -> None:
    response = await fleet_client.get("/readyz")
    assert response.status_code == 200, response.text
    fleet = next(c for c in response.json()["components"] if c["name"] == "fleet")
    assert fleet["ok"] is True
    assert fleet["detail"].startswith("local driver, 0 replicas; limits: ")
    assert "rlimit" in fleet["detail"] or "cgroup v2" in fleet["detail"]
