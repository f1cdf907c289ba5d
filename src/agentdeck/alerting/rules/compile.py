"""Rule expressions: Prometheus durations, the threshold form compiled to PromQL, and checks.

The threshold form ``{metric_name, aggregation, window, operator, threshold, label_filters}``
compiles to ``<aggregation>_over_time(<metric>{<filters>}[<window>]) <operator> <threshold>``
(``p95`` → ``quantile_over_time(0.95, …)``, ``rate``/``increase`` for counters). A comparison
without ``bool`` keeps only the series that breach, so a window without samples yields no series
and never fires by itself (what a rule does on no data is its ``no_data_state``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import promql_parser as pp

from agentdeck.alerting.routing.matchers import Matcher
from agentdeck.alerting.rules.templates import format_number
from agentdeck.tsdb.promql import PromQLError, parse

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNITS = (("y", 365 * 86400.0), ("w", 7 * 86400.0), ("d", 86400.0), ("h", 3600.0), ("m", 60.0))
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

# aggregation -> (range function, quantile parameter)
AGGREGATIONS: dict[str, tuple[str, float | None]] = {
    "avg": ("avg_over_time", None),
    "min": ("min_over_time", None),
    "max": ("max_over_time", None),
    "sum": ("sum_over_time", None),
    "count": ("count_over_time", None),
    "last": ("last_over_time", None),
    "p50": ("quantile_over_time", 0.5),
    "p90": ("quantile_over_time", 0.9),
    "p95": ("quantile_over_time", 0.95),
    "p99": ("quantile_over_time", 0.99),
    "rate": ("rate", None),
    "increase": ("increase", None),
}
OPERATORS = (">", ">=", "<", "<=", "==", "!=")


class DurationError(ValueError):
    """Not a Prometheus duration such as ``5m`` or ``1h30m``."""


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (``90s``, ``5m``, ``1h30m``, ``0s``)."""
    match = _DURATION.match(text.strip()) if text.strip() else None
    if match is None or not any(match.groups()):
        raise DurationError(
            f"{text!r} is not a duration; use a number with a unit: ms, s, m, h, d, w, y "
            "(e.g. 30s, 5m, 1h30m)"
        )
    years, weeks, days, hours, minutes, seconds, millis = (int(g or 0) for g in match.groups())
    return (
        years * 365 * 86400
        + weeks * 7 * 86400
        + days * 86400
        + hours * 3600
        + minutes * 60
        + seconds
        + millis / 1000
    )


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (``0s``, ``90s`` → ``1m30s``)."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    out: list[str] = []
    rest = millis // 1000
    for unit, size in _UNITS:
        count, rest = divmod(rest, int(size))
        if count:
            out.append(f"{count}{unit}")
    if rest:
        out.append(f"{rest}s")
    if millis % 1000:
        out.append(f"{millis % 1000}ms")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Threshold:
    """The threshold form, already validated (see the API schema for the checks)."""

    metric_name: str
    aggregation: str
    window: str
    operator: str
    threshold: float
    label_filters: tuple[Matcher, ...] = ()

    @classmethod
    def of(cls, data: dict[str, Any]) -> Threshold:
        return cls(
            metric_name=str(data["metric_name"]),
            aggregation=str(data.get("aggregation", "avg")),
            window=str(data.get("window", "5m")),
            operator=str(data.get("operator", ">=")),
            threshold=float(data["threshold"]),
            label_filters=tuple(
                Matcher(str(f["name"]), f.get("op", "="), str(f.get("value", "")))
                for f in data.get("label_filters", [])
            ),
        )

    def series_expr(self) -> str:
        """The aggregated series, without the comparison (what the preview chart draws)."""
        function, quantile = AGGREGATIONS[self.aggregation]
        selector = self.metric_name
        if self.label_filters:
            selector += "{" + ",".join(str(m) for m in self.label_filters) + "}"
        window = format_duration(parse_duration(self.window))
        argument = f"{selector}[{window}]"
        if quantile is not None:
            return f"{function}({format_number(quantile)}, {argument})"
        return f"{function}({argument})"

    def expr(self) -> str:
        return f"{self.series_expr()} {self.operator} {format_number(self.threshold)}"

    def default_annotations(self) -> dict[str, str]:
        """The ``summary`` and ``description`` of a threshold rule that sets none: templates
        (see ``alerting.templates``) naming the agent, the value and the threshold."""
        value = '{{ $value | printf "%g" }}'
        agent = "{{ $labels.agent }}"
        condition = f"{self.operator} {format_number(self.threshold)}"
        window = format_duration(parse_duration(self.window))
        return {
            "summary": f"{self.metric_name} of agent {agent} is {value} (threshold {condition})",
            "description": f"The {self.aggregation} of {self.metric_name} over {window} is "
            f"{value} for agent {agent}, which meets the alert condition {condition}.",
        }


@dataclass(frozen=True, slots=True)
class Condition:
    """What the preview chart draws for an expression: the series and the threshold line."""

    series_expr: str
    operator: str | None
    threshold: float | None


def check_expr(expr: str) -> Any:
    """The parsed expression; raises :class:`PromQLError` with the parser's message.

    Rules must produce an instant vector: a bare number, a string or a range vector is refused.
    """
    node = parse(expr)
    if isinstance(node, pp.MatrixSelector | pp.SubqueryExpr):
        raise PromQLError("a rule expression must be an instant vector, not a range vector")
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        raise PromQLError("a rule expression must select series, not a constant")
    return node


_COMPARISONS = {">", ">=", "<", "<=", "==", "!="}


def condition_of(expr: str) -> Condition:
    """Split ``<series> <op> <number>`` (the usual alert shape) for the preview chart.

    Other shapes preview the whole expression with no threshold line.
    """
    node = check_expr(expr)
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        modifier = node.modifier
        returns_bool = bool(getattr(modifier, "return_bool", False)) if modifier else False
        if op in _COMPARISONS and not returns_bool and isinstance(node.rhs, pp.NumberLiteral):
            return Condition(node.lhs.prettify(), op, float(node.rhs.val))
    return Condition(expr, None, None)
