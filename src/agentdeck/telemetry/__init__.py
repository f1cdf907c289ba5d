"""Telemetry ingest: JSON batches, per-agent reports, OTLP/HTTP, remote write, scraping."""
