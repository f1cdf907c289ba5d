"""What both log stores share: the windowed newest-first search, field-filter residuals,
severity/template matcher resolution and histogram buckets.

A search walks the asked range in windows, starting at the end it reads from (the newest
end for ``backward``) with a small window that grows fourfold each step, and stops as soon as
the page is full: "the newest 100 lines" reads the last minutes, not the whole day. Each
window is one SQL query ordered by (``ts_ns``, ``id``) with a LIMIT. Field filters (``| json``
/ ``| logfmt``) run here in Python on the rows the SQL selected (the very code the live tail
runs, :mod:`agentdeck.logstore.logql`), in chunks, with a bound on the rows scanned per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentdeck.logstore import logql
from agentdeck.logstore.base import (
    Cursor,
    LogPage,
    LogQuery,
    LogQueryError,
    LogRecord,
    Matcher,
    Severity,
)

#: The first window a search reads (then 4x, 16x, ... of it).
FIRST_WINDOW_NS = 60 * 1_000_000_000
WINDOW_GROWTH = 4
#: Rows a field-filtered search reads per SQL query (then filters in Python).
FIELD_CHUNK = 5_000
#: Rows a field-filtered search or histogram reads at most per call.
DEFAULT_MAX_SCAN = 2_000_000
#: Times are ns since the epoch in a signed 64-bit column.
MAX_TS_NS = 2**63 - 1

SEVERITIES = tuple(Severity)
SEVERITY_CODE = {severity: code for code, severity in enumerate(SEVERITIES)}

# fetch(lo, hi, after, n): up to n records with lo <= ts_ns < hi, strictly after ``after`` in
# the search direction, ordered in that direction by (ts_ns, id).
Fetch = Callable[[int, int, Cursor | None, int], list[LogRecord]]


def check_direction(direction: str) -> bool:
    """True for ``backward`` (newest first), False for ``forward``."""
    if direction not in ("backward", "forward"):
        raise LogQueryError(f"direction must be 'backward' or 'forward', not {direction!r}")
    return direction == "backward"


def check_range(start_ns: int, end_ns: int, limit: int) -> None:
    if limit < 0:
        raise LogQueryError("limit must not be negative")
    if start_ns > end_ns:
        raise LogQueryError("start must not be after end")


def windowed_search(
    fetch: Fetch,
    query: LogQuery,
    *,
    start_ns: int,
    end_ns: int,
    limit: int,
    backward: bool,
    cursor: Cursor | None,
    max_scan: int = DEFAULT_MAX_SCAN,
    first_window_ns: int = FIRST_WINDOW_NS,
) -> LogPage:
    """One page of ``query`` over ``[start_ns, end_ns)`` read window by window."""
    start_ns = max(start_ns, 0)
    end_ns = min(end_ns, MAX_TS_NS)
    if limit == 0 or start_ns >= end_ns:
        return LogPage([], None)
    if cursor is not None:  # nothing at or beyond the cursor can be on this page
        if backward:
            end_ns = min(end_ns, cursor.ts_ns + 1)
        else:
            start_ns = max(start_ns, cursor.ts_ns)
        if start_ns >= end_ns:
            return LogPage([], None)
    residual = logql.field_filter_test(query.field_filters) if query.field_filters else None
    out: list[LogRecord] = []
    scanned = 0
    after = cursor
    width = first_window_ns
    done_to = end_ns if backward else start_ns  # the edge of what was read
    while True:
        if backward:
            lo, hi = max(start_ns, done_to - width), done_to
        else:
            lo, hi = done_to, min(end_ns, done_to + width)
        while True:  # the window, in chunks when rows are filtered here
            want = limit - len(out)
            n = want if residual is None else max(FIELD_CHUNK, want)
            rows = fetch(lo, hi, after, n)
            scanned += len(rows)
            if residual is None:
                out.extend(rows)
            else:
                for row in rows:
                    if residual(row.message):
                        out.append(row)
                        if len(out) == limit:
                            break
            if len(out) >= limit:
                last = out[-1]
                return LogPage(out, Cursor(last.ts_ns, last.id))
            if rows:
                after = Cursor(rows[-1].ts_ns, rows[-1].id)
            if len(rows) < n:
                break  # the window is exhausted
            if scanned >= max_scan:  # a partial page: go on from where the scan stopped
                assert after is not None
                return LogPage(out, after)
        done_to = lo if backward else hi
        if (backward and done_to <= start_ns) or (not backward and done_to >= end_ns):
            return LogPage(out, None)
        if scanned >= max_scan and after is not None:
            return LogPage(out, after)
        width *= WINDOW_GROWTH


def histogram_bucket(ts_ns: int, step_ns: int) -> int:
    """The start of the step-aligned bucket holding ``ts_ns`` (floor, also below zero)."""
    return ts_ns - ts_ns % step_ns


def check_step(step_ns: int, start_ns: int, end_ns: int, *, max_buckets: int = 20_000) -> None:
    if step_ns <= 0:
        raise LogQueryError("step must be positive")
    if end_ns > start_ns and (end_ns - start_ns) // step_ns > max_buckets:
        raise LogQueryError(f"more than {max_buckets} histogram buckets: use a larger step")


@dataclass(frozen=True, slots=True)
class CodeSet:
    """A matcher on a small closed set resolved to the codes it accepts."""

    codes: tuple[int, ...]
    everything: bool


def severity_codes(matcher: Matcher) -> CodeSet:
    """Which severity codes a severity matcher accepts (decided with the RE2 the tail uses)."""
    accepted = tuple(
        code
        for code, severity in enumerate(SEVERITIES)
        if logql.compile_query(LogQuery(matchers=(matcher,)))(_SEVERITY_PROBES[severity])
    )
    return CodeSet(accepted, len(accepted) == len(SEVERITIES))


def _probe(severity: Severity) -> LogRecord:
    from uuid import UUID

    return LogRecord(
        id="", tenant_id=UUID(int=0), ts_ns=0, service="", severity=severity, message=""
    )


_SEVERITY_PROBES = {severity: _probe(severity) for severity in SEVERITIES}


def template_number(value: str) -> int | None:
    """The template id an equality matcher names, or None when no id prints as ``value``."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if str(number) == value and -(2**63) <= number < 2**63 else None


def count_filtered(
    rows: Iterable[tuple[int, int, str]],
    residual: Callable[[str], bool],
    step_ns: int,
    max_scan: int,
    counts: dict[int, dict[Severity, int]],
) -> None:
    """Add the ``(ts_ns, severity code, message)`` rows whose message passes ``residual`` to
    ``counts`` by bucket and severity; refuses to read more than ``max_scan`` rows."""
    for scanned, (ts, code, message) in enumerate(rows, 1):
        if scanned > max_scan:
            raise LogQueryError(
                f"field filters over more than {max_scan} lines: narrow the range or add a "
                "line filter"
            )
        if residual(message):
            per = counts.setdefault(histogram_bucket(ts, step_ns), {})
            severity = SEVERITIES[code]
            per[severity] = per.get(severity, 0) + 1


def row_record(
    tenant_id: UUID, head: Sequence[Any], labels: Mapping[str, str], tail: Sequence[Any]
) -> LogRecord:
    """A line from a row of either store: ``head`` is (ts, id, service, severity code, agent,
    trace, span, message), ``tail`` (truncated, template id, observed ns); the labels are
    decoded by the store (a JSON text in DuckDB, key and value arrays in ClickHouse)."""
    ts, rid, service, code, agent, trace, span, message = head
    truncated, template, observed = tail
    return LogRecord(
        id=rid,
        tenant_id=tenant_id,
        ts_ns=ts,
        service=service,
        severity=SEVERITIES[code],
        message=message,
        agent=agent,
        labels=dict(labels),
        trace_id=trace,
        span_id=span,
        truncated=bool(truncated),
        template_id=template,
        observed_ns=observed,
    )
