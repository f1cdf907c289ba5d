"""JSON batch bodies decoded in worker processes answer exactly as decoded in the server.

Each test runs real ``python -m agentdeck.ingest.decoders.worker`` processes. What a worker
returns must equal what :func:`~agentdeck.ingest.decoders.json_fast.decode` gives in this
process, body by body; a worker that dies (SIGKILL) or is shut down loses no body (its
bodies are decoded here instead) and is replaced; small bodies never leave the server.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from agentdeck.identity.roles import Role
from agentdeck.ingest.decoders.json_fast import Decoded, LabelMemo, decode
from agentdeck.ingest.decoders.pool import MIN_BYTES, DecodePool
from agentdeck.ingest.decoders.worker import ANSWER, REQUEST
from tests.conftest import Factory
from tests.ingest.ingest_support import now_ms, stored

NOW = now_ms()
T = NOW - 120_000


def _body(n: int, *, seed: int = 0, **extra: Any) -> bytes:
    """A well-formed body of ``n`` samples over a few names and label sets."""
    samples = [
        {
            "name": f"m_{(i * 7 + seed) % 5}",
            "value": float(i % 97) + 0.25,
            "timestamp": T + i,
            "labels": {"agent": f"a{i % 13}", "zone": f"z{(i + seed) % 3}"},
        }
        for i in range(n)
    ]
    for index, changes in extra.items():
        samples[int(index.removeprefix("at"))].update(changes)
    body = orjson.dumps({"samples": samples})
    assert len(body) >= MIN_BYTES  # large enough to go to a worker
    return body


BODIES = {
    "plain": _body(2_000),
    # no timestamps on some, metadata on some (one invalid), labels that are no object, none
    "mixed": _body(
        2_000,
        seed=3,
        at5={"type": "counter", "help": "done"},
        at9={"type": "bogus"},
        at11={"labels": [1, 2]},
        at12={"labels": None},
    ),
    "no_timestamps": orjson.dumps(
        {"samples": [{"name": "m", "value": float(i)} for i in range(4_000)]}
    ),
    # the general parser must read these: None
    "string_value": _body(2_000, at7={"value": "NaN"}),
    "compact_form": orjson.dumps(orjson.loads(_body(2_000)) | {"values": {"x": 1}}),
}


def _same(got: Decoded | None, expected: Decoded | None) -> None:
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert got.names == expected.names
    assert got.tokens == expected.tokens
    for column in ("name_ids", "token_ids", "timestamps", "values"):
        np.testing.assert_array_equal(getattr(got, column), getattr(expected, column))
    if expected.indexes is None:
        assert got.indexes is None
    else:
        np.testing.assert_array_equal(got.indexes, expected.indexes)
    assert (got.metadata, got.errors, got.total) == (
        expected.metadata,
        expected.errors,
        expected.total,
    )


def _here(body: bytes) -> Decoded | None:
    return decode(body, max_samples=10_000, now_ms=NOW, memo=LabelMemo())


@pytest.fixture
async def pool() -> AsyncIterator[DecodePool]:
    pool = DecodePool(1, restart_seconds=0)
    await pool.start()
    assert len(pool.pids) == 1
    yield pool
    await pool.close()


async def test_workers_decode_every_body_as_the_server_does(pool: DecodePool) -> None:
    for name, body in BODIES.items():
        got = await pool.decode(body, max_samples=10_000, now_ms=NOW)
        _same(got, _here(body))
        assert name not in ("string_value", "compact_form") or got is None
    assert pool.stats.in_workers == len(BODIES)
    assert pool.stats.in_server == 0


async def test_concurrent_bodies_come_back_to_their_callers(pool: DecodePool) -> None:
    bodies = [_body(1_500, seed=seed) for seed in range(12)]
    results = await asyncio.gather(
        *(pool.decode(body, max_samples=10_000, now_ms=NOW) for body in bodies)
    )
    for body, got in zip(bodies, results, strict=True):
        _same(got, _here(body))
    assert pool.stats.in_workers + pool.stats.in_server == len(bodies)
    assert pool.stats.in_workers >= 4  # a worker takes several at once before the server helps


async def test_bodies_of_a_killed_worker_are_decoded_here_and_it_is_replaced(
    pool: DecodePool,
) -> None:
    bodies = [_body(3_000, seed=seed) for seed in range(4)]
    (pid,) = pool.pids
    calls = [
        asyncio.ensure_future(pool.decode(body, max_samples=10_000, now_ms=NOW)) for body in bodies
    ]
    await asyncio.sleep(0)  # let the calls start (whether they reached the worker or not)
    os.kill(pid, signal.SIGKILL)
    for body, got in zip(bodies, await asyncio.gather(*calls), strict=True):
        _same(got, _here(body))  # every body answered, whether the worker got to it or not
    await pool.start()
    assert len(pool.pids) == 1 and pool.pids != [pid]
    assert pool.stats.worker_starts == 2
    _same(await pool.decode(bodies[0], max_samples=10_000, now_ms=NOW), _here(bodies[0]))


async def test_small_bodies_stay_in_the_server_and_close_stops_the_workers() -> None:
    pool = DecodePool(2, restart_seconds=0)
    await pool.start()
    pids = pool.pids
    assert len(pids) == 2
    small = orjson.dumps({"samples": [{"name": "m", "value": 1.0, "timestamp": T}]})
    _same(await pool.decode(small, max_samples=10_000, now_ms=NOW), _here(small))
    assert pool.stats.in_workers == pool.stats.in_server == 0  # only large bodies are counted
    await pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # exited and reaped
    body = BODIES["plain"]
    _same(await pool.decode(body, max_samples=10_000, now_ms=NOW), _here(body))
    assert pool.stats.in_server == 1


async def test_no_workers_configured_decodes_in_the_server() -> None:
    pool = DecodePool(0)
    await pool.start()
    assert pool.pids == []
    body = BODIES["mixed"]
    _same(await pool.decode(body, max_samples=10_000, now_ms=NOW), _here(body))
    assert pool.stats.in_server == 1
    await pool.close()


def test_a_worker_exits_when_its_input_closes() -> None:
    """The server died (its pipes closed): the worker answers what it read and exits."""
    body = BODIES["plain"]
    process = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.ingest.decoders.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(REQUEST.pack(10_000, NOW, len(body)) + body)
    process.stdin.close()
    (length,) = ANSWER.unpack(process.stdout.read(ANSWER.size))
    _same(pickle.loads(process.stdout.read(length)), _here(body))
    assert process.wait(timeout=30) == 0
    assert process.stdout.read() == b""  # nothing else was written
    process.stdout.close()


async def test_the_api_decodes_large_batches_in_a_worker(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    decoders = client.app.state.deck.decoders  # type: ignore[attr-defined]
    await decoders.start()
    samples = [
        {"name": "jobs", "value": float(i), "timestamp": T + i, "labels": {"agent": f"w{i % 4}"}}
        for i in range(3_000)
    ]
    samples[10]["labels"] = {"__bad": "x"}
    response = await client.post(
        "/api/v1/metrics/batch", content=orjson.dumps({"samples": samples}), headers=key.headers
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (2_999, 1)
    assert answer["errors"][0]["index"] == 10
    assert answer["errors"][0]["field"] == "labels.__bad"
    series = await stored(client, key.tenant_id)
    assert sum(len(points) for _, _, points in series) == 2_999
    assert decoders.stats.in_workers == 1
    exposition = (await client.get("/metrics")).text
    assert 'agentdeck_json_decodes_total{where="worker"} 1.0' in exposition


async def test_a_stuck_worker_is_killed_and_its_body_decoded_here() -> None:
    pool = DecodePool(1, restart_seconds=0, answer_timeout=0.5)
    await pool.start()
    (pid,) = pool.pids
    os.kill(pid, signal.SIGSTOP)  # alive but never answers
    body = BODIES["mixed"]
    _same(await pool.decode(body, max_samples=10_000, now_ms=NOW), _here(body))
    assert (pool.stats.worker_failures, pool.stats.in_server) == (1, 1)
    await pool.start()
    assert len(pool.pids) == 1 and pool.pids != [pid]  # the stuck one was killed and replaced
    assert _dead(pid)
    await pool.close()


def _dead(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting to be)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
