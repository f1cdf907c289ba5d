"""The load generator of the ingest benchmarks: pre-encoded bodies POSTed by concurrent clients.

It uses aiohttp's client (an HTTP parser in C) rather than httpx (in Python): on these
2-CPU machines the load generator shares the CPUs with the server under test, and httpx took
about 0.35 µs of CPU per sample of a 10,000-sample JSON body against aiohttp's 0.13, which
the server then did not have. agentdeck and the reference get the same generator.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence

import aiohttp


async def post_all(
    url: str,
    path: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    *,
    clients: int,
    budget: float = math.inf,
    check: Callable[[bytes], None] | None = None,
    then_get: str | None = None,
) -> tuple[int, float]:
    """POST ``bodies`` to ``url + path`` from ``clients`` keep-alive connections; returns
    (bodies sent, seconds).

    Every answer must be 2xx, and ``check(answer body)`` (when given) must not raise. Clients
    take no new body once ``budget`` seconds have passed (bounded in time). ``then_get``: a
    path fetched (2xx) after the last answer, inside the clock (a flush).
    """
    queue = iter(bodies)
    done = 0
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
        started = time.perf_counter()

        async def client() -> None:
            nonlocal done
            for body in queue:
                async with session.post(path, data=body, headers=headers) as response:
                    answer = await response.read()
                    if response.status >= 300:
                        raise RuntimeError(f"{path}: {response.status} {answer[:300]!r}")
                if check is not None:
                    check(answer)
                done += 1
                if time.perf_counter() - started > budget:
                    return

        await asyncio.gather(*(client() for _ in range(clients)))
        if then_get is not None:
            async with session.get(then_get) as response:
                if response.status >= 300:
                    raise RuntimeError(f"{then_get}: {response.status}")
        return done, time.perf_counter() - started


#: VictoriaMetrics's import path (the reference) and what makes its imports visible.
VM_IMPORT = "/api/v1/import"
VM_FLUSH = "/internal/force_flush"


def send(
    url: str,
    path: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    *,
    clients: int,
    check: Callable[[bytes], None],
    budget: float = math.inf,
) -> tuple[int, float]:
    """:func:`post_all` in an event loop of its own. Bodies for VictoriaMetrics's import
    (``VM_IMPORT``) are not checked and end with its flush inside the clock; the others'
    answers go through ``check``."""
    reference = path == VM_IMPORT
    return asyncio.run(
        post_all(
            url,
            path,
            bodies,
            headers,
            clients=clients,
            budget=budget,
            check=None if reference else check,
            then_get=VM_FLUSH if reference else None,
        )
    )
