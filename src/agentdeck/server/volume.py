"""Volume faults of the embedded stores: a write that the data volume refused (full, over its
quota, read-only, I/O errors) fails the store's readiness until the volume takes writes again.

A replica whose store cannot keep a write answers every write with 503; ``/readyz`` says so too
(``failed: ["metrics_store"]``), so that a balancer or Kubernetes sends the traffic to replicas
that can keep it and an operator sees why. Reads still work on the replica itself; liveness is
unaffected (a restart frees no space). Readiness does not wait for a write to succeed (a
replica out of rotation gets none): while a fault is remembered, each readiness run looks at
the volume itself: a full volume must have ``RECOVERY_HEADROOM_BYTES`` more free than when the
write failed, and a probe file written and synced in the store's directory must succeed.
"""

from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

#: The volume faults, by errno, with the reason shown to clients and on ``/readyz``.
REASONS = {
    errno.ENOSPC: "no space left on the volume",
    errno.EDQUOT: "the volume's quota is used up",
    errno.EROFS: "the volume is read-only",
    errno.EIO: "the volume reports I/O errors",
}
#: The OS's own text of each, as drivers (DuckDB) quote it in their messages.
_BY_TEXT = {os.strerror(code): code for code in REASONS}
#: Free space a full volume must gain over what it had when the write failed.
RECOVERY_HEADROOM_BYTES = 16 * 1024 * 1024
PROBE_BYTES = 64 * 1024
PROBE_NAME = ".agentdeck-write-probe"


class VolumeStillFailing(Exception):
    """The volume of a remembered fault does not take writes yet; the message is public."""


def volume_errno(exc: BaseException) -> int | None:
    """The errno of a volume fault in ``exc`` or its causes: an ``OSError``, or a driver error
    quoting the OS's message."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in REASONS:
            return current.errno
        text = str(current)
        for message, code in _BY_TEXT.items():
            if message in text:
                return code
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True, slots=True)
class Fault:
    directory: Path
    code: int
    since: datetime
    free_bytes: int

    @property
    def reason(self) -> str:
        return REASONS[self.code]


class VolumeFaults:
    """The last volume fault of each store (``metrics_store``, ``log_store``), until cleared."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}

    def get(self, component: str) -> Fault | None:
        return self._faults.get(component)

    def record(self, component: str, exc: BaseException, directory: Path) -> Fault | None:
        """Remember ``exc`` when it is a volume fault of the store in ``directory``."""
        code = volume_errno(exc)
        if code is None:
            return None
        known = self._faults.get(component)
        if known is not None and known.code == code and known.directory == directory:
            return known
        fault = Fault(directory, code, datetime.now(UTC), _free_bytes(directory))
        self._faults[component] = fault
        log.warning(
            "store_volume_fault",
            component=component,
            reason=fault.reason,
            directory=str(directory),
            free_bytes=fault.free_bytes,
        )
        return fault

    async def verify(self, component: str) -> None:
        """Raise :class:`VolumeStillFailing` while the remembered fault of ``component``
        lasts; forget the fault once its volume takes writes again."""
        fault = self._faults.get(component)
        if fault is None:
            return
        if await asyncio.to_thread(_still_failing, fault):
            raise VolumeStillFailing(
                f"writes refused since {fault.since:%Y-%m-%dT%H:%M:%SZ}: {fault.reason}"
            )
        if self._faults.get(component) is fault:
            del self._faults[component]
            log.info("store_volume_writable_again", component=component)


def _free_bytes(directory: Path) -> int:
    try:
        stats = os.statvfs(directory)
    except OSError:
        return 0
    return stats.f_bavail * stats.f_frsize


def _still_failing(fault: Fault) -> bool:
    if (
        fault.code == errno.ENOSPC
        and _free_bytes(fault.directory) < fault.free_bytes + RECOVERY_HEADROOM_BYTES
    ):
        return True
    probe = fault.directory / PROBE_NAME
    try:
        with probe.open("wb") as out:
            out.write(bytes(PROBE_BYTES))
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        return True
    finally:
        probe.unlink(missing_ok=True)
    return False
