"""``TemplateMiner.add_many`` (the ingest path): the same templates and ids as ``add`` one line
at a time, while a known message's run of context fields is not masked."""

from __future__ import annotations

import random

from agentdeck.logintel.mining import TemplateMiner, masking
from tests.logintel.test_miner_tails import SHAPES, corpus, fill, line_of

# runs and messages the run lookup must leave to the full path, or get right on raw text
TRICKY = [
    "{m} true=1 attempt=2",  # a boolean key masks to <*>=
    "{m} None.level=2 attempt=2",
    "{m} aa-bb-cc-dd-ee-ff=3 attempt=2",  # a MAC address of letters in a key
    "{m} k8s=1 attempt=2",  # a digit in a key
    "{m}\xa0attempt=2 span=ab12cd34",  # whitespace beyond ASCII
    "{m}\x1cattempt=2\tspan=ab12cd34",
    "Jun 17 07:07:00 {m} UTC=5 attempt=2",  # a named date: masked across tokens
    "on X11: {m}",  # digits masking keeps
    "ünïcode {m}",
    "   {m}   attempt=   span=ab12cd34  ",
    "{m}",
    "",
    "{m} " + " ".join(f"f{i}=v" for i in range(300)),  # more tokens than the miner reads
    "{m} " + "x " * 300 + "attempt=2",
]


def mixed(n: int, seed: int) -> list[str]:
    lines, _ = corpus(n, seed)
    rnd = random.Random(seed)
    for i in range(0, n, 7):
        message = line_of(rnd.randrange(len(SHAPES)), rnd, fields=rnd.randint(0, 3))
        lines.insert(i, rnd.choice(TRICKY).replace("{m}", message))
    return lines


def test_a_batch_gets_what_one_line_at_a_time_gets() -> None:
    lines = mixed(4_000, seed=5)
    one = TemplateMiner()
    ids = [one.add(line) for line in lines]
    batched = TemplateMiner()
    got = [cid for k in range(0, len(lines), 250) for cid in batched.add_many(lines[k : k + 250])]
    assert got == ids
    assert batched.templates() == one.templates()
    assert batched.to_state() == one.to_state()


def test_a_known_message_is_placed_without_masking_its_fields() -> None:
    miner = TemplateMiner()
    warm, _ = corpus(2_000, seed=9)
    miner.add_many(warm)
    rnd = random.Random(11)
    message = fill(SHAPES[0][0], rnd)
    fields = "attempt=7 elapsed=987654321ms span=feedface thread=worker-7"
    (cid,) = miner.add_many([f"{message} {fields}"])
    assert miner.template(cid) == SHAPES[0][1]
    assert "elapsed=987654321ms" not in masking._tokens  # the run's values were not masked
    # the same line one at a time gets the same template
    assert miner.add(f"{message} {fields}") == cid
