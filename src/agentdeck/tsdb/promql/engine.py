"""The evaluator: walks a parsed expression and computes it at every step in one pass.

Each selector is fetched once per query from :meth:`Store.select` (the whole range plus the
lookback or range window), then evaluated for all steps with numpy. Semantics follow
Prometheus 3: lookback 5 minutes, windows ``(t - range, t]``, ``offset`` and ``@``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
import promql_parser as pp

from agentdeck.tsdb.base import InvalidMatcher, Matcher, MatchOp, Store
from agentdeck.tsdb.names import METRIC_NAME_LABEL
from agentdeck.tsdb.promql import aggregate as agg
from agentdeck.tsdb.promql import binary, functions
from agentdeck.tsdb.promql.values import (
    F64,
    I64,
    Fetched,
    PromQLError,
    PromQLUnsupported,
    Scalar,
    String,
    Value,
    Vector,
    drop_name,
)

LOOKBACK_MS = 300_000
MAX_POINTS = 11_000


def parse(query: str) -> Any:
    """The parsed expression; syntax errors become :class:`PromQLError`."""
    if not query.strip():
        raise PromQLError("empty query")
    try:
        return pp.parse(query)
    except (ValueError, TypeError) as exc:
        raise PromQLError(f"parse error: {exc}") from None


def _ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return round(delta.total_seconds() * 1000)


def _match_op(op: Any) -> MatchOp:
    return {
        "MatchOp.Equal": MatchOp.eq,
        "MatchOp.NotEqual": MatchOp.ne,
        "MatchOp.Re": MatchOp.re,
        "MatchOp.NotRe": MatchOp.nre,
    }[str(op)]


def selector_matchers(node: Any) -> list[Matcher]:
    """Our matchers for a parsed vector selector."""
    if node.matchers.or_matchers:
        raise PromQLUnsupported("selectors with 'or' between matchers are not supported")
    found: list[Matcher] = []
    try:
        if node.name:
            found.append(Matcher.name_is(node.name))
        found.extend(Matcher(m.name, _match_op(m.op), m.value) for m in node.matchers.matchers)
    except InvalidMatcher as exc:
        raise PromQLError(str(exc)) from None
    return found


def parse_selector(text: str) -> list[Matcher]:
    """Matchers of a series selector such as the ``match[]`` of the series API."""
    node = parse(text)
    if not isinstance(node, pp.VectorSelector):
        raise PromQLError(f"{text!r} is not a series selector")
    if node.offset is not None or node.at is not None:
        raise PromQLError("a series selector takes no offset or @ modifier")
    return selector_matchers(node)


@dataclass
class Evaluation:
    """One query: the tenant, the steps (ms) and a cache of fetched selectors."""

    store: Store
    tenant_id: UUID
    start_ms: int
    end_ms: int
    step_ms: int
    lookback_ms: int = LOOKBACK_MS
    _cache: dict[tuple[Any, ...], Fetched] = field(default_factory=dict)

    @property
    def times(self) -> I64:
        if self.step_ms <= 0:
            return np.array([self.start_ms], dtype=np.int64)
        return np.arange(self.start_ms, self.end_ms + 1, self.step_ms, dtype=np.int64)

    async def run(self, node: Any) -> Value:
        steps = len(self.times)
        if steps > MAX_POINTS:
            raise PromQLError(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                "the query resolution (?step=XX)"
            )
        return await self.eval(node, self.times)

    # --- dispatch ----------------------------------------------------------------------

    async def eval(self, node: Any, times: I64) -> Value:
        if isinstance(node, pp.NumberLiteral):
            return Scalar(np.full(len(times), float(node.val)))
        if isinstance(node, pp.StringLiteral):
            return String(str(node.val))
        if isinstance(node, pp.ParenExpr):
            return await self.eval(node.expr, times)
        if isinstance(node, pp.UnaryExpr):
            inner = await self.eval(node.expr, times)
            if isinstance(inner, Scalar):
                return Scalar(-inner.values)
            if isinstance(inner, Vector):
                return Vector([drop_name(x) for x in inner.labels], -inner.values, inner.mask)
            raise PromQLError("unary minus needs a scalar or an instant vector")
        if isinstance(node, pp.VectorSelector):
            return await self._instant_selector(node, times)
        if isinstance(node, pp.MatrixSelector):
            raise PromQLError(
                "a range vector cannot be the result of an expression; "
                "use it inside a function such as rate()"
            )
        if isinstance(node, pp.SubqueryExpr):
            raise PromQLUnsupported("subqueries are not supported")
        if isinstance(node, pp.Call):
            return await self._call(node, times)
        if isinstance(node, pp.AggregateExpr):
            return await self._aggregate(node, times)
        if isinstance(node, pp.BinaryExpr):
            return await self._binary(node, times)
        raise PromQLUnsupported(f"expression {type(node).__name__} is not supported")

    # --- selectors -----------------------------------------------------------------------

    def _times_for(self, node: Any, times: I64) -> I64:
        at = node.at
        if at is not None:
            kind = at.type
            if kind == pp.AtModifierType.Start:
                fixed = self.start_ms
            elif kind == pp.AtModifierType.End:
                fixed = self.end_ms
            else:
                fixed = round(at.at.timestamp() * 1000)
            times = np.full(len(times), fixed, dtype=np.int64)
        return times - _ms(node.offset)

    async def _fetch(self, node: Any, upper: I64, window_ms: int) -> tuple[Fetched, int]:
        matchers = selector_matchers(node)
        lo = int(upper.min()) - window_ms + 1 if len(upper) else self.start_ms
        hi = int(upper.max()) if len(upper) else self.end_ms
        lo = max(lo, 0)
        key = (tuple(matchers), lo, hi)
        cached = self._cache.get(key)
        if cached is None:
            try:
                series = await self.store.select(self.tenant_id, matchers, lo, max(hi, 0))
            except InvalidMatcher as exc:
                raise PromQLError(str(exc)) from None
            cached = self._cache[key] = Fetched.of(series, lo)
        return cached, lo

    async def _instant_selector(self, node: Any, times: I64) -> Vector:
        upper = self._times_for(node, times)
        data, base = await self._fetch(node, upper, self.lookback_ms)
        lo, hi = data.bounds(upper, self.lookback_ms, base)
        mask = hi > lo
        values = data.vals[np.where(mask, hi - 1, 0)] if len(data.vals) else np.zeros(lo.shape)
        return Vector(data.labels, np.where(mask, values, 0.0), mask).compact()

    # --- functions -----------------------------------------------------------------------

    async def _scalar_arg(self, node: Any, times: I64, what: str) -> F64:
        value = await self.eval(node, times)
        if not isinstance(value, Scalar):
            raise PromQLError(f"{what} must be a scalar")
        return value.values

    async def _vector_arg(self, node: Any, times: I64, what: str) -> Vector:
        value = await self.eval(node, times)
        if not isinstance(value, Vector):
            raise PromQLError(f"{what} must be an instant vector")
        return value

    async def _call(self, node: Any, times: I64) -> Value:
        name = str(node.func.name)
        args: Sequence[Any] = node.args
        if name in functions.RANGE_FUNCTIONS:
            param: float | None = None
            if name == "quantile_over_time":
                param_values = await self._scalar_arg(args[0], times, "the quantile")
                param = float(param_values[0])
                args = args[1:]
            matrix = args[0]
            if isinstance(matrix, pp.SubqueryExpr):
                raise PromQLUnsupported("subqueries are not supported")
            if not isinstance(matrix, pp.MatrixSelector):
                raise PromQLError(f"{name}() needs a range vector such as metric[5m]")
            selector = matrix.vector_selector
            range_ms = _ms(matrix.range)
            upper = self._times_for(selector, times)
            data, base = await self._fetch(selector, upper, range_ms)
            lo, hi = data.bounds(upper, range_ms, base)
            return functions.range_function(name, data, lo, hi, upper, range_ms, param)
        if name in functions.ELEMENTWISE:
            return functions.elementwise(name, await self._vector_arg(args[0], times, name))
        if name in ("clamp", "clamp_min", "clamp_max"):
            vector = await self._vector_arg(args[0], times, name)
            first = await self._scalar_arg(args[1], times, f"{name}'s bound")
            if name == "clamp":
                second = await self._scalar_arg(args[2], times, "clamp's bound")
                return functions.clamp(vector, first, second)
            if name == "clamp_min":
                return functions.clamp(vector, first, None)
            return functions.clamp(vector, None, first)
        if name == "round":
            vector = await self._vector_arg(args[0], times, name)
            nearest = (
                await self._scalar_arg(args[1], times, "round's argument")
                if len(args) > 1
                else np.ones(len(times))
            )
            return functions.round_to(vector, nearest)
        if name == "histogram_quantile":
            q = await self._scalar_arg(args[0], times, "the quantile")
            vector = await self._vector_arg(args[1], times, name)
            return functions.histogram_quantile(q, vector)
        if name == "scalar":
            vector = await self._vector_arg(args[0], times, name)
            single = vector.mask.sum(axis=0) == 1
            values = np.where(vector.mask, vector.values, 0.0).sum(axis=0)
            return Scalar(np.where(single, values, math.nan))
        if name == "vector":
            scalar = await self._scalar_arg(args[0], times, "vector's argument")
            return Vector([{}], scalar[None, :], np.ones((1, len(times)), dtype=bool))
        if name == "time":
            return Scalar(times / 1000.0)
        raise PromQLUnsupported(f"function {name}() is not supported")

    # --- aggregations --------------------------------------------------------------------

    async def _aggregate(self, node: Any, times: I64) -> Vector:
        op = str(node.op)
        if op not in agg.SIMPLE and op not in agg.PARAMETRIC:
            raise PromQLUnsupported(f"aggregation {op}() is not supported")
        param: F64 | None = None
        if op in agg.PARAMETRIC:
            param = await self._scalar_arg(node.param, times, f"{op}'s parameter")
        vector = await self._vector_arg(node.expr, times, f"{op}'s argument")
        modifier = node.modifier
        names: list[str] = []
        without = False
        if modifier is not None:
            names = list(modifier.labels)
            without = modifier.type == pp.AggModifierType.Without
        return agg.aggregate(op, vector, names, without, param)

    # --- binary operators ----------------------------------------------------------------

    async def _binary(self, node: Any, times: I64) -> Value:
        op = str(node.op)
        modifier = node.modifier
        return_bool = bool(modifier.return_bool) if modifier is not None else False
        lhs = await self.eval(node.lhs, times)
        rhs = await self.eval(node.rhs, times)
        if isinstance(lhs, String) or isinstance(rhs, String):
            raise PromQLError(f"operator {op} is not defined on strings")
        if op in binary.SET_OPS:
            if not (isinstance(lhs, Vector) and isinstance(rhs, Vector)):
                raise PromQLError(f"set operator {op} needs instant vectors on both sides")
            return binary.set_operation(op, lhs, rhs, _matching(modifier, False))
        if op not in binary.ARITHMETIC and op not in binary.COMPARISON:
            raise PromQLUnsupported(f"operator {op} is not supported")
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            if op in binary.COMPARISON and not return_bool:
                raise PromQLError("comparisons between scalars must use the bool modifier")
            return binary.scalar_scalar(op, lhs, rhs)
        if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
            return binary.vector_scalar(op, lhs, rhs, False, return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
            return binary.vector_scalar(op, rhs, lhs, True, return_bool)
        assert isinstance(lhs, Vector) and isinstance(rhs, Vector)
        return binary.vector_vector(op, lhs, rhs, _matching(modifier, return_bool))


def _matching(modifier: Any, return_bool: bool) -> binary.Matching:
    if modifier is None:
        return binary.Matching(False, (), "one-to-one", (), return_bool)
    on = False
    labels: tuple[str, ...] = ()
    if modifier.matching is not None:
        on = modifier.matching.type == pp.LabelModifierType.Include
        labels = tuple(modifier.matching.labels)
    card = {
        "VectorMatchCardinality.ManyToOne": "many-to-one",
        "VectorMatchCardinality.OneToMany": "one-to-many",
    }.get(str(modifier.card), "one-to-one")  # many-to-many: set operators, which ignore it
    include = tuple(modifier.group_labels or ())
    return binary.Matching(on, labels, card, include, return_bool)


__all__ = ["LOOKBACK_MS", "MAX_POINTS", "Evaluation", "parse", "parse_selector"]
_ = METRIC_NAME_LABEL
