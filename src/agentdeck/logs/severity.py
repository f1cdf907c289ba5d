"""The severity vocabulary of ingest: what is read as a severity and what is stored.

Five severities are stored (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``, ``CRITICAL``). Ingest
reads their names case-insensitively, the aliases the log store's query language reads too
(:data:`~agentdeck.logstore.base.SEVERITY_ALIASES`: ``warn``, ``err``, ``fatal``, ``crit``,
``trace``, ``notice``, ``emerg``, ``alert``, ...), and OpenTelemetry's severity numbers (1–24:
TRACE and DEBUG are DEBUG, INFO is INFO, WARN is WARNING, ERROR is ERROR, FATAL is CRITICAL).
``docs/logs.md`` lists the table.
"""

from __future__ import annotations

from agentdeck.logstore.base import SEVERITY_ALIASES, Severity, severity_from_text

#: Exact spellings seen on the wire → the stored severity (a lookup without lower-casing).
EXACT: dict[str, Severity] = {}
for _name, _severity in (
    *((s.value.lower(), s) for s in Severity),
    *SEVERITY_ALIASES.items(),
):
    EXACT[_name] = EXACT[_name.upper()] = EXACT[_name.capitalize()] = _severity


class UnknownSeverity(ValueError):
    """Not a severity of the vocabulary."""


def parse_severity(value: object) -> Severity:
    """The stored severity of a name, an alias or an OpenTelemetry severity number."""
    if isinstance(value, str):
        found = EXACT.get(value) or severity_from_text(value)
        if found is not None:
            return found
        if value.strip().isdigit():
            return from_otel_number(int(value.strip()))
    elif isinstance(value, int) and not isinstance(value, bool):
        return from_otel_number(value)
    raise UnknownSeverity(
        f"unknown severity {str(value)[:40]!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL "
        "(or an alias such as warn, err, fatal, or an OpenTelemetry severity number 1-24)"
    )


def from_otel_number(number: int) -> Severity:
    """OpenTelemetry ``SeverityNumber`` 1–24 → the stored severity."""
    if not 1 <= number <= 24:
        raise UnknownSeverity(f"severity number {number} is not an OpenTelemetry one (1-24)")
    if number <= 8:
        return Severity.DEBUG  # TRACE 1-4, DEBUG 5-8
    if number <= 12:
        return Severity.INFO
    if number <= 16:
        return Severity.WARNING
    if number <= 20:
        return Severity.ERROR
    return Severity.CRITICAL  # FATAL 21-24
