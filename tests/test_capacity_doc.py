"""docs/scaling.md shows the capacity model's figures as bench/capacity.py computes them."""

from __future__ import annotations

from bench.capacity import DOC, render


def test_the_documented_model_is_the_modules() -> None:
    """A change to the model's figures must regenerate the page: python -m bench capacity
    --write."""
    assert render() in DOC.read_text()
