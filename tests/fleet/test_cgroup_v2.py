"""The cgroup v2 path of the local driver on a real cgroup2 hierarchy, mounted by the test.

Where the kernel offers cgroup2 and the tests run as root, the hierarchy is mounted on a
temporary directory (``mount -t cgroup2``) and a child cgroup made in it stands for the one
delegated to agentdeck. On the machines these tests were written on (and CI's, the same
kind) the ``cpu`` and ``memory`` controllers are bound to the cgroup v1 hierarchies, so the v2
hierarchy cannot offer them: the driver must say so and fall back to rlimits. Where the
controllers are free, the second test runs a real replica in its own cgroup with ``cpu.max``
and ``memory.max``. The test skips only on a developer's machine that lacks cgroup2 itself (not
root, no cgroup2 in the kernel, no mount); under ``CI=true`` each of those is a failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from agentdeck.fleet.local.limits import Limiter
from tests.conftest import Caller
from tests.fleet.conftest import FAST_FLEET, AppFactory
from tests.fleet.helpers import act, create_agent, replicas, wait_status


def _kernel_has_cgroup2() -> bool:
    try:
        return any(
            line.split()[-1] == "cgroup2"
            for line in Path("/proc/filesystems").read_text().splitlines()
        )
    except OSError:
        return False


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine that lacks cgroup2; under CI (root, cgroup2 kernels) fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must be able to mount cgroup2: {reason}")
    pytest.skip(reason)


@pytest.fixture
def cgroup2(tmp_path: Path) -> Iterator[Path]:
    """A fresh child cgroup of the real cgroup2 hierarchy (removed afterwards)."""
    if os.geteuid() != 0:
        _unavailable("mounting cgroup2 needs root")
    if not _kernel_has_cgroup2():
        _unavailable("the kernel has no cgroup2")
    mount = tmp_path / "cgroup2"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "cgroup2", "none", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        _unavailable(f"root, cgroup2 in the kernel, and the mount failed: {done.stderr.strip()}")
    group = mount / f"agentdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
        yield group
    finally:
        for child in sorted(group.glob("*/"), reverse=True):
            with contextlib.suppress(OSError):
                child.rmdir()
        with contextlib.suppress(OSError):
            group.rmdir()
        subprocess.run(["umount", str(mount)], check=True)


def _controllers(group: Path) -> set[str]:
    return set((group / "cgroup.controllers").read_text().split())


async def test_replicas_get_cgroup2_limits_where_offered_else_rlimits_and_the_reason(
    cgroup2: Path, app_factory: AppFactory, dev: Caller, programs: dict[str, Path]
) -> None:
    """One test for both platforms, so it never skips on either: where the hierarchy offers
    cpu and memory each replica runs in its own cgroup with its limits; where v1 holds them
    (this project's machines) the driver falls back to rlimits and says why."""
    parent = cgroup2.parent  # the hierarchy's root
    missing = {"cpu", "memory"} - _controllers(parent)
    if missing:
        await _falls_back_to_rlimits(cgroup2, missing, app_factory, dev)
    else:
        await _runs_each_replica_in_its_own_cgroup(cgroup2, app_factory, dev, programs)


async def _falls_back_to_rlimits(
    cgroup2: Path, missing: set[str], app_factory: AppFactory, dev: Caller
) -> None:
    limiter = Limiter(cgroup2)
    assert limiter.support.mode == "rlimit"
    assert limiter.support.memory and not limiter.support.cpu
    assert f"lacks the {' and '.join(sorted(missing))} controller" in limiter.support.detail

    client: httpx.AsyncClient = await app_factory(fleet={**FAST_FLEET, "cgroup_root": str(cgroup2)})
    info = (await client.get("/api/v1/fleet/driver", headers=dev.headers)).json()
    assert info["limits"] == "rlimit" and info["cpu_limit"] is False
    assert str(cgroup2) in info["detail"] and "controller" in info["detail"]


async def _runs_each_replica_in_its_own_cgroup(
    cgroup2: Path, app_factory: AppFactory, dev: Caller, programs: dict[str, Path]
) -> None:
    (cgroup2.parent / "cgroup.subtree_control").write_text("+cpu +memory")
    client: httpx.AsyncClient = await app_factory(fleet={**FAST_FLEET, "cgroup_root": str(cgroup2)})
    info = (await client.get("/api/v1/fleet/driver", headers=dev.headers)).json()
    assert info["limits"] == "cgroup-v2" and info["cpu_limit"] is True
    created = await create_agent(
        client, dev, programs["server"], cpu_limit="250m", memory_limit="64Mi"
    )
    await act(client, dev, created["id"], "start")
    await wait_status(client, dev, created["id"], "running", ready=1)
    (replica,) = await replicas(client, dev, created["id"])
    group = cgroup2 / replica["name"]
    assert (group / "cpu.max").read_text().split() == ["25000", "100000"]  # a quarter core
    assert (group / "memory.max").read_text().strip() == str(64 * 2**20)
    assert str(replica["pid"]) in (group / "cgroup.procs").read_text().split()
    await act(client, dev, created["id"], "stop")
    await wait_status(client, dev, created["id"], "stopped")
