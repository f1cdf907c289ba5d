"""How small can the log store's lines get? Each column of the generator's lines as text, and
its messages split into shapes and parameters, through strong general compressors.

Workload: ``--lines`` lines of the log benchmarks' generator (``bench/_logs_data.py``) over
24 h, the same seed as ``logs_store``. Each column is written as one text file (one value a
line, the whole corpus) and compressed by the ``zstd`` command at level 19 with a long window
and by ``xz -9e``; the figure is compressed bytes / lines. No store: this is the floor a store
could approach with those compressors, not what DuckDB's own encodings reach (see
``logs_columns``).

Messages are also split, exactly and reversibly, into a shape (the line with each run of
digits and hex letters that holds a digit replaced by a marker) and its parameters, to
estimate what a shape-dictionary format would store: the shape's number per line (at its
empirical entropy, the least any coding of it takes), the dictionary of distinct shapes, and
the parameters row by row or column by column (one column per shape and position).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]

from bench import Figure, machine
from bench._logs_data import generate
from bench.logs_columns import column_bytes

T0 = 1_717_372_800 * 1_000_000_000
DAY = 24 * 3600 * 1_000_000_000
# The split as DuckDB would store it: one file per column (bench/logs_columns.py's method).
SPLIT_SCHEMA = """(
    message VARCHAR NOT NULL USING COMPRESSION zstd,
    shape UINTEGER NOT NULL,
    params VARCHAR NOT NULL USING COMPRESSION zstd,
    params_auto VARCHAR NOT NULL
)"""
PARAM = re.compile(r"[0-9a-f]*[0-9][0-9a-f]*")
COMPRESSORS = {"zstd -19": ["zstd", "-19", "--long=27", "-q", "-c"], "xz -9e": ["xz", "-9e", "-c"]}


def compressed(path: Path, command: list[str]) -> int:
    with path.open("rb") as src:
        out = subprocess.run([*command], stdin=src, capture_output=True, check=True)
    return len(out.stdout)


def columns(lines: int) -> dict[str, list[str]]:
    cols: dict[str, list[str]] = {
        k: []
        for k in (
            "message",
            "ts_ns",
            "ts_ns delta",
            "observed_ns",
            "observed_ns - ts_ns",
            "id",
            "trace+span",
            "service",
            "severity",
            "agent",
            "labels",
        )
    }
    last = T0
    for chunk in generate(lines, tenant_id=uuid.uuid4(), start_ns=T0, end_ns=T0 + DAY):
        for r in chunk:
            cols["message"].append(r.message)
            cols["ts_ns"].append(str(r.ts_ns))
            cols["ts_ns delta"].append(str(r.ts_ns - last))
            last = r.ts_ns
            cols["observed_ns"].append(str(r.observed_ns or r.ts_ns))
            cols["observed_ns - ts_ns"].append(str((r.observed_ns or r.ts_ns) - r.ts_ns))
            cols["id"].append(r.id)
            cols["trace+span"].append(r.trace_id + r.span_id)
            cols["service"].append(r.service)
            cols["severity"].append(str(r.severity))
            cols["agent"].append(r.agent)
            cols["labels"].append(",".join(f"{k}={v}" for k, v in sorted(r.labels.items())))
    return cols


def entropy_bits(counts: Counter[str], total: int) -> float:
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def run(lines: int, tmp: Path) -> dict[str, float]:
    print(f"log column floor: {lines:,} lines over 24 h; {machine()}")
    cols = columns(lines)
    shapes: list[str] = []
    rows: list[str] = []
    by_slot: dict[tuple[str, int], list[str]] = {}
    for message in cols["message"]:
        params = PARAM.findall(message)
        shape = PARAM.sub("\x00", message)
        shapes.append(shape)
        rows.append("\x01".join(params))
        for slot, value in enumerate(params):
            by_slot.setdefault((shape, slot), []).append(value)
    counts = Counter(shapes)
    h = entropy_bits(counts, lines)
    texts = dict(cols)
    texts["shape dictionary (distinct shapes)"] = list(counts)
    texts["shape number per line (as text)"] = [str(i) for i in _numbers(shapes)]
    texts["parameters, row by row"] = rows
    texts["parameters, column per shape and position"] = [
        v for key in sorted(by_slot) for v in by_slot[key]
    ]
    out: dict[str, float] = {}
    print(f"  {'column':45} {'raw':>8} " + " ".join(f"{n:>9}" for n in COMPRESSORS))
    for name, values in texts.items():
        path = tmp / "col.txt"
        path.write_text("\n".join(values) + "\n")
        raw = path.stat().st_size / lines
        sizes = {n: compressed(path, c) / lines for n, c in COMPRESSORS.items()}
        out[name] = min(sizes.values())
        print(
            f"  {name:45} {raw:8.2f} " + " ".join(f"{sizes[n]:9.2f}" for n in COMPRESSORS),
            flush=True,
        )
    numbers = _numbers(shapes)
    table = pa.table(
        {"message": cols["message"], "shape": numbers, "params": rows, "params_auto": rows}
    )
    duck = column_bytes(tmp, [table], SPLIT_SCHEMA, "message, shape, params, params_auto")
    dictionary = pa.table({"message": list(counts), "shape": [0] * len(counts)})
    dictionary = pa.table(
        {k: dictionary[k] for k in ("message", "shape")}
        | {"params": list(counts), "params_auto": list(counts)}
    )
    duck["shape dictionary"] = column_bytes(
        tmp, [dictionary], SPLIT_SCHEMA, "message, shape, params, params_auto"
    )["params"]
    for name, size in duck.items():
        out[f"duckdb {name}"] = size / lines
        print(f"  DuckDB, one column alone: {name:30} {size / lines:8.2f}", flush=True)
    print(
        f"  {len(counts):,} distinct shapes in {lines:,} lines; the shape number's empirical "
        f"entropy {h:.2f} bits = {h / 8:.2f} B/line; load average {os.getloadavg()[0]:.1f}"
    )
    out["shape entropy"] = h / 8
    return out


def _numbers(shapes: list[str]) -> list[int]:
    index: dict[str, int] = {}
    return [index.setdefault(s, len(index)) for s in shapes]


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench logs_floor")
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        out = run(args.lines, Path(tmp))
    others = (
        min(out["ts_ns"], out["ts_ns delta"])
        + min(out["observed_ns"], out["observed_ns - ts_ns"])
        + sum(out[k] for k in ("id", "trace+span", "service", "severity", "agent", "labels"))
    )
    split = (
        out["shape entropy"]
        + out["shape dictionary (distinct shapes)"]
        + min(out["parameters, row by row"], out["parameters, column per shape and position"])
    )
    print(
        f"  every column but the message: {others:.2f} B/line; so 40 B/line leaves "
        f"{40 - others:.2f} for the message; message as one text {out['message']:.2f}, "
        f"as shapes + parameters {split:.2f}"
    )
    duck = out["duckdb shape"] + out["duckdb shape dictionary"] + out["duckdb params"]
    print(
        f"  in DuckDB (zstd, its own level): message {out['duckdb message']:.2f} B/line, "
        f"split {duck:.2f} (shape {out['duckdb shape']:.2f} + dictionary "
        f"{out['duckdb shape dictionary']:.2f} + parameters {out['duckdb params']:.2f}; "
        f"parameters with DuckDB's own choice {out['duckdb params_auto']:.2f})"
    )
    figures = [
        Figure(
            "message column, best of zstd -19 / xz -9e",
            out["message"],
            "bytes",
            40,
            lower_is_better=True,
        ),
        Figure(
            "every column, best compressor, message whole",
            others + out["message"],
            "bytes",
            40,
            lower_is_better=True,
        ),
        Figure(
            "every column, best compressor, message split",
            others + split,
            "bytes",
            40,
            lower_is_better=True,
        ),
    ]
    for figure in figures:
        print(figure.line())
    return figures
