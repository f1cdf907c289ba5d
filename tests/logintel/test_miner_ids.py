"""Lines whose only variation is ids (hex request ids, UUIDs, span ids, numbers): the miner's
caches (shape, masked line, run of fields) give what masking each line gives."""

from __future__ import annotations

import random
import uuid

from agentdeck.logintel.mining import TemplateMiner
from agentdeck.logintel.mining.masking import ZEROS

MESSAGES = [
    "request done request_id={hex8} span={hex4} status={num}",
    "(request_id={hex8}) deadlock detected while updating row {num}, rolled back",
    "session {uuid} opened for user u-{num} from 10.0.{small}.{small}",
    "cache deadbeef flushed {num} entries request_id={hex8}",
    "cafe order {hex8} paid total={num}.{small} EUR",
    "webhook {hex8} failed after {small} attempts trace={uuid}",
    "worker-{small} picked job {hex4}{hex4} from queue jobs.{word}",
]
WORDS = ["orders", "users", "payments", "sessions"]


def line_of(rnd: random.Random, k: int) -> str:
    return MESSAGES[k].format(
        hex8=f"{rnd.getrandbits(32):08x}",
        hex4=f"{rnd.getrandbits(16):04x}",
        uuid=uuid.UUID(int=rnd.getrandbits(128)),
        num=rnd.randrange(10 ** rnd.randint(1, 6)),
        small=rnd.randrange(1, 40),
        word=rnd.choice(WORDS),
    )


def stream(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [line_of(rnd, rnd.randrange(len(MESSAGES))) for _ in range(n)]


def through_masking(lines: list[str], **kwargs: int) -> tuple[TemplateMiner, list[int]]:
    """Every line masked and looked up by its masked form (no shape or run cache asked)."""
    miner = TemplateMiner(**kwargs)
    ids = [
        miner._add(line, line.encode("utf-8", "surrogatepass").translate(ZEROS), None)
        for line in lines
    ]
    return miner, ids


def test_batches_of_id_lines_get_what_masking_each_line_gets() -> None:
    lines = stream(6_000, seed=3)
    ref, want = through_masking(lines)
    batched = TemplateMiner()
    got = [cid for k in range(0, len(lines), 500) for cid in batched.add_many(lines[k : k + 500])]
    assert [batched.resolve(c) for c in got] == [ref.resolve(c) for c in want]
    assert batched.templates() == ref.templates()
    one = TemplateMiner()
    assert [one.add(line) for line in lines] == got


def test_small_caches_forget_the_oldest_entries_and_answer_alike() -> None:
    lines = stream(4_000, seed=8)
    ref, want = through_masking(lines, cache_size=50)
    miner = TemplateMiner(cache_size=50)
    got = [cid for k in range(0, len(lines), 200) for cid in miner.add_many(lines[k : k + 200])]
    assert [miner.resolve(c) for c in got] == [ref.resolve(c) for c in want]
    assert miner.templates() == ref.templates()
    assert max(len(miner._by_shape), len(miner._by_mask), len(miner._by_kept)) <= 50
    assert len(miner._runs) <= 50 and len(miner._tails) <= 50
    # the shape cache keeps the newest shapes: the last line's is there, the first line's not
    form = lines[-1].encode().translate(ZEROS)
    assert form in miner._by_shape
    assert lines[0].encode().translate(ZEROS) not in miner._by_shape


def test_hex_looking_words_of_a_message_stay_words() -> None:
    miner = TemplateMiner()
    rnd = random.Random(5)
    lines = [line_of(rnd, k) for k in (3, 4) for _ in range(200)]
    ids = miner.add_many(lines)
    assert miner.template(ids[0]) == "cache deadbeef flushed <*> entries request_id=<*>"
    assert miner.template(ids[-1]) == "cafe order <*> paid total=<*> EUR"
    # a different constant of the same id form is another message
    other = miner.add_many(["cache deadbee5 flushed 12 entries request_id=00c0ffee"])[0]
    assert other != ids[0]
    assert miner.template(other) == "cache deadbee5 flushed <*> entries request_id=<*>"
