"""Volume faults of the embedded stores: which errors count, and when a fault is over (on a
real directory; the full volume itself is the drill tests/drills/test_duckdb_full.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from agentdeck.server.volume import VolumeFaults, VolumeStillFailing, volume_errno
from agentdeck.tsdb.base import StoreError


def _wrapped(cause: BaseException) -> StoreError:
    try:
        raise StoreError(f"metrics write failed: {cause}") from cause
    except StoreError as exc:
        return exc


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), errno.ENOSPC),
        # DuckDB quotes the OS's message in its own error type
        (RuntimeError('Could not write file "x.wal": No space left on device'), errno.ENOSPC),
        (OSError(errno.EROFS, os.strerror(errno.EROFS)), errno.EROFS),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), None),
        (RuntimeError("Catalog Error: table missing"), None),
    ],
)
def test_volume_faults_are_found_in_the_causes(cause: BaseException, expected: int | None) -> None:
    assert volume_errno(_wrapped(cause)) == expected


async def test_a_fault_lasts_until_the_volume_takes_writes(tmp_path: Path) -> None:
    faults = VolumeFaults()
    full = _wrapped(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    fault = faults.record("metrics_store", full, tmp_path)
    assert fault is not None and fault.reason == "no space left on the volume"
    # a full volume must gain room before the fault is over; this one did not
    with pytest.raises(VolumeStillFailing, match="no space left on the volume"):
        await faults.verify("metrics_store")
    assert faults.get("metrics_store") is fault
    assert faults.record("log_store", _wrapped(RuntimeError("syntax error")), tmp_path) is None

    # a read-only fault is over once a probe file can be written and synced there
    read_only = _wrapped(OSError(errno.EROFS, os.strerror(errno.EROFS)))
    assert faults.record("log_store", read_only, tmp_path) is not None
    await faults.verify("log_store")
    assert faults.get("log_store") is None
    assert os.listdir(tmp_path) == []  # noqa: ASYNC240  # the probe file is gone
