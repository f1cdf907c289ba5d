"""The severity vocabulary: what ingest reads as a severity and what it stores.

Five severities are stored (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``, ``CRITICAL``). Ingest
reads them case-insensitively, with the aliases other tools write (``warn``, ``err``, ``fatal``,
``crit``, ``trace``, ``notice``, ``emerg``, ``alert``, ...) and OpenTelemetry's severity numbers
(1–24: TRACE and DEBUG are DEBUG, INFO is INFO, WARN is WARNING, ERROR is ERROR, FATAL is
CRITICAL). ``docs/logs.md`` lists the table.
"""

from __future__ import annotations

from agentdeck.logstore.base import Severity

D, INFO, W, E, C = (
    Severity.DEBUG,
    Severity.INFO,
    Severity.WARNING,
    Severity.ERROR,
    Severity.CRITICAL,
)

#: Lower-case names and aliases → the stored severity.
ALIASES: dict[str, Severity] = {
    "debug": D,
    "dbg": D,
    "trace": D,
    "info": INFO,
    "information": INFO,
    "informational": INFO,
    "notice": INFO,
    "warning": W,
    "warn": W,
    "error": E,
    "err": E,
    "critical": C,
    "crit": C,
    "fatal": C,
    "emerg": C,
    "emergency": C,
    "alert": C,
    "panic": C,
}

#: Exact spellings seen on the wire, for a lookup without lower-casing.
_EXACT: dict[str, Severity] = {}
for _name, _severity in ALIASES.items():
    _EXACT[_name] = _EXACT[_name.upper()] = _EXACT[_name.capitalize()] = _severity


class UnknownSeverity(ValueError):
    """Not a severity of the vocabulary."""


def parse_severity(value: object) -> Severity:
    """The stored severity of a name, an alias or an OpenTelemetry severity number."""
    if isinstance(value, str):
        found = _EXACT.get(value)
        if found is not None:
            return found
        found = ALIASES.get(value.strip().lower())
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
        return D  # TRACE 1-4, DEBUG 5-8
    if number <= 12:
        return INFO
    if number <= 16:
        return W
    if number <= 20:
        return E
    return C  # FATAL 21-24
