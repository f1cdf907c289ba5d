"""Drill: the volume of the embedded stores (the data directory: DuckDB metrics and logs) fills
up under ingest, then gets room again.

A small tmpfs (mounted by the test; it needs root, as CI has) is the data directory. What a
user relies on: once a write cannot be kept, ingest answers 503 problem+json with Retry-After
and acknowledges nothing it did not store; /readyz fails (``metrics_store``) while the volume
is full; every sample acknowledged before is still there; when the volume has room again, the
same process is ready and takes writes again without a restart. A write of a background loop
(downsampling) that the full volume refuses fails /readyz the same way."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.drills.support import assert_unavailable, readyz_until

pytestmark = pytest.mark.timeout(240)
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
SMALL, ROOMY = "12m", "512m"
BATCH = 5_000
MAX_BATCHES = 400  # 2 M samples: far more than 12 MB holds


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("the volume-full drill mounts a tmpfs: run it as root", pytrace=False)
    mount = tmp_path / "volume"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(mount)], check=True, timeout=30
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=30)


def _resize(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True, timeout=30)


def _batch(start_ms: int, rng: random.Random) -> dict[str, Any]:
    return {
        "samples": [
            {
                "name": "drill_fill",
                "value": rng.random(),  # noise: nothing for the store to compress away
                "timestamp": start_ms + i,
                "labels": {"agent": "filler", "shard": str(i % 8)},
            }
            for i in range(BATCH)
        ]
    }


async def _count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    answer = await client.post(
        "/api/v1/query",
        data={"query": "sum(count_over_time(drill_fill[1d]))", "time": f"{time.time():.3f}"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


async def test_a_full_volume_refuses_writes_keeps_what_it_acknowledged_and_recovers(
    small_volume: Path, app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(data_dir=small_volume)
    caller = await factory.api_key(Role.developer)
    rng = random.Random(7)
    start_ms = int(time.time() * 1000) - 20 * 3_600_000  # within the day the count reads
    acked = 0
    refused: httpx.Response | None = None
    for n in range(MAX_BATCHES):
        answer = await client.post(
            "/api/v1/metrics/batch", json=_batch(start_ms + n * BATCH, rng), headers=caller.headers
        )
        if answer.status_code != 200:
            refused = answer
            break
        assert answer.json()["accepted"] == BATCH, answer.text
        acked += BATCH
    assert refused is not None, f"{SMALL} took {MAX_BATCHES * BATCH} samples"
    # the detail says why, and names no file of the server's
    assert_unavailable(refused, "store-unavailable", str(small_volume))
    assert "no space left on the volume" in refused.json()["detail"], refused.text
    assert acked > 0
    # what it said yes to is kept; what it refused is not
    assert await _count(client, caller.headers) == acked
    # readiness: the replica cannot keep writes, so it leaves the balancer's rotation
    readyz = await readyz_until(client, 503)
    assert readyz.json()["failed"] == ["metrics_store"], readyz.text
    assert "no space left on the volume" in readyz.text, readyz.text
    assert str(small_volume) not in readyz.text, readyz.text
    # ... and says so on every probe while the volume stays full, with no write to retry
    await asyncio.sleep(1.5)  # past the readiness cache: the next probe checks the volume again
    assert (await client.get("/readyz")).status_code == 503

    await asyncio.to_thread(_resize, small_volume, ROOMY)
    # ready again without a write: the check looks at the volume itself
    await readyz_until(client, 200)
    answer = await client.post(
        "/api/v1/metrics/batch",
        json=_batch(start_ms + MAX_BATCHES * BATCH, rng),
        headers=caller.headers,
    )
    assert answer.status_code == 200, answer.text
    assert await _count(client, caller.headers) == acked + BATCH
    print(  # noqa: T201  # the measured figures for docs/operations.md (pytest -s)
        f"volume full: acked {acked}, refused {refused.json()['detail']!r}, "
        f"readyz while full {readyz.status_code} {readyz.text}"
    )


def _fill(mount: Path) -> None:
    """Write a filler file until the volume refuses (ENOSPC): not a page is left."""
    chunk = bytes(256 * 1024)
    with (mount / "filler").open("wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)  # a short write when the volume fills; then ENOSPC
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return


def _spread_batch(start_ms: int, rng: random.Random) -> dict[str, Any]:
    """500 series × 10 minutes: thousands of rollup rows, more than a partial page holds."""
    return {
        "samples": [
            {
                "name": "drill_rollup",
                "value": rng.random(),
                "timestamp": start_ms + (i // 500) * 60_000,
                "labels": {"agent": "filler", "shard": str(i % 500)},
            }
            for i in range(BATCH)
        ]
    }


async def test_a_background_write_refused_by_the_volume_fails_readiness(
    small_volume: Path, app_factory: AppFactory, factory: Factory
) -> None:
    # downsampling (the retention loop) rolls up everything written; it runs when woken
    client = await app_factory(data_dir=small_volume, loops={"rollup_lag_seconds": 0})
    caller = await factory.api_key(Role.developer)
    rng = random.Random(11)
    two_hours_ago = int(time.time() * 1000) - 2 * 3_600_000
    answer = await client.post(
        "/api/v1/metrics/batch", json=_spread_batch(two_hours_ago, rng), headers=caller.headers
    )
    assert answer.status_code == 200, answer.text
    await asyncio.to_thread(_fill, small_volume)
    assert (await client.get("/readyz")).status_code == 200  # no write has failed yet

    client.app.state.deck.loops.wake("retention")  # type: ignore[attr-defined]
    # the rollup's write is refused: the replica leaves rotation as for a request's write
    readyz = await readyz_until(client, 503)
    assert readyz.json()["failed"] == ["metrics_store"], readyz.text
    assert "no space left on the volume" in readyz.text, readyz.text
    assert str(small_volume) not in readyz.text, readyz.text

    (small_volume / "filler").unlink()
    await asyncio.to_thread(_resize, small_volume, ROOMY)
    await readyz_until(client, 200)
