"""The local driver on its own: re-adoption by a new driver on the same directory, the sweep
of orphaned processes, output files, limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentdeck.fleet.driver import LogLine, Strategy, WorkloadSpec, WorkloadStatus
from agentdeck.fleet.local.driver import LocalDriver
from agentdeck.fleet.local.limits import Limiter, cpu_cores, memory_bytes
from agentdeck.fleet.local.logs import LogTailer
from agentdeck.settings import FleetSettings
from tests.fleet.conftest import FAST_FLEET
from tests.fleet.helpers import eventually, pid_alive, wait_gone


def spec_of(program: Path, *, replicas_name: str = "solo") -> WorkloadSpec:
    return WorkloadSpec(
        tenant_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        agent_name=replicas_name,
        version="1.0.0",
        command=sys.executable,
        args=(str(program),),
        health_path="/healthz",
    )


@pytest.fixture
async def drivers(tmp_path: Path) -> AsyncIterator[list[LocalDriver]]:
    """Drivers made by a test; whatever they still run is stopped at the end."""
    made: list[LocalDriver] = []
    yield made
    for driver in made:
        driver.settings = driver.settings.model_copy(update={"keep_replicas_on_shutdown": False})
        await driver.close()


def new_driver(directory: Path, made: list[LocalDriver], **overrides: object) -> LocalDriver:
    settings = FleetSettings(**{**FAST_FLEET, **overrides})  # type: ignore[arg-type]
    driver = LocalDriver(settings, directory)
    made.append(driver)
    return driver


async def status_of(driver: LocalDriver, agent_id: uuid.UUID) -> WorkloadStatus:
    status = await driver.status(agent_id)
    assert status is not None
    return status


async def test_a_new_driver_readopts_live_replicas_and_restarts_dead_ones(
    tmp_path: Path, programs: dict[str, Path], drivers: list[LocalDriver]
) -> None:
    directory = tmp_path / "fleet"
    first = new_driver(directory, drivers, keep_replicas_on_shutdown=True)
    await first.start()
    spec = spec_of(programs["server"])
    await first.apply(spec, replicas=2, strategy=Strategy.rolling)
    ready = await eventually(
        lambda: status_of(first, spec.agent_id), lambda s: s.ready == 2, what="2 ready"
    )
    pids = sorted(r.pid for r in ready.replicas if r.pid)
    await first.close()  # keeps them running
    assert all(pid_alive(p) for p in pids)

    second = new_driver(directory, drivers)
    await second.start()
    adopted = await eventually(
        lambda: status_of(second, spec.agent_id), lambda s: s.ready == 2, what="adopted ready"
    )
    assert sorted(r.pid for r in adopted.replicas if r.pid) == pids
    assert all(r.adopted for r in adopted.replicas)
    assert [e.kind for e in await second.events(spec.agent_id)].count("replica_adopted") == 2

    # an adopted replica that dies (not our child: no exit code) is restarted all the same
    os.kill(pids[0], signal.SIGKILL)
    again = await eventually(
        lambda: status_of(second, spec.agent_id),
        lambda s: s.ready == 2 and pids[0] not in {r.pid for r in s.replicas},
        what="restarted",
    )
    restarted = next(r for r in again.replicas if r.pid not in pids)
    assert restarted.restarts == 1 and not restarted.adopted
    assert restarted.last_exit_reason is not None and "code unknown" in restarted.last_exit_reason
    await second.close()  # stops them
    await wait_gone([r.pid for r in again.replicas if r.pid])


def sleeper(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, **env},
        start_new_session=True,
    )


async def test_processes_it_started_but_no_longer_knows_are_ended(
    tmp_path: Path, programs: dict[str, Path], drivers: list[LocalDriver]
) -> None:
    directory = tmp_path / "fleet"
    first = new_driver(directory, drivers)
    await first.start()
    await first.close()
    fleet_id = (directory / "fleet-id").read_text()
    # as if agentdeck died between starting a replica and writing its state
    stray = sleeper({"AGENTDECK_FLEET_ID": fleet_id, "AGENTDECK_REPLICA": "lost-1"})
    unrelated = sleeper({"AGENTDECK_FLEET_ID": "someone-else"})
    try:
        second = new_driver(directory, drivers)
        await second.start()
        assert stray.wait(timeout=10) == -signal.SIGKILL
        assert unrelated.poll() is None
    finally:
        for proc in (stray, unrelated):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


async def test_a_second_driver_on_the_same_directory_stands_by(
    tmp_path: Path, programs: dict[str, Path], drivers: list[LocalDriver]
) -> None:
    active = new_driver(tmp_path / "fleet", drivers)
    await active.start()
    standby = new_driver(tmp_path / "fleet", drivers)
    await standby.start()
    assert active.capabilities().active and not standby.capabilities().active
    spec = spec_of(programs["server"])
    await standby.apply(spec, replicas=1, strategy=Strategy.rolling)
    assert await standby.status(spec.agent_id) is None


async def test_output_files_are_read_line_by_line_and_emptied_past_their_limit(
    tmp_path: Path,
) -> None:
    tailer = LogTailer(tmp_path, poll=1, buffer_lines=3, max_bytes=64)
    received: list[LogLine] = []
    tailer.add_sink(received.extend)
    ids = {"tenant_id": uuid.uuid4(), "agent_id": uuid.uuid4(), "agent": "talker"}
    output = tailer.track(replica="talker-1", **ids)  # type: ignore[arg-type]
    stdout, stderr = tailer.paths("talker-1")
    with stdout.open("ab") as out:
        out.write(b"one\ntwo\nthr")
    stderr.write_bytes(b"oops\r\n")
    tailer.read_all()
    assert [(line.stream, line.line) for line in received] == [
        ("stdout", "one"),
        ("stdout", "two"),
        ("stderr", "oops"),
    ]
    with stdout.open("ab") as out:
        out.write(b"ee\n" + b"x" * 80 + b"\n")
    tailer.read_all()
    assert [line.line for line in received[3:]] == ["three", "x" * 80]
    assert stdout.stat().st_size == 0  # emptied once read past 64 bytes
    with stdout.open("ab") as out:
        out.write(b"after\n")
    tailer.read_all()
    assert received[-1].line == "after"
    assert [line.line for line in output.lines] == ["three", "x" * 80, "after"]  # ring of 3
    assert list(output.stderr_tail) == ["oops"]
    assert received[0].labels == {
        "agent": "talker",
        "agent_id": str(ids["agent_id"]),
        "replica": "talker-1",
        "stream": "stdout",
    }


def test_quantities_and_the_rlimit_fallback(tmp_path: Path) -> None:
    assert cpu_cores("500m") == 0.5 and cpu_cores("2") == 2.0 and cpu_cores("0") is None
    assert memory_bytes("512Mi") == 512 * 2**20 and memory_bytes("1G") == 10**9
    assert memory_bytes("1.5Gi") == int(1.5 * 2**30) and memory_bytes("bad") is None
    limiter = Limiter(tmp_path)  # not a cgroup v2 directory
    assert limiter.support.mode == "rlimit"
    assert limiter.support.memory and not limiter.support.cpu
    assert "is not a cgroup v2 directory" in limiter.support.detail
    assert limiter.prepare("r", "1", None) is None  # nothing to limit without a memory limit
    assert callable(limiter.prepare("r", "1", "64Mi"))
