"""Metric ingest: wire formats decoded into one batch shape, validated and written.

* :mod:`.decoders` — the JSON batch (with its worker processes), the per-agent report, OTLP
  and Prometheus remote write, each turned into samples for the core;
* :mod:`.core` — validation, the series cap, the durable write, listeners, metadata;
* :mod:`.router`, :mod:`.otlp_router` — the HTTP receivers; :mod:`.service` — agent liveness.
"""
