"""The template miner: templates of typical lines, stable ids, eviction, state, grouping."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdeck.logintel.mining import TemplateMiner


def mine(lines: list[str], **kwargs: int) -> tuple[TemplateMiner, list[int]]:
    miner = TemplateMiner(**kwargs)
    ids = [miner.add(line) for line in lines]
    return miner, [miner.resolve(i) for i in ids]


def final_templates(lines: list[str]) -> list[str | None]:
    miner, ids = mine(lines)
    return [miner.template(i) for i in ids]


@pytest.mark.parametrize(
    ("lines", "template"),
    [
        (["Receiving block blk_5792489080791696128 src: /10.251.30.6:33145 dest: /10.251.30.6:5001",
          "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.25.1.1:50"],
         "Receiving block <*> src: <*> dest: <*>"),
        (["Deleting block blk_1781953582842324563 file /mnt/hadoop/dfs/data/current/subdir5/blk_1",
          "Deleting block blk_-4980916519894289629 file /mnt/hadoop/dfs/data/current/blk_-49"],
         "Deleting block <*> file <*>"),
        (["Accepted password for alice from 192.168.1.10 port 50122 ssh2"] * 2,
         "Accepted password for alice from <*> port <*> ssh2"),
        (["session opened for user root by (uid=0)", "session opened for user root by (uid=1000)"],
         "session opened for user root by (uid=<*>)"),
        (["job finished in 35 ms", "job finished in 1204 ms"], "job finished in <*> ms"),
        # a key's values are one variable at once
        (["login user=alice status=ok", "login user=bob status=ok"],
         "login user=<*> status=ok"),
        # words at one position become a variable once enough of them were seen
        ([f"Invalid user {name} from 10.0.0.{i}" for i, name in
          enumerate(["admin", "oracle", "guest", "webmaster", "test"])],
         "Invalid user <*> from <*>"),
        # a value spanning a varying number of words (a quantity with a conversion)
        (["conn close, 403 bytes sent, 0 bytes received",
          "conn close, 1190 bytes (1.16 KB) sent, 9 bytes received"],
         "conn close, <*> sent, <*> bytes received"),
        # a quoted request line is one value
        (['10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200 len: 1893',
          '10.11.10.1 "GET /v2/flavors HTTP/1.1" status: 404 len: 12'],
         '<*> "GET <*>" status: <*> len: <*>'),
    ],
)  # fmt: skip
def test_templates_of_typical_lines(lines: list[str], template: str) -> None:
    assert final_templates(lines) == [template] * len(lines)


@pytest.mark.parametrize(
    "lines",
    [
        # the first word names the event
        ["boot (command 1911)", "halt (command 1982)", "wait (command 1975)"],
        # named states
        ["[instance: 9f4ef63] VM Started (Lifecycle Event)",
         "[instance: 9f4ef63] VM Stopped (Lifecycle Event)",
         "[instance: 9f4ef63] VM Paused (Lifecycle Event)",
         "[instance: 9f4ef63] VM Resumed (Lifecycle Event)"],
        # constants that share a long dotted name
        ["onReceive action: android.intent.action.SCREEN_ON",
         "onReceive action: android.intent.action.SCREEN_OFF"],
        # an empty value is a form of its own
        ["auth failure; tty=NODEVssh rhost=10.0.0.1", "auth failure; tty=NODEVssh rhost="],
        ["normal", "warning", "critical", "running", "blocked", "active"],
    ],
)  # fmt: skip
def test_different_events_stay_apart(lines: list[str]) -> None:
    _, ids = mine(lines)
    assert len(set(ids)) == len(lines)


def test_lines_of_one_shape_keep_their_own_kept_digits() -> None:
    """``eth0`` and ``eth1`` have one shape (digits made 0) but masking keeps them apart."""
    miner = TemplateMiner()
    a = miner.add("link up on eth0 after 20 ms")
    b = miner.add("link up on eth1 after 35 ms")
    assert miner.add("link up on eth0 after 99 ms") == a
    assert miner.add("link up on eth1 after 12 ms") == b
    assert a != b
    assert miner.template(a) == "link up on eth0 after <*> ms"
    assert miner.template(b) == "link up on eth1 after <*> ms"


def test_an_id_survives_generalisation() -> None:
    miner = TemplateMiner()
    first = miner.add("Invalid user admin from 10.0.0.1")
    assert miner.template(first) == "Invalid user admin from <*>"
    for name in ["oracle", "guest", "webmaster", "test", "pi"]:
        miner.add(f"Invalid user {name} from 10.0.0.2")
    assert miner.resolve(first) == first  # the oldest id lives on
    assert miner.template(first) == "Invalid user <*> from <*>"
    assert miner.add("Invalid user someone-new from 10.0.0.3") == first
    merged = miner.counters.templates_merged
    assert merged >= 1 and len(miner) == 1
    assert miner.counters.templates_created == merged + 1


def test_merged_ids_resolve_to_the_older_one() -> None:
    miner = TemplateMiner()
    ids = [miner.add(f"Invalid user {name} from 10.0.0.1") for name in ["a1x", "b", "c", "d", "e"]]
    assert len(set(ids)) > 1  # the first lines were kept apart until the position looked variable
    assert {miner.resolve(i) for i in ids} == {ids[0]}
    assert miner.template(ids[-1]) == "Invalid user <*> from <*>"


def test_templates_lists_the_most_frequent_first() -> None:
    miner, _ = mine(["a 1", "b 2", "b 3", "c", "b 4", "a 5"])
    assert [(t.template, t.count) for t in miner.templates()] == [
        ("b <*>", 3),
        ("a <*>", 2),
        ("c", 1),
    ]
    assert sum(t.count for t in miner.templates()) == miner.counters.lines == 6


def test_the_least_recently_seen_template_is_evicted() -> None:
    miner = TemplateMiner(max_templates=3)
    first = miner.add("alpha event 1")
    miner.add("beta event 1")
    miner.add("gamma event 1")
    miner.add("alpha event 2")  # alpha is recent again: beta is now the oldest
    delta = miner.add("delta event 1")
    assert len(miner) == 3
    assert miner.counters.templates_evicted == 1
    assert [t.template for t in miner.templates()] == [
        "alpha event <*>",
        "gamma event <*>",
        "delta event <*>",
    ]
    assert miner.template(first) == "alpha event <*>" and miner.template(delta) is not None
    # an evicted template is forgotten: its lines found a new one with a new id
    beta = miner.add("beta event 7")
    assert beta > delta and miner.template(beta) == "beta event <*>"


def test_memory_stays_bounded_under_churn() -> None:
    miner = TemplateMiner(max_templates=50, cache_size=100)
    rng = random.Random(7)
    words = [f"w{i}x" for i in range(400)]
    for _ in range(3000):
        miner.add(" ".join(rng.sample(words, 3)) + f" value {rng.randrange(10**6)}")
    assert len(miner) <= 50
    assert miner.counters.templates_evicted >= miner.counters.templates_created - 50
    assert len(miner._by_mask) <= 100 and len(miner._by_shape) <= 100
    assert len(miner._alias) <= sum(len(c.aliases) for c in miner._clusters.values())


def test_a_long_line_is_read_up_to_max_line() -> None:
    miner = TemplateMiner(max_line=20)
    a = miner.add("x" * 10 + " tail one " + "y" * 10_000)
    b = miner.add("x" * 10 + " tail one " + "z" * 10)
    assert a == b and miner.template(a) == "x" * 10 + " tail one"


def test_a_line_of_many_tokens_is_read_up_to_max_tokens() -> None:
    """Work per line is bounded: past 256 tokens the rest of a line is one value."""
    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "7", "x=1", "/p/q", "(a)"]
    miner = TemplateMiner()
    ids = []
    for i in range(200):
        tail = " ".join(rng.choice(words) for _ in range(2000))
        ids.append(miner.add(f"batch {i} holds {tail}"))
    for cid in ids:
        template = miner.template(cid)
        assert template is not None and len(template.split()) <= 256
        assert template.startswith("batch <*> holds ") and template.endswith("<*>")


def test_state_round_trips_through_json() -> None:
    lines = [
        "Receiving block blk_1 src: /10.0.0.1:1 dest: /10.0.0.2:2",
        "Invalid user admin from 10.0.0.1",
        "Invalid user guest from 10.0.0.2",
        "conn close, 1190 bytes (1.16 KB) sent",
        "login user=alice status=ok",
    ]
    more = [
        "Invalid user oracle from 10.0.0.3",
        "Invalid user test from 10.0.0.4",
        "Invalid user pi from 10.0.0.5",
        "login user=bob status=ok",
        "conn close, 3 bytes sent",
        "brand new line 1",
    ]
    original = TemplateMiner(max_templates=100, max_aliases=10)
    ids = [original.add(line) for line in lines]
    saved = json.loads(json.dumps(original.to_state()))  # plain JSON data, no pickle
    restored = TemplateMiner.from_state(saved)

    assert restored.to_state() == original.to_state()
    assert [restored.template(i) for i in ids] == [original.template(i) for i in ids]
    assert restored.counters == original.counters and len(restored) == len(original)
    # both go on the same way: same ids, same templates, same merges
    assert [restored.add(line) for line in more] == [original.add(line) for line in more]
    assert restored.to_state() == original.to_state()
    assert [restored.resolve(i) for i in ids] == [original.resolve(i) for i in ids]


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"format": "pickle"},
        {"format": "agentdeck.logintel.mining/1"},
        {"format": "agentdeck.logintel.mining/1", "max_templates": 10, "cache_size": 10,
         "max_line": 10, "max_aliases": 1, "next_id": 3, "counters": {},
         "templates": []},
        {"format": "agentdeck.logintel.mining/1", "max_templates": 10, "cache_size": 10,
         "max_line": 10, "max_aliases": 1, "next_id": 3,
         "counters": {"lines": 1, "templates_created": 1, "templates_merged": 0,
                      "templates_evicted": 0},
         "templates": [{"id": 1, "tokens": ["a"], "shapes": [], "count": 1, "aliases": []}]},
        {"format": "agentdeck.logintel.mining/1", "max_templates": 0, "cache_size": 10,
         "max_line": 10, "max_aliases": 1, "next_id": 3,
         "counters": {"lines": 0, "templates_created": 0, "templates_merged": 0,
                      "templates_evicted": 0},
         "templates": []},
    ],
)  # fmt: skip
def test_a_malformed_state_is_refused(state: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TemplateMiner.from_state(state)


# -- grouping: lines generated from known templates with random values group back

_VALUES = {
    "int": st.integers(0, 10**9).map(str),
    "ip": st.tuples(*[st.integers(0, 255)] * 4, st.integers(1, 65535)).map(
        lambda t: "{}.{}.{}.{}:{}".format(*t)
    ),
    "hex": st.integers(0x1000, 2**48).map(hex),
    "block": st.integers(-(2**62), 2**62).map(lambda n: f"blk_{n}"),
    "path": st.lists(st.sampled_from(["var", "log", "tmp", "data", "a1", "b_2"]), min_size=1,
                     max_size=4).map(lambda parts: "/" + "/".join(parts)),
    "duration": st.floats(0, 1e4, allow_nan=False).map(lambda f: f"{f:.3f}"),
}  # fmt: skip

TEMPLATES = [
    ("Receiving block {block} src: {ip} dest: {ip}", "Receiving block <*> src: <*> dest: <*>"),
    ("PacketResponder {int} for block {block} terminating",
     "PacketResponder <*> for block <*> terminating"),
    ("Deleting block {block} file {path}", "Deleting block <*> file <*>"),
    ("Verification succeeded for {block}", "Verification succeeded for <*>"),
    ("request took {duration} ms status={int}", "request took <*> ms status=<*>"),
    ("worker {hex} restarted after {int} failures", "worker <*> restarted after <*> failures"),
    ("worker {hex} stopped", "worker <*> stopped"),
    ("cache miss for key {hex} on {ip}", "cache miss for key <*> on <*>"),
]  # fmt: skip


@st.composite
def _corpus(draw: st.DrawFn) -> list[tuple[int, str]]:
    picks = draw(st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=20, max_size=120))
    lines = []
    for k in picks:
        text = TEMPLATES[k][0]
        while "{" in text:
            start = text.index("{")
            name = text[start + 1 : text.index("}", start)]
            text = text[:start] + draw(_VALUES[name]) + text[text.index("}", start) + 1 :]
        lines.append((k, text))
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_corpus())
def test_lines_from_known_templates_group_back(corpus: list[tuple[int, str]]) -> None:
    miner, ids = mine([text for _, text in corpus])
    by_template: dict[int, set[int]] = {}
    for (k, _), cid in zip(corpus, ids, strict=True):
        by_template.setdefault(k, set()).add(cid)
    assert all(len(clusters) == 1 for clusters in by_template.values())  # nothing split
    assert len({next(iter(c)) for c in by_template.values()}) == len(by_template)  # nor joined
    for k, clusters in by_template.items():
        assert miner.template(next(iter(clusters))) == TEMPLATES[k][1]
