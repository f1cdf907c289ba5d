"""Opens the configured metrics store."""

from __future__ import annotations

from agentdeck.settings import MetricsStoreBackend, Settings
from agentdeck.tsdb.base import Store


async def open_store(settings: Settings) -> Store:
    config = settings.tsdb
    if config.backend is MetricsStoreBackend.victoriametrics:
        from agentdeck.tsdb.victoriametrics import VictoriaMetricsStore

        return await VictoriaMetricsStore.open(
            config.victoriametrics_url,
            coalesce=config.victoriametrics_write_coalescing,
            write_linger=config.victoriametrics_write_linger_ms / 1000,
            max_request_samples=config.victoriametrics_max_request_samples,
            max_queued_samples=config.victoriametrics_max_queued_samples,
        )
    from agentdeck.tsdb.duckdb import DuckDBStore

    return await DuckDBStore.open(
        settings.data_dir / config.duckdb_file,
        memory_limit=config.duckdb_memory_limit,
        commit_linger=config.duckdb_commit_linger_ms / 1000,
    )
