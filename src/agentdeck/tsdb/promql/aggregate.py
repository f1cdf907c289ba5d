"""Aggregation operators (``sum``, ``avg``, ``min``, ``max``, ``count``, ``topk``, ...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agentdeck.tsdb.names import METRIC_NAME_LABEL
from agentdeck.tsdb.promql.functions import quantile
from agentdeck.tsdb.promql.summation import group_sums
from agentdeck.tsdb.promql.values import F64, Labels, PromQLUnsupported, Vector

SIMPLE = frozenset({"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"})
PARAMETRIC = frozenset({"topk", "bottomk", "quantile"})


def grouping_labels(labels: Labels, names: Sequence[str], without: bool) -> Labels:
    if without:
        drop = {*names, METRIC_NAME_LABEL}
        return {k: v for k, v in labels.items() if k not in drop}
    return {k: labels[k] for k in names if labels.get(k)}


def aggregate(
    op: str, vector: Vector, names: Sequence[str], without: bool, param: F64 | None
) -> Vector:
    steps = vector.values.shape[1]
    keys: dict[tuple[tuple[str, str], ...], int] = {}
    groups: list[int] = []
    group_labels: list[Labels] = []
    by = sorted(set(names))  # `by`: the key is built in sorted label order, no sort per series
    only = by[0] if len(by) == 1 and not without else None
    for labels in vector.labels:
        if only is not None:
            value = labels.get(only)
            key: tuple[tuple[str, str], ...] = ((only, value),) if value else ()
        elif without:
            grouped = grouping_labels(labels, names, without)
            key = tuple(sorted(grouped.items()))
        else:
            key = tuple([(k, v) for k in by if (v := labels.get(k))])
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(group_labels)
            group_labels.append(grouped if without else dict(key))
        groups.append(g)
    group_of = np.array(groups, dtype=np.int64)
    if op in SIMPLE:
        return _simple(op, vector, group_of, group_labels, steps)
    if op in ("topk", "bottomk"):
        assert param is not None
        return _topk(op == "topk", vector, group_of, len(group_labels), param)
    if op == "quantile":
        assert param is not None
        return _quantile(vector, group_of, group_labels, param)
    raise PromQLUnsupported(f"aggregation {op}() is not supported")


def _simple(
    op: str, vector: Vector, group_of: np.ndarray, group_labels: list[Labels], steps: int
) -> Vector:
    n_groups = len(group_labels)
    if n_groups == 0:
        return Vector.empty(steps)
    order = np.argsort(group_of, kind="stable")
    sorted_groups = group_of[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    vals = vector.values[order]
    mask = vector.mask[order]
    counts = np.add.reduceat(mask.astype(np.int64), starts, axis=0)
    present = counts > 0
    with np.errstate(all="ignore"):
        if op in ("sum", "avg", "stddev", "stdvar"):
            sums = group_sums(np.where(mask, vals, 0.0), starts)
            out = sums
            if op != "sum":
                # Members that all hold one value average to it exactly (fmin and fmax skip
                # NaN, which the sum keeps).
                low = np.fmin.reduceat(np.where(mask, vals, np.nan), starts, axis=0)
                high = np.fmax.reduceat(np.where(mask, vals, np.nan), starts, axis=0)
                one_value = (low == high) & ~np.isnan(sums)
                mean = np.where(one_value, low, sums / np.maximum(counts, 1))
                out = mean
                if op != "avg":
                    rows = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(vals)]))
                    dev = np.where(mask, (vals - mean[rows]) ** 2, 0.0)
                    out = group_sums(dev, starts) / np.maximum(counts, 1)
                    if op == "stddev":
                        out = np.sqrt(out)
        elif op == "min":
            out = np.fmin.reduceat(np.where(mask, vals, np.nan), starts, axis=0)
        elif op == "max":
            out = np.fmax.reduceat(np.where(mask, vals, np.nan), starts, axis=0)
        elif op == "count":
            out = counts.astype(np.float64)
        else:  # group
            out = np.ones(counts.shape)
    return Vector(group_labels, np.where(present, out, 0.0), present).compact()


def _topk(top: bool, vector: Vector, group_of: np.ndarray, n_groups: int, param: F64) -> Vector:
    mask_out = np.zeros_like(vector.mask)
    steps = vector.values.shape[1]
    members = [np.flatnonzero(group_of == g) for g in range(n_groups)]
    for n in range(steps):
        k = int(param[n]) if not np.isnan(param[n]) else 0
        if k < 1:
            continue
        for rows in members:
            present = rows[vector.mask[rows, n]]
            if len(present) == 0:
                continue
            column = vector.values[present, n]
            # NaN sorts last for both; stable on ties.
            key = np.where(np.isnan(column), -np.inf if top else np.inf, column)
            ranked = np.argsort(-key if top else key, kind="stable")[:k]
            mask_out[present[ranked], n] = True
    return Vector(vector.labels, vector.values, mask_out).compact()


def _quantile(
    vector: Vector, group_of: np.ndarray, group_labels: list[Labels], param: F64
) -> Vector:
    steps = vector.values.shape[1]
    out = np.zeros((len(group_labels), steps))
    present = np.zeros((len(group_labels), steps), dtype=bool)
    for g in range(len(group_labels)):
        rows = np.flatnonzero(group_of == g)
        for n in range(steps):
            have = rows[vector.mask[rows, n]]
            if len(have):
                present[g, n] = True
                out[g, n] = quantile(float(param[n]), vector.values[have, n])
    return Vector(group_labels, out, present).compact()
