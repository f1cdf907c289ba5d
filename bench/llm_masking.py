"""PII masking before a batch goes to the LLM: a 1,000-line batch and long pathological lines.

``python -m bench llm_masking``. The reference is one pass of a single e-mail regular
expression over the same text (what the most naive masker would do), so the ratio says how many
such passes the whole masking costs.
"""

from __future__ import annotations

import re
import time

from agentdeck.logintel.llm.pii import Masker
from bench import Figure, machine

BATCH_TARGET_MS = 200.0  # beside an LLM call of seconds, negligible
LINE_TARGET_MS = 200.0
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def batch_lines() -> list[str]:
    return [
        f"2026-12-07T10:30:{i % 60:02d}Z auth ERROR login failed for user{i}@example.com "
        f"from 10.0.{i % 256}.{i % 100} req=550e8400-e29b-41d4-a716-446655440000 "
        f"sha=da39a3ee5e6b4b0d3255bfef95601890afd80709 took {i} ms v1.2.{i % 9}"
        for i in range(1000)
    ]


PATHOLOGICAL = {
    "dots": "a." * 32_000,
    "hex and colons": "ab:" * 21_000,
    "5,000 addresses": " ".join(f"10.0.{i % 250}.{i % 200}" for i in range(5000)),
    "digit groups": "4111 " * 12_000,
    "at signs": "a@" * 32_000,
}


def _best_ms(work: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main(argv: list[str]) -> list[Figure]:
    repeat = int(argv[0]) if argv else 5
    print(machine())
    lines = batch_lines()

    def mask_batch() -> None:
        masker = Masker()
        for line in lines:
            masker.mask(line)

    def reference_batch() -> None:
        for line in lines:
            _EMAIL.findall(line)

    figures = [
        Figure(
            "PII masking, 1,000-line batch (ms)",
            _best_ms(mask_batch, repeat),
            "ms",
            target=BATCH_TARGET_MS,
            reference=_best_ms(reference_batch, repeat),
            lower_is_better=True,
        )
    ]
    for name, text in PATHOLOGICAL.items():
        figures.append(
            Figure(
                f"PII masking, 64 KB line of {name} (ms)",
                _best_ms(lambda text=text: Masker().mask(text), repeat),
                "ms",
                target=LINE_TARGET_MS,
                reference=_best_ms(lambda text=text: _EMAIL.findall(text), repeat),
                lower_is_better=True,
            )
        )
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
