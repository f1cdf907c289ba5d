"""Binary operators: arithmetic, comparisons (with ``bool``) and the set operators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agentdeck.tsdb.names import METRIC_NAME_LABEL
from agentdeck.tsdb.promql.values import F64, Labels, PromQLError, Scalar, Vector, drop_name

ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})
COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})


@dataclass(frozen=True, slots=True)
class Matching:
    on: bool
    labels: tuple[str, ...]
    card: str  # one-to-one | many-to-one | one-to-many
    include: tuple[str, ...]
    return_bool: bool


def apply(op: str, a: F64, b: F64) -> F64:
    with np.errstate(all="ignore"):
        if op == "+":
            return np.asarray(a + b, dtype=np.float64)
        if op == "-":
            return np.asarray(a - b, dtype=np.float64)
        if op == "*":
            return np.asarray(a * b, dtype=np.float64)
        if op == "/":
            return np.asarray(a / b, dtype=np.float64)
        if op == "%":
            return np.asarray(np.fmod(a, b), dtype=np.float64)
        if op == "^":
            return np.asarray(np.power(a, b), dtype=np.float64)
        if op == "atan2":
            return np.asarray(np.arctan2(a, b), dtype=np.float64)
        if op == "==":
            return np.asarray(a == b, dtype=np.float64)
        if op == "!=":
            return np.asarray(a != b, dtype=np.float64)
        if op == ">":
            return np.asarray(a > b, dtype=np.float64)
        if op == "<":
            return np.asarray(a < b, dtype=np.float64)
        if op == ">=":
            return np.asarray(a >= b, dtype=np.float64)
        if op == "<=":
            return np.asarray(a <= b, dtype=np.float64)
    raise PromQLError(f"unknown operator {op}")


def scalar_scalar(op: str, lhs: Scalar, rhs: Scalar) -> Scalar:
    return Scalar(apply(op, lhs.values, rhs.values))


def vector_scalar(op: str, vector: Vector, scalar: Scalar, swap: bool, return_bool: bool) -> Vector:
    row = scalar.values[None, :]
    lhs, rhs = (row, vector.values) if swap else (vector.values, row)
    result = apply(op, lhs, rhs)
    if op in COMPARISON:
        if return_bool:
            return Vector([drop_name(x) for x in vector.labels], result, vector.mask)
        keep = vector.mask & (result == 1.0)
        return Vector(vector.labels, vector.values, keep).compact()
    return Vector([drop_name(x) for x in vector.labels], result, vector.mask)


def signature(labels: Labels, matching: Matching) -> tuple[tuple[str, str], ...]:
    if matching.on:
        return tuple((k, labels.get(k, "")) for k in matching.labels)
    skip = {*matching.labels, METRIC_NAME_LABEL}
    return tuple(sorted((k, v) for k, v in labels.items() if k not in skip))


def _index(vector: Vector, matching: Matching) -> dict[tuple[tuple[str, str], ...], list[int]]:
    index: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, labels in enumerate(vector.labels):
        index.setdefault(signature(labels, matching), []).append(i)
    return index


def set_operation(op: str, lhs: Vector, rhs: Vector, matching: Matching) -> Vector:
    steps = lhs.values.shape[1]
    rhs_index = _index(rhs, matching)
    rhs_any = {sig: rhs.mask[rows].any(axis=0) for sig, rows in rhs_index.items()}
    none = np.zeros(steps, dtype=bool)
    if op in ("and", "unless"):
        mask = lhs.mask.copy()
        for i, labels in enumerate(lhs.labels):
            other = rhs_any.get(signature(labels, matching), none)
            mask[i] &= other if op == "and" else ~other
        return Vector(lhs.labels, lhs.values, mask).compact()
    # or: every lhs sample, plus rhs samples whose signature has no lhs sample at that step
    lhs_any: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    for i, labels in enumerate(lhs.labels):
        sig = signature(labels, matching)
        lhs_any[sig] = lhs_any.get(sig, none) | lhs.mask[i]
    rhs_mask = rhs.mask.copy()
    for i, labels in enumerate(rhs.labels):
        rhs_mask[i] &= ~lhs_any.get(signature(labels, matching), none)
    return Vector(
        lhs.labels + rhs.labels,
        np.concatenate((lhs.values, rhs.values)),
        np.concatenate((lhs.mask, rhs_mask)),
    ).compact()


def vector_vector(op: str, lhs: Vector, rhs: Vector, matching: Matching) -> Vector:
    if matching.card == "one-to-many":
        flipped = Matching(
            matching.on, matching.labels, "many-to-one", matching.include, matching.return_bool
        )
        return _vector_vector(op, rhs, lhs, flipped, swapped=True)
    return _vector_vector(op, lhs, rhs, matching, swapped=False)


def _one_per_step(vector: Vector, rows: Sequence[int], side: str) -> tuple[F64, np.ndarray]:
    present = vector.mask[rows]
    if bool((present.sum(axis=0) > 1).any()):
        raise PromQLError(
            f"found duplicate series for the match group on the {side} hand-side of the "
            "operation; many-to-many matching not allowed: matching labels must be unique "
            "on one side"
        )
    values = np.where(present, vector.values[rows], 0.0).sum(axis=0)
    return values, np.asarray(present.any(axis=0))


def _vector_vector(
    op: str, many: Vector, one: Vector, matching: Matching, *, swapped: bool
) -> Vector:
    """``many`` is the side that may repeat a signature (the lhs for one-to-one)."""
    steps = many.values.shape[1]
    one_index = _index(one, matching)
    one_side = {
        sig: _one_per_step(one, rows, "left" if swapped else "right")
        for sig, rows in one_index.items()
    }
    labels_out: list[Labels] = []
    values_out: list[F64] = []
    mask_out: list[np.ndarray] = []
    seen: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    for i, labels in enumerate(many.labels):
        sig = signature(labels, matching)
        other = one_side.get(sig)
        if other is None:
            continue
        other_values, other_mask = other
        mask = many.mask[i] & other_mask
        if not mask.any():
            continue
        a, b = (other_values, many.values[i]) if swapped else (many.values[i], other_values)
        result = apply(op, a, b)
        if op in COMPARISON and not matching.return_bool:
            mask = mask & (result == 1.0)
            result = a  # the left-hand side's value (Prometheus keeps the lhs sample)
        out = _result_labels(labels, one.labels[one_index[sig][0]], op, matching)
        if matching.card == "one-to-one" and not swapped:
            key = tuple(sorted(out.items()))
            if key in seen and bool((seen[key] & mask).any()):
                raise PromQLError(
                    "multiple matches for labels: many-to-one matching must be explicit "
                    "(group_left/group_right)"
                )
            seen[key] = seen.get(key, np.zeros(steps, dtype=bool)) | mask
        labels_out.append(out)
        values_out.append(result)
        mask_out.append(mask)
    if not labels_out:
        return Vector.empty(steps)
    return Vector(labels_out, np.vstack(values_out), np.vstack(mask_out)).compact()


def _result_labels(labels: Labels, one_labels: Labels, op: str, matching: Matching) -> Labels:
    out = dict(labels)
    if op in ARITHMETIC or matching.return_bool:
        out.pop(METRIC_NAME_LABEL, None)
    if matching.card == "one-to-one":
        if matching.on:
            out = {k: v for k, v in out.items() if k in matching.labels}
        else:
            out = {k: v for k, v in out.items() if k not in matching.labels}
    for name in matching.include:
        value = one_labels.get(name, "")
        if value:
            out[name] = value
        else:
            out.pop(name, None)
    return out
