"""The public shape of a log line (the query API, context, and the live tail's frames)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from agentdeck.logstore.base import LogRecord, Severity

NS = 1_000_000_000


#: The five severities on the wire (an inline enum: ``Severity`` names the alert severities).
LogSeverity = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LogLine(BaseModel):
    """One stored log line."""

    id: str = Field(description="Unique in the tenant; opaque (26 hex digits carrying the time).")
    ts: str = Field(description="When the line was written: RFC 3339, UTC, with nanoseconds.")
    service: str
    severity: LogSeverity
    agent: str = Field(description="The agent that wrote it; empty when unknown.")
    message: str
    labels: dict[str, str] = Field(
        description="Stream labels and per-line fields (OTel attributes, Loki structured "
        "metadata), as strings."
    )
    trace_id: str = Field(description="32 hex digits, or empty.")
    span_id: str = Field(description="16 hex digits, or empty.")
    truncated: bool = Field(description="The message was cut to logs.max_line_bytes.")
    template_id: int | None = Field(description="The log template (log intelligence), if known.")


_SECONDS: dict[int, str] = {}


def rfc3339_ns(ts_ns: int) -> str:
    """``2026-01-02T15:04:05.123456789Z``."""
    seconds, nanos = divmod(ts_ns, NS)
    whole = _SECONDS.get(seconds)
    if whole is None:
        whole = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        _SECONDS[seconds] = whole
    return f"{whole}.{nanos:09d}Z"


def line_dict(record: LogRecord) -> dict[str, Any]:
    """A record as :class:`LogLine` JSON (built directly: pages of thousands of lines)."""
    return {
        "id": record.id,
        "ts": rfc3339_ns(record.ts_ns),
        "service": record.service,
        "severity": record.severity,  # a StrEnum: the str itself (its .value is a slow descriptor)
        "agent": record.agent,
        "message": record.message,
        "labels": dict(record.labels),
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "truncated": record.truncated,
        "template_id": record.template_id,
    }


# --- the bus's compact form ------------------------------------------------------------------
# A ``logs`` bus event is ``{"lines": [row, ...]}`` with each line as a row (a list; cheaper to
# build and to encode than an object per line, since every ingested line is published):
# [id, ts_ns, service, severity, agent, message, labels, trace_id, span_id, truncated,
#  template_id]. The live tail turns matching rows into :class:`LogLine` objects.

Row = list[Any]


def line_row(record: LogRecord) -> Row:
    return [
        record.id,
        record.ts_ns,
        record.service,
        record.severity,
        record.agent,
        record.message,
        record.labels,
        record.trace_id,
        record.span_id,
        record.truncated,
        record.template_id,
    ]


def row_record(tenant_id: UUID, row: Row) -> LogRecord:
    """A row as a record (for matching a query against it)."""
    return LogRecord(
        id=row[0],
        tenant_id=tenant_id,
        ts_ns=row[1],
        service=row[2],
        severity=Severity(row[3]),
        message=row[5],
        agent=row[4],
        labels=row[6] or {},
        trace_id=row[7],
        span_id=row[8],
        truncated=row[9],
        template_id=row[10],
    )


def row_line(row: Row) -> dict[str, Any]:
    """A row as :class:`LogLine` JSON."""
    return {
        "id": row[0],
        "ts": rfc3339_ns(row[1]),
        "service": row[2],
        "severity": row[3],
        "agent": row[4],
        "message": row[5],
        "labels": row[6] or {},
        "trace_id": row[7],
        "span_id": row[8],
        "truncated": row[9],
        "template_id": row[10],
    }
