"""Alert fingerprints: a stable identity for a label set, as Alertmanager has one.

The fingerprint is the first 16 bytes (32 hex characters) of SHA-256 over the labels sorted by
name, each written as ``name \\xff value \\xff``; the separator cannot appear in valid UTF-8
text, so ``{a="b\\xffc"}`` and ``{a="b", c=""}`` cannot collide by concatenation. Empty label
values count as absent (Prometheus treats them so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_SEP = b"\xff"


def fingerprint(labels: Mapping[str, object]) -> str:
    """32 hex characters identifying ``labels`` (``alertname`` included by the caller)."""
    digest = hashlib.sha256()
    for name in sorted(labels):
        value = "" if labels[name] is None else str(labels[name])
        if value == "":
            continue
        digest.update(name.encode())
        digest.update(_SEP)
        digest.update(value.encode())
        digest.update(_SEP)
    return digest.hexdigest()[:32]
