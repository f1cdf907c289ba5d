"""/metrics counts log lines ingested (by path), bytes, rejections (by reason), write latency."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.logs.conftest import Deck, entry


async def test_log_ingest_metrics(deck: Deck) -> None:
    await deck.batch([entry("a"), entry("b"), entry("c", severity="nope")])
    await deck.api.post(
        "/loki/api/v1/push",
        json={"streams": [{"stream": {"app": "x"}, "values": [["1", "ancient"]]}]},
        headers=deck.ingest.headers,
    )
    text = (await deck.api.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("agentdeck_log_lines_ingested_total", (("path", "batch"),))] == 2
    assert samples[("agentdeck_log_lines_rejected_total", (("reason", "invalid_severity"),))] == 1
    assert samples[("agentdeck_log_lines_rejected_total", (("reason", "too_old"),))] == 1
    assert samples[("agentdeck_log_ingest_bytes_total", (("path", "batch"),))] > 100
    assert samples[("agentdeck_log_store_write_duration_seconds_count", ())] == 1
