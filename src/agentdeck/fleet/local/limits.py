"""CPU and memory limits of local replicas: a cgroup v2 per replica where one is delegated to
agentdeck, else rlimits.

cgroup v2 (``fleet.cgroup_root``): a directory agentdeck may write, holding no processes, with
the ``cpu`` and ``memory`` controllers available. Each replica gets ``<root>/<replica>`` with
``cpu.max`` (its CPU limit as a quota per 100 ms period) and ``memory.max``; the child moves
itself in before it runs the command. The directory is removed when the replica has stopped.
agentdeck never moves itself or creates cgroups anywhere else (this process's own cgroup holds
this process, so the kernel's no-internal-processes rule keeps it from hosting limited
children); with systemd, ``Delegate=yes`` on the unit and a sub-directory of its cgroup is the
usual way to get one.

Fallback (no cgroup v2 root): the memory limit becomes ``RLIMIT_DATA`` (heap and private
writable mappings; a process over it gets ``ENOMEM``, so Python raises ``MemoryError``). CPU
time cannot be limited as a rate by rlimits: it is not enforced, and ``capabilities()`` says so.
"""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

CPU_PERIOD_US = 100_000
_MEMORY_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}


def cpu_cores(quantity: str | None) -> float | None:
    """``"500m"`` → 0.5, ``"2"`` → 2.0; None for no limit or an unreadable one."""
    if not quantity:
        return None
    try:
        value = Decimal(quantity[:-1]) / 1000 if quantity.endswith("m") else Decimal(quantity)
    except InvalidOperation:
        return None
    return float(value) if value > 0 else None


def memory_bytes(quantity: str | None) -> int | None:
    """``"512Mi"`` → 536870912, ``"1G"`` → 10**9; None for no limit or an unreadable one."""
    if not quantity:
        return None
    for suffix in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if quantity.endswith(suffix):
            number, factor = quantity[: -len(suffix)], _MEMORY_UNITS[suffix]
            break
    else:
        number, factor = quantity, 1
    try:
        value = int(Decimal(number) * factor)
    except InvalidOperation:
        return None
    return value if value > 0 else None


@dataclass(frozen=True, slots=True)
class LimitSupport:
    mode: str  # "cgroup-v2" or "rlimit"
    cpu: bool
    memory: bool
    detail: str


def _cgroup_reason(root: Path) -> str | None:
    """Why ``root`` cannot host replica cgroups; None when it can (controllers enabled)."""
    controllers = root / "cgroup.controllers"
    if not controllers.is_file():
        return f"{root} is not a cgroup v2 directory"
    available = set(controllers.read_text().split())
    missing = {"cpu", "memory"} - available
    if missing:
        return f"{root} lacks the {' and '.join(sorted(missing))} controller"
    if (root / "cgroup.procs").read_text().strip():
        return f"{root} holds processes; give agentdeck an empty, delegated cgroup"
    try:
        (root / "cgroup.subtree_control").write_text("+cpu +memory")
    except OSError as exc:
        return f"cannot enable the cpu and memory controllers under {root}: {exc.strerror}"
    return None


class Limiter:
    """Prepares each replica's limits and says how they are enforced."""

    def __init__(self, cgroup_root: Path | None) -> None:
        self.cgroup_root: Path | None = None
        reason = "no cgroup v2 root delegated to agentdeck (fleet.cgroup_root)"
        if cgroup_root is not None:
            try:
                reason = _cgroup_reason(cgroup_root) or ""
            except OSError as exc:
                reason = f"cannot use {cgroup_root}: {exc.strerror}"
            if not reason:
                self.cgroup_root = cgroup_root
        if self.cgroup_root is not None:
            self.support = LimitSupport(
                "cgroup-v2",
                cpu=True,
                memory=True,
                detail=f"cgroup v2 under {self.cgroup_root} (cpu.max, memory.max)",
            )
        else:
            self.support = LimitSupport(
                "rlimit",
                cpu=False,
                memory=True,
                detail=f"rlimits: memory as RLIMIT_DATA, CPU not enforced ({reason})",
            )

    def prepare(
        self, replica: str, cpu_limit: str | None, memory_limit: str | None
    ) -> Callable[[], None] | None:
        """What the child runs before the command (None: nothing to do)."""
        cores = cpu_cores(cpu_limit)
        memory = memory_bytes(memory_limit)
        if self.cgroup_root is not None:
            group = self.cgroup_root / replica
            group.mkdir(exist_ok=True)
            if cores is not None:
                quota = max(1000, int(cores * CPU_PERIOD_US))
                (group / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
            if memory is not None:
                (group / "memory.max").write_text(str(memory))
            procs = str(group / "cgroup.procs")

            def join_cgroup() -> None:
                fd = os.open(procs, os.O_WRONLY)
                try:
                    os.write(fd, b"0")
                finally:
                    os.close(fd)

            return join_cgroup
        if memory is None:
            return None

        def limit_memory() -> None:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))

        return limit_memory

    def release(self, replica: str) -> None:
        if self.cgroup_root is not None:
            with contextlib.suppress(OSError):
                (self.cgroup_root / replica).rmdir()
