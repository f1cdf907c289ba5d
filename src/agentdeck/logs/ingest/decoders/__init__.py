"""Wire formats → raw entries: the JSON batch, OTLP/HTTP logs, Loki push (JSON and protobuf)."""
