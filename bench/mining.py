"""Template mining: accuracy on the labelled Loghub samples and throughput, beside Drain3.

**Corpora.** The 16 public 2,000-line Loghub samples with corrected ground-truth templates
(Android, Apache, BGL, HDFS, HPC, Hadoop, HealthApp, Linux, Mac, OpenSSH, OpenStack,
Proxifier, Spark, Thunderbird, Windows, Zookeeper), as shipped by LogPAI's ``logparser``
repository under ``data/loghub_2k_corrected/<Name>/<Name>_2k.log_structured_corrected.csv``.
They are under a research licence and never committed here: put them in a directory (one
folder per dataset, or the CSV files side by side) and pass it with ``--corpora DIR`` (or set
``AGENTDECK_BENCH_LOGHUB``). Without it the benchmark says so and measures nothing. Each CSV
holds the message without its header (``Content``) and its ground-truth ``EventTemplate``.

**Protocol.** Per dataset, a fresh miner reads the ``Content`` lines in file order, one at a
time (online); each line is labelled with the cluster it was given, resolved through later
merges, and with that cluster's final template after the last line. The same lines go through
Drain3 (``drain3.TemplateMiner`` with its default configuration: similarity 0.4, depth 4, no
masking) the same way. One configuration for every dataset: the miner's defaults.

* **GA** (grouping accuracy): a line counts when the set of lines in its predicted cluster
  equals the set of lines sharing its ground-truth template.
* **PA** (parsing accuracy): a line counts when its predicted template equals its ground-truth
  template after both are normalised with the template-correction rules of Khan et al.
  (ICSE 2022), the ones the Loghub-2.0 benchmark applies (``normalise_template`` below):
  whitespace runs collapsed, digit-only tokens and tokens containing ``<*>`` made ``<*>``
  (tokens split on whitespace and ``,!;:=|"'[](){}.-+@#$%&``), then adjacent wildcards
  joined (``<*><*>``, ``<*>.<*>``, ``<*>:<*>``, ``<*>/<*>``, ``<*>@<*>``, ``<*>#<*>``) and
  quoted or hashed wildcards unwrapped.
* **lines/s**: the CPU time of the ``add`` calls alone (process CPU time: the machine may be
  shared), best of ``--repeat`` runs with the two parsers alternating, on one core, over all
  32,000 lines (a fresh miner per dataset, as for accuracy, and a cold start: our
  process-wide caches are emptied first). Shown beside it, the same lines a second time
  through the same miner (every template known: the steady state of a long stream).

**Long stream** (``--stream N``, no corpora needed): ``N`` lines of the log benchmark's
generator (``bench/_logs_data.py``, ``shapes="call-site"``: request ids, span ids and
numbers new on every line) through one miner in 1,000-line batches (``add_many``, as ingest
calls it), the last 40 % timed (process CPU a line): by then the miner's bounded caches are
full and forget an entry for each one they learn, the steady state of a long-running stream.

Targets: average GA >= 0.93, average PA >= 0.60, >= 100,000 lines/s and >= 1x Drain3.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench import Figure, machine

if TYPE_CHECKING:
    from bench._logs_data import Shapes

DATASETS = (
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HPC",
    "Hadoop",
    "HealthApp",
    "Linux",
    "Mac",
    "OpenSSH",
    "OpenStack",
    "Proxifier",
    "Spark",
    "Thunderbird",
    "Windows",
    "Zookeeper",
)
GA_TARGET = 0.93
PA_TARGET = 0.60
RATE_TARGET = 100_000.0
ENV = "AGENTDECK_BENCH_LOGHUB"


@dataclass
class Dataset:
    name: str
    lines: list[str]
    templates: list[str]


@dataclass
class Parse:
    """One parser's result on one dataset: a cluster label and a template per line."""

    labels: list[int]
    templates: list[str]
    seconds: float  # the first pass (a fresh miner)
    again: float  # the same lines a second time (templates known)


# --- corpora ------------------------------------------------------------------------------


def load(directory: Path, only: Sequence[str] = ()) -> list[Dataset]:
    """Every ``*_2k.log_structured_corrected.csv`` found under ``directory``, by name."""
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*_structured_corrected.csv")):
        found[path.name.split("_", 1)[0]] = path
    out = []
    for name in DATASETS:
        if name not in found or (only and name not in only):
            continue
        with found[name].open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        out.append(Dataset(name, [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]))
    return out


# --- metrics ------------------------------------------------------------------------------

_SPLIT = re.compile(r"""(\s|,|!|;|:|=|\||"|'|\[|\]|\(|\)|\{|\}|\.|-|\+|@|#|\$|%|&)""")
_DIGITS = re.compile(r"\d+")
_WITH_WILDCARD = re.compile(r"[^\s/]*<\*>[^\s/]*")
_JOINS = ("<*>:<*>", "<*>#<*>", "<*>/<*>", "<*>@<*>", "<*>.<*>")


def _until_fixed(text: str, old: str, new: str) -> str:
    while old in text:
        text = text.replace(old, new)
    return text


def normalise_template(template: str) -> str:
    """Khan et al.'s template corrections (DS, DG, WV, DV, CV), as Loghub-2.0 applies them."""
    template = " ".join(template.split())
    tokens = []
    for token in _SPLIT.split(template):
        digits = _DIGITS.fullmatch(token)
        if digits or (_WITH_WILDCARD.fullmatch(token) and token != "<*>/<*>"):
            token = "<*>"
        tokens.append(token)
    template = "".join(tokens)
    template = _until_fixed(template, "<*>.<*>", "<*>")
    template = _until_fixed(template, "<*><*>", "<*>")
    template = _until_fixed(template, " #<*># ", " <*> ")
    template = _until_fixed(template, " #<*> ", " <*> ")
    for join in _JOINS:
        template = _until_fixed(template, join, "<*>")
    template = _until_fixed(template, ' "<*>" ', " <*> ")
    template = _until_fixed(template, " '<*>' ", " <*> ")
    return _until_fixed(template, "<*><*>", "<*>")


def grouping_accuracy(truth: Sequence[str], labels: Sequence[int]) -> float:
    """Share of lines whose predicted cluster holds exactly their ground-truth group."""
    by_truth: dict[str, list[int]] = defaultdict(list)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, (t, label) in enumerate(zip(truth, labels, strict=True)):
        by_truth[t].append(i)
        by_label[label].append(i)
    correct = 0
    for members in by_truth.values():
        cluster = by_label[labels[members[0]]]
        if cluster == members:
            correct += len(members)
    return correct / len(truth)


def parsing_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of lines whose normalised template equals the normalised ground truth."""
    cache: dict[str, str] = {}

    def norm(t: str) -> str:
        if t not in cache:
            cache[t] = normalise_template(t)
        return cache[t]

    hits = sum(norm(t) == norm(p) for t, p in zip(truth, predicted, strict=True))
    return hits / len(truth)


# --- the parsers --------------------------------------------------------------------------


def parse_ours(lines: Sequence[str]) -> Parse:
    from agentdeck.logintel.mining import TemplateMiner, clear_caches

    clear_caches()  # a cold start: the token caches are shared by every miner of a process
    miner = TemplateMiner()
    add = miner.add
    start = time.process_time()
    ids = [add(line) for line in lines]
    seconds = time.process_time() - start
    labels = [miner.resolve(i) for i in ids]
    rendered = {label: miner.template(label) or "" for label in set(labels)}
    start = time.process_time()
    for line in lines:
        add(line)
    again = time.process_time() - start
    return Parse(labels, [rendered[label] for label in labels], seconds, again)


def parse_drain3(lines: Sequence[str]) -> Parse:
    import logging

    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.WARNING)
    miner = TemplateMiner(config=TemplateMinerConfig())  # defaults, no drain3.ini read
    add = miner.add_log_message
    start = time.process_time()
    ids = [add(line)["cluster_id"] for line in lines]
    seconds = time.process_time() - start
    final = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    start = time.process_time()
    for line in lines:
        add(line)
    again = time.process_time() - start
    return Parse(ids, [final[i] for i in ids], seconds, again)


PARSERS: dict[str, Callable[[Sequence[str]], Parse]] = {
    "ours": parse_ours,
    "drain3": parse_drain3,
}


# --- the run ------------------------------------------------------------------------------


@dataclass
class Row:
    dataset: str
    ga: dict[str, float]
    pa: dict[str, float]
    seconds: dict[str, float]
    again: dict[str, float]
    lines: int


def measure(datasets: Sequence[Dataset], repeat: int) -> list[Row]:
    """Accuracy from the first run; times the best of ``repeat`` runs, the parsers alternating."""
    rows = []
    for ds in datasets:
        ga, pa, seconds, again = {}, {}, {}, {}
        for name, parse in PARSERS.items():
            result = parse(ds.lines)
            ga[name] = grouping_accuracy(ds.templates, result.labels)
            pa[name] = parsing_accuracy(ds.templates, result.templates)
            seconds[name], again[name] = result.seconds, result.again
        for _ in range(repeat - 1):
            for name, parse in PARSERS.items():
                result = parse(ds.lines)
                seconds[name] = min(seconds[name], result.seconds)
                again[name] = min(again[name], result.again)
        rows.append(Row(ds.name, ga, pa, seconds, again, len(ds.lines)))
    return rows


def report(rows: Sequence[Row]) -> list[Figure]:
    print(
        f"\n{'dataset':<12} {'GA ours':>8} {'drain3':>7} {'PA ours':>8} {'drain3':>7}"
        f" {'lines/s ours':>13} {'drain3':>9} {'ratio':>6}"
    )
    for r in rows:
        ours, theirs = r.lines / r.seconds["ours"], r.lines / r.seconds["drain3"]
        print(
            f"{r.dataset:<12} {r.ga['ours']:>8.3f} {r.ga['drain3']:>7.3f} {r.pa['ours']:>8.3f}"
            f" {r.pa['drain3']:>7.3f} {ours:>13,.0f} {theirs:>9,.0f} {ours / theirs:>6.2f}"
        )
    avg = {
        metric: {name: statistics.mean(getattr(r, metric)[name] for r in rows) for name in PARSERS}
        for metric in ("ga", "pa")
    }
    lines = sum(r.lines for r in rows)
    rate = {name: lines / sum(r.seconds[name] for r in rows) for name in PARSERS}
    again = {name: lines / sum(r.again[name] for r in rows) for name in PARSERS}
    print(
        f"{'average':<12} {avg['ga']['ours']:>8.3f} {avg['ga']['drain3']:>7.3f}"
        f" {avg['pa']['ours']:>8.3f} {avg['pa']['drain3']:>7.3f} {rate['ours']:>13,.0f}"
        f" {rate['drain3']:>9,.0f} {rate['ours'] / rate['drain3']:>6.2f}"
    )
    print(
        f"{'target':<12} {GA_TARGET:>8.2f} {'':>7} {PA_TARGET:>8.2f} {'':>7}"
        f" {RATE_TARGET:>13,.0f} {'':>9} {1.0:>6.2f}"
    )
    print(
        f"{'2nd pass':<12} {'':>8} {'':>7} {'':>8} {'':>7} {again['ours']:>13,.0f}"
        f" {again['drain3']:>9,.0f} {again['ours'] / again['drain3']:>6.2f}"
        "   (the same lines again, templates known)\n"
    )
    return [
        Figure(
            "mining: grouping accuracy, average of 16 (x1000)",
            1000 * avg["ga"]["ours"],
            "‰",
            1000 * GA_TARGET,
            1000 * avg["ga"]["drain3"],
        ),
        Figure(
            "mining: parsing accuracy, average of 16 (x1000)",
            1000 * avg["pa"]["ours"],
            "‰",
            1000 * PA_TARGET,
            1000 * avg["pa"]["drain3"],
        ),
        Figure("mining: lines/s, one core", rate["ours"], "lines/s", RATE_TARGET, rate["drain3"]),
        Figure(
            "mining: lines/s, second pass (templates known)",
            again["ours"],
            "lines/s",
            None,
            again["drain3"],
        ),
    ]


def stream_cost(count: int, shapes: Shapes = "call-site") -> float:
    """CPU seconds a line of ``add_many`` over the last 40 % of ``count`` generated lines."""
    from agentdeck.logintel.mining import TemplateMiner
    from bench._logs_data import generate  # numpy: only for this figure

    chunks = generate(count, tenant_id=uuid.uuid4(), start_ns=0, end_ns=10**12, shapes=shapes)
    lines = [r.message for chunk in chunks for r in chunk]
    miner = TemplateMiner(max_templates=2_000)
    warm = count - count * 2 // 5
    for k in range(0, warm, 1_000):
        miner.add_many(lines[k : min(k + 1_000, warm)])
    start = time.process_time()
    for k in range(warm, count, 1_000):
        miner.add_many(lines[k : k + 1_000])
    return (time.process_time() - start) / (count - warm)


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench mining")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=os.environ.get(ENV),
        help=f"directory holding the Loghub *_2k.log_structured_corrected.csv files (or ${ENV})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per parser (best)")
    parser.add_argument("--only", nargs="*", default=(), help="dataset names (default: all)")
    parser.add_argument(
        "--stream", type=int, default=0, help="also a long generated stream of N lines (0: no)"
    )
    args = parser.parse_args(argv)
    figures = []
    if args.stream > 0:
        print(machine(), f"load average {os.getloadavg()}")
        cost = stream_cost(args.stream)
        print(f"long stream: {args.stream:,} generated lines, {cost * 1e6:.1f} µs a line")
        figures.append(
            Figure(
                f"mining: µs a line, {args.stream:,}-line stream",
                cost * 1e6,
                "µs",
                lower_is_better=True,
            )
        )
    if args.corpora is None:
        print(
            "mining: no corpora given (--corpora DIR or $" + ENV + "); skipped. The Loghub 2k"
            " samples with corrected templates are in LogPAI's logparser repository,"
            " data/loghub_2k_corrected."
        )
        return figures
    datasets = load(Path(args.corpora), args.only)
    if not datasets:
        print(f"mining: no *_structured_corrected.csv under {args.corpora}; skipped.")
        return figures
    print(machine(), f"load average {os.getloadavg()}")
    print(f"{len(datasets)} datasets, {sum(len(d.lines) for d in datasets):,} lines")
    figures += report(measure(datasets, max(1, args.repeat)))
    for figure in figures:
        print(figure.line())
    return figures


def errors(dataset: Dataset, parse: Parse, limit: int = 15) -> None:
    """Debugging aid: the largest ground-truth groups the parse got wrong."""
    by_truth: dict[str, list[int]] = defaultdict(list)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, (t, label) in enumerate(zip(dataset.templates, parse.labels, strict=True)):
        by_truth[t].append(i)
        by_label[label].append(i)
    wrong = []
    for t, members in by_truth.items():
        labels = Counter(parse.labels[i] for i in members)
        cluster = by_label[parse.labels[members[0]]]
        if cluster != members:
            wrong.append((len(members), t, labels))
    wrong.sort(key=lambda w: -w[0])
    for size, t, labels in wrong[:limit]:
        print(f"  {size:>5}  GT {t!r}")
        for label, n in labels.most_common(3):
            others = Counter(
                dataset.templates[i] for i in by_label[label] if dataset.templates[i] != t
            )
            print(f"         {n:>5} in {label}: {parse.templates[by_label[label][0]]!r}")
            for o, m in others.most_common(2):
                print(f"               + {m} of GT {o!r}")
