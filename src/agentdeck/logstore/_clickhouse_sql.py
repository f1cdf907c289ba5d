"""The ClickHouse log store's SQL: the table, queries compiled from a parsed LogQL query with
driver-escaped parameters, and the insert's columns (see :mod:`agentdeck.logstore.clickhouse`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from agentdeck.logstore import _common, logql
from agentdeck.logstore.base import LogQuery, LogRecord, Matcher

SIMPLE_COLUMNS = {"service", "agent", "trace_id", "span_id"}
FLAG_NAMES = ("agent", "trace_id", "span_id", "template")
COLUMNS = (
    "ts_ns, id, service, severity, agent, trace_id, span_id, message, labels.key, "
    "labels.value, truncated, template_id, observed_ns"
)
INSERT_COLUMNS = (
    "tenant_id, ts_ns, id, service, severity, agent, trace_id, span_id, message, "
    "labels.key, labels.value, truncated, template_id, observed_ns"
)


def table_ddl(table: str) -> str:
    return f"""
        CREATE TABLE IF NOT EXISTS {table} (
            tenant_id UUID,
            ts_ns Int64,
            id String,
            service String,
            severity UInt8,
            agent String,
            trace_id String,
            span_id String,
            message String,
            labels Nested(key String, value String),
            truncated UInt8,
            template_id Nullable(Int64),
            observed_ns Int64
        ) ENGINE = MergeTree()
        PARTITION BY toDate(toDateTime(intDiv(ts_ns, 1000000000), 'UTC'))
        ORDER BY (tenant_id, ts_ns, id)
        """


def where_sql(tenant_id: UUID, query: LogQuery) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (tenant, matchers, line filters) and its named parameters."""
    params: dict[str, Any] = {"tenant": str(tenant_id), "empty": ""}
    parts = ["tenant_id = %(tenant)s"]
    for i, matcher in enumerate(query.matchers):
        parts.append(matcher_sql(matcher, f"m{i}", params))
    for i, line_filter in enumerate(query.line_filters):
        key = f"l{i}"
        op, value = line_filter.op, line_filter.value
        if op == "|=":
            parts.append(f"position(message, %({key})s) > 0")
        elif op == "!=":
            parts.append(f"position(message, %({key})s) = 0")
        else:
            value = logql.line_regex(value)
            negate = "NOT " if op == "!~" else ""
            parts.append(f"{negate}match(message, %({key})s)")
        params[key] = value
    return " AND ".join(parts), params


def matcher_sql(matcher: Matcher, key: str, params: dict[str, Any]) -> str:
    name, op, value = matcher.name, matcher.op, matcher.value
    if name == "severity":
        codes = _common.severity_codes(matcher)
        if codes.everything:
            return "1"
        if not codes.codes:
            return "0"
        return f"severity IN ({', '.join(str(c) for c in codes.codes)})"
    if name == "template" and op in ("=", "!="):
        if value == "":
            return "isNull(template_id)" if op == "=" else "isNotNull(template_id)"
        number = _common.template_number(value)
        if number is None:
            return "0" if op == "=" else "1"
        params[key] = number
        if op == "=":
            return f"ifNull(template_id = %({key})s, 0)"
        return f"ifNull(template_id != %({key})s, 1)"
    if name in SIMPLE_COLUMNS:
        column = name
    elif name == "template":
        column = "ifNull(toString(template_id), %(empty)s)"
    else:
        params[f"{key}_name"] = name
        column = f"labels.value[indexOf(labels.key, %({key}_name)s)]"
    if op == "=":
        params[key] = value
        return f"{column} = %({key})s"
    if op == "!=":
        params[key] = value
        return f"{column} != %({key})s"
    params[key] = logql.anchored_regex(value)
    negate = "NOT " if op == "!~" else ""
    return f"{negate}match({column}, %({key})s)"


def insert_columns(records: Sequence[LogRecord]) -> list[list[Any]]:
    return [
        [r.tenant_id for r in records],
        [r.ts_ns for r in records],
        [r.id for r in records],
        [r.service for r in records],
        [_common.SEVERITY_CODE[r.severity] for r in records],
        [r.agent for r in records],
        [r.trace_id for r in records],
        [r.span_id for r in records],
        [r.message for r in records],
        [list(r.labels) for r in records],
        [list(r.labels.values()) for r in records],
        [1 if r.truncated else 0 for r in records],
        [r.template_id for r in records],
        [r.observed_ns for r in records],
    ]


def to_record(tenant_id: UUID, row: Sequence[Any]) -> LogRecord:
    keys, values = row[8], row[9]
    return _common.row_record(tenant_id, row[:8], dict(zip(keys, values, strict=True)), row[10:])


def day_start_ns(day: dt.date) -> int:
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(midnight.timestamp()) * 1_000_000_000


def error_message(exc: BaseException) -> str:
    """The first line of a driver error (server errors carry a whole stack trace)."""
    text = str(getattr(exc, "message", "") or exc)
    return text.split(". Stack trace:", 1)[0].splitlines()[0] if text else type(exc).__name__
