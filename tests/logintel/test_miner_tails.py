"""The miner on lines that end in context fields (``key=value`` runs whose keys vary), on long
lines and on many shapes, and the bound on the templates it looks at per line."""

from __future__ import annotations

import random

from agentdeck.logintel.mining import TemplateMiner
from agentdeck.logintel.mining.index import MAX_SCAN

CONTEXT = (
    "caller=handler.go:{n}",
    "version=1.{d}.0",
    "pod=api-{h}",
    "thread=worker-{d}",
    "attempt={d}",
    "elapsed={n}ms",
    "tenant=t-{d}",
    "span={h}",
)

# (message with {n} numbers, {h} hex ids, {w} words from a few; the template it has by hand)
SHAPES = [
    (
        "order {n} created for customer {n}: {d} items, region {w}",
        "order <*> created for customer <*>: <*> items, region <*> <*>",
    ),
    (
        "published {d} events to topic agent.{w}.changed partition {d} offset {n}",
        "published <*> events to topic <*> partition <*> offset <*> <*>",
    ),
    (
        "llm completion model={w} prompt_tokens={n} completion_tokens={n} cache={b}",
        "llm completion model=<*> prompt_tokens=<*> completion_tokens=<*> cache=<*> <*>",
    ),
    (
        "upstream {w} responded slowly ({n}ms), retrying attempt {d}/3",
        "upstream <*> responded slowly (<*>), retrying attempt <*> <*>",
    ),
    (
        "slow query on {w}: {n}ms (threshold 250ms) plan=seq_scan rows={n}",
        "slow query on <*>: <*> (threshold <*>) plan=seq_scan rows=<*> <*>",
    ),
]
WORDS = ("orders", "users", "payments", "sessions", "carts", "agents")


def fill(text: str, rnd: random.Random) -> str:
    out = []
    for part in text.split("{"):
        if "}" not in part:
            out.append(part)
            continue
        kind, rest = part.split("}", 1)
        value = {
            "n": lambda: str(rnd.randint(10, 99_999)),
            "d": lambda: str(rnd.randint(1, 9)),
            "h": lambda: f"{rnd.getrandbits(32):08x}",
            "w": lambda: rnd.choice(WORDS),
            "b": lambda: rnd.choice(("true", "false")),
        }[kind]()
        out.append(value + rest)
    return "".join(out)


def line_of(shape: int, rnd: random.Random, fields: int | None = None) -> str:
    """A message of ``SHAPES[shape]`` and a run of context fields: a random start in
    ``CONTEXT`` and a random count (maybe none), as services add them."""
    message = fill(SHAPES[shape][0], rnd)
    count = rnd.randint(0, len(CONTEXT)) if fields is None else fields
    first = rnd.randrange(len(CONTEXT))
    extra = [fill(CONTEXT[(first + k) % len(CONTEXT)], rnd) for k in range(count)]
    return " ".join([message, *extra])


def corpus(n: int, seed: int = 3) -> tuple[list[str], list[int]]:
    rnd = random.Random(seed)
    labels = [rnd.randrange(len(SHAPES)) for _ in range(n)]
    return [line_of(s, rnd) for s in labels], labels


def groups(labels: list[int], ids: list[int]) -> dict[int, set[int]]:
    """Per ground-truth label, the template ids its lines got."""
    out: dict[int, set[int]] = {}
    for label, cid in zip(labels, ids, strict=True):
        out.setdefault(label, set()).add(cid)
    return out


def test_varying_context_fields_make_one_template_per_message() -> None:
    lines, labels = corpus(3_000)
    miner = TemplateMiner()
    ids = [miner.resolve(miner.add(line)) for line in lines]
    ids = [miner.resolve(i) for i in ids]
    found = groups(labels, ids)
    # most lines of one message share one template (the first few, before the runs were seen
    # to vary, may have founded their own, later merged or left behind)
    for label in found:
        members = [i for i, lab in zip(ids, labels, strict=True) if lab == label]
        top = max(set(members), key=members.count)
        assert members.count(top) >= 0.97 * len(members), SHAPES[label][0]
        assert miner.template(top) == SHAPES[label][1]
        assert all(top not in other for lab, other in found.items() if lab != label)
    assert len(miner) <= 3 * len(SHAPES)


def test_a_run_with_the_same_keys_stays_in_the_template() -> None:
    base = "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.{}"
    lines = [base.format(i) for i in range(20)] + [base.format(i) + " user=root" for i in range(5)]
    miner = TemplateMiner()
    ids = [miner.resolve(miner.add(line)) for line in lines]
    ids = [miner.resolve(i) for i in ids]
    assert len(set(ids[:20])) == 1 and len(set(ids[20:])) == 1 and ids[0] != ids[20]
    assert (
        miner.template(ids[0])
        == "authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>"
    )
    assert miner.template(ids[20]) == (
        "authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=root"
    )


def test_a_line_without_context_fields_joins_its_message_template() -> None:
    rnd = random.Random(5)
    miner = TemplateMiner()
    for _ in range(40):
        miner.add(line_of(0, rnd, fields=rnd.randint(1, 5)))
    bare = miner.add(line_of(0, rnd, fields=0))
    with_fields = miner.add(line_of(0, rnd, fields=3))
    assert miner.resolve(bare) == miner.resolve(with_fields)


def test_template_ids_of_context_field_templates_survive_a_restart() -> None:
    lines, _ = corpus(600, seed=8)
    miner = TemplateMiner()
    for line in lines:
        miner.add(line)
    restored = TemplateMiner.from_state(miner.to_state())
    rnd = random.Random(99)
    for shape in range(len(SHAPES)):
        line = line_of(shape, rnd, fields=4)
        assert restored.resolve(restored.add(line)) == miner.resolve(miner.add(line))
    assert [t.template for t in restored.templates()] == [t.template for t in miner.templates()]


def test_long_lines_with_context_fields_group_by_message() -> None:
    rnd = random.Random(11)
    body = " ".join(f"step{k}" for k in range(300))  # longer than the tokens looked at
    lines = [f"pipeline done {body} {line_of(1, rnd)}" for _ in range(30)]
    lines += [line_of(1, rnd) for _ in range(30)]
    miner = TemplateMiner()
    ids = [miner.add(line) for line in lines]
    ids = [miner.resolve(i) for i in ids]
    assert len(set(ids[:30])) == 1
    assert set(ids[:30]).isdisjoint(ids[30:])


def test_many_message_shapes_each_with_context_fields() -> None:
    rnd = random.Random(4)
    # 30 messages that differ in two words (one differing word would be a variable)
    verbs = [f"{a}{b}" for a in ("load", "save", "sync", "scan", "push") for b in "abcdef"]
    nouns = [f"{b}{a}" for a in ("file", "row", "blob", "page", "note") for b in "uvwxyz"]
    labels = [rnd.randrange(len(verbs)) for _ in range(4_000)]
    lines = []
    for label in labels:
        extra = [fill(CONTEXT[(label + k) % len(CONTEXT)], rnd) for k in range(rnd.randint(0, 6))]
        message = f"{verbs[label]} finished {nouns[label]} item {rnd.randint(1, 999)}"
        lines.append(" ".join([message, *extra]))
    miner = TemplateMiner()
    ids = [miner.add(line) for line in lines]
    ids = [miner.resolve(i) for i in ids]
    found = groups(labels, ids)
    # every shape's lines end in one template, no template mixes two shapes
    owner: dict[int, int] = {}
    for label, cids in found.items():
        members = [i for i, lab in zip(ids, labels, strict=True) if lab == label]
        top = max(set(members), key=members.count)
        assert members.count(top) >= 0.95 * len(members)
        for cid in cids:
            assert owner.setdefault(cid, label) == label


def test_the_templates_looked_at_per_line_are_bounded() -> None:
    """Ever new shapes that share their first words: a line the caches do not know looks at a
    bounded number of templates, however many there are (not a timing test)."""
    rnd = random.Random(5)
    vocab = ["".join(rnd.choice("abcdefghijklmnop") for _ in range(6)) for _ in range(3_000)]
    miner = TemplateMiner(max_templates=50_000)
    per_line = []
    for i in range(6_000):
        w = rnd.sample(vocab, 4)
        before = miner.scanned
        miner.add(f"job {i} {w[0]} {w[1]} {w[2]} stage {w[3]} done")
        per_line.append(miner.scanned - before)
    assert len(miner) > 5_000  # the shapes did not merge: every line looked among them
    # four lookups at most (match, values, families are capped per position, covered)
    assert max(per_line) <= 4 * MAX_SCAN + 8 * MAX_SCAN
    late = sum(per_line[-1_000:]) / 1_000
    assert late <= 3 * MAX_SCAN
