"""Logs: ingest (OTLP, JSON batch, Loki push), search, histogram, context, live tail, retention."""
