"""Ingest bodies and answers (the JSON batch; OTLP and Loki bodies are their own formats)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LogEntryIn(BaseModel):
    """One entry of ``POST /api/v1/logs/batch`` (documentation of the body: the route reads
    the JSON itself, so one bad entry does not sink the batch)."""

    timestamp: str | int | float | None = Field(
        None,
        description="RFC 3339 (`2026-01-02T15:04:05.123Z`) or Unix time in s, ms, µs or ns "
        "(told apart by magnitude); missing means now.",
    )
    severity: str | int = Field(
        description="DEBUG, INFO, WARNING, ERROR or CRITICAL, any case; aliases (warn, err, "
        "fatal, crit, trace, notice, emerg, alert) and OpenTelemetry numbers 1-24 are read too."
    )
    service: str = Field(max_length=200)
    message: str = Field(description="The line; cut to logs.max_line_bytes (truncated: true).")
    labels: dict[str, str] | None = Field(
        None, description="Stream labels; names [A-Za-z_][A-Za-z0-9_]*, at most logs.max_labels."
    )
    trace_id: str | None = Field(None, description="32 hex digits.")
    span_id: str | None = Field(None, description="16 hex digits.")
    agent: str | None = Field(None, max_length=200, description="The agent that wrote it.")


class LogBatch(BaseModel):
    entries: list[LogEntryIn]


class EntryErrorPublic(BaseModel):
    index: int = Field(description="Position of the refused entry in the request.")
    field: str = Field(description="The field at fault (timestamp, severity, labels, ...).")
    message: str


class LogIngestResponse(BaseModel):
    accepted: int = Field(description="Lines stored (durable when this answer is sent).")
    rejected: int = Field(description="Lines refused; each is listed in errors.")
    truncated: int = Field(0, description="Stored lines that were cut to logs.max_line_bytes.")
    errors: list[EntryErrorPublic] = Field(
        description="The refused entries in order (at most 1,000; rejected counts them all)."
    )
