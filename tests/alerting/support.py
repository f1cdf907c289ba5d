"""Helpers of the alerting tests: rules arranged in the database, samples in the store."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import AlertRule, NoDataState, Severity
from agentdeck.tsdb.base import SampleBatch, Store

PROMETHEUS = "/usr/bin/prometheus"


def store_of(client: httpx.AsyncClient) -> Store:
    store: Store = client.app.state.deck.store  # type: ignore[attr-defined]
    return store


async def write(
    client: httpx.AsyncClient,
    tenant_id: uuid.UUID,
    name: str,
    labels: dict[str, str],
    points: list[tuple[datetime, float]],
) -> None:
    """Write one series' samples straight into the app's metrics store."""
    ts = np.array([round(t.timestamp() * 1000) for t, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    store = store_of(client)
    await store.write(tenant_id, SampleBatch.from_series([(name, labels, ts, values)]))
    await store.flush()


async def make_rule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str = "HighCPU",
    expr: str = "cpu > 0.9",
    for_seconds: float = 0,
    keep_firing_for_seconds: float = 0,
    severity: Severity = Severity.critical,
    no_data_state: NoDataState = NoDataState.ok,
    interval_seconds: float = 60,
    **fields: Any,
) -> AlertRule:
    rule = AlertRule(
        tenant_id=tenant_id,
        name=name,
        expr=expr,
        for_seconds=for_seconds,
        keep_firing_for_seconds=keep_firing_for_seconds,
        severity=severity,
        no_data_state=no_data_state,
        interval_seconds=interval_seconds,
        **fields,
    )
    session.add(rule)
    await session.commit()
    return rule


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextlib.asynccontextmanager
async def prometheus_server(config: str, workdir: Path, *args: str) -> AsyncIterator[None]:
    """Debian's Prometheus with ``config`` (and extra flags), stopped on exit."""
    (workdir / "prometheus.yml").write_text(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (workdir / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *args,
        stdout=log,
        stderr=log,
    )
    try:
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()
