"""The LogStore contract: every test runs against the DuckDB store and a real ClickHouse."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence

import pytest

from agentdeck.logstore.base import (
    Cursor,
    FieldFilter,
    LineFilter,
    LogColumns,
    LogQuery,
    LogQueryError,
    LogRecord,
    LogStore,
    LogStoreError,
    Matcher,
    RecordIds,
    Severity,
)
from agentdeck.logstore.logql import matches, parse

SECOND = 1_000_000_000
T0 = 1_717_372_800 * SECOND  # 2024-06-03T00:00:00Z
DAY = 86_400 * SECOND
END = T0 + 3 * DAY


def rec(
    tenant: uuid.UUID,
    ts_ns: int,
    message: str = "hello",
    *,
    id: str | None = None,
    ids: RecordIds | None = None,
    **fields: object,
) -> LogRecord:
    record_id = id if id is not None else (ids or RecordIds()).next(ts_ns)
    values: dict[str, object] = {
        "service": "api",
        "severity": Severity.INFO,
        "observed_ns": ts_ns + 5,
    }
    values.update(fields)
    return LogRecord(
        id=record_id,
        tenant_id=tenant,
        ts_ns=ts_ns,
        message=message,
        **values,  # type: ignore[arg-type]
    )


def newest_first(records: Sequence[LogRecord]) -> list[LogRecord]:
    return sorted(records, key=lambda r: (r.ts_ns, r.id), reverse=True)


async def everything(
    store: LogStore, tenant: uuid.UUID, query: LogQuery | str = "", *, direction: str = "backward"
) -> list[LogRecord]:
    parsed = parse(query) if isinstance(query, str) else query
    page = await store.search(
        tenant, parsed, start_ns=0, end_ns=END, limit=10_000, direction=direction
    )
    assert page.next_cursor is None or len(page.records) == 10_000
    return list(page.records)


async def test_ping(store: LogStore) -> None:
    await store.ping()


async def test_round_trip_with_unicode_labels_and_every_field(store: LogStore) -> None:
    tenant = uuid.uuid4()
    written = [
        rec(
            tenant,
            T0 + SECOND,
            "日本語 ✓ émoji 😀\nsecond line\ttab \\ \"quoted\" 'single' \x01",
            service="sérvice-α",
            severity=Severity.CRITICAL,
            agent="agent-ü",
            labels={"ключ": "значение", "k8s.pod": "web-1", "empty": "", "a/b": "c~d"},
            trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            span_id="00f067aa0ba902b7",
            truncated=True,
            template_id=-42,
            observed_ns=T0 + 2 * SECOND,
        ),
        rec(tenant, T0 + 2 * SECOND, "x" * 200_000, template_id=2**62),
        rec(tenant, T0 + 3 * SECOND, "", service="", severity=Severity.DEBUG),
    ]
    await store.write(written)
    got = await everything(store, tenant, direction="forward")
    assert got == written
    for record in written:
        assert await store.get(tenant, record.id) == record
    assert await store.get(tenant, "no-such-id") is None


async def test_write_of_nothing_and_records_of_many_tenants(store: LogStore) -> None:
    await store.write([])
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.write([rec(a, T0 + 1), rec(b, T0 + 2), rec(a, T0 + 3)])
    assert [r.ts_ns for r in await everything(store, a)] == [T0 + 3, T0 + 1]
    assert [r.ts_ns for r in await everything(store, b)] == [T0 + 2]


async def test_write_columns_round_trips_like_records(store: LogStore) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    shared = {"env": "prod", "ключ": "значение"}
    written = [
        rec(tenant, T0 + SECOND, "first ✓", labels=shared, agent="a1"),
        rec(
            tenant,
            T0 + 2 * SECOND,
            "x" * 70_000,
            service="web",
            severity=Severity.ERROR,
            labels=shared,
            trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            span_id="00f067aa0ba902b7",
            truncated=True,
        ),
        rec(tenant, T0 + 3 * SECOND, "", service="", severity=Severity.DEBUG),
    ]
    with_template = [rec(tenant, T0 + 4 * SECOND, "templated", template_id=7)]
    batch = LogColumns.of(tenant, written)
    assert batch.template_id is None and batch.records() == written
    await store.write_columns(batch)
    await store.write_columns(LogColumns.of(tenant, with_template))
    await store.write_columns(LogColumns.of(tenant, []))
    # Columns and records written concurrently (one group commit) both land.
    await asyncio.gather(
        store.write_columns(LogColumns.of(other, [rec(other, T0 + 5)])),
        store.write([rec(other, T0 + 6)]),
    )
    assert await everything(store, tenant, direction="forward") == written + with_template
    assert await store.get(tenant, written[1].id) == written[1]
    assert [r.ts_ns for r in await everything(store, other)] == [T0 + 6, T0 + 5]


async def test_write_columns_refuses_ragged_columns(store: LogStore) -> None:
    tenant = uuid.uuid4()
    batch = LogColumns.of(tenant, [rec(tenant, T0 + 1), rec(tenant, T0 + 2)])
    batch.message = ["only one"]
    with pytest.raises(LogStoreError):
        await store.write_columns(batch)
    assert await everything(store, tenant) == []


# --- a corpus and the queries over it ---------------------------------------------------------

SERVICES = ("api", "web", "db", "queue-worker")
AGENTS = ("a1", "a2", "agent-7", "")
WORDS = (
    "timeout",
    "Timeout",
    "TIMEOUT",
    "error",
    "retry",
    "GET /api/v1/orders",
    "POST /login",
    "héllo",
    "日本",
    "😀",
    "status=500",
    "status=200",
    "a.b",
    "a+b",
    "line\nbreak",
    "tab\there",
    "x" * 30,
    '"quoted"',
    "back\\slash",
    "",
)


def corpus(tenant: uuid.UUID, n: int = 400, seed: int = 3) -> list[LogRecord]:
    rng = random.Random(seed)
    ids = RecordIds(node=0xABCDEF01)
    out = []
    ts = T0
    for i in range(n):
        ts += rng.choice((0, 0, 1, 7, SECOND, 30 * SECOND, 600 * SECOND))
        kind = rng.random()
        if kind < 0.15:
            message = (
                f'{{"status": {rng.choice([200, 500, 404])}, "user": "u{rng.randint(1, 4)}", '
                f'"msg": "{rng.choice(["ok", "timeout", "héllo"])}", '
                f'"nested": {{"k": "{rng.choice(["v1", "v2"])}"}}, '
                f'"ok": {rng.choice(["true", "false"])}}}'
            )
        elif kind < 0.3:
            message = (
                f"level={rng.choice(['info', 'warn', 'error'])} user=u{rng.randint(1, 4)} "
                f'msg="{rng.choice(["request done", "timeout reached", "é ok"])}" '
                f"dur={rng.randint(1, 900)}ms"
            )
        else:
            message = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6)))
        labels = {}
        if rng.random() < 0.6:
            labels["region"] = rng.choice(["eu-west", "us-east", "ap"])
        if rng.random() < 0.4:
            labels["k8s.pod"] = rng.choice(["web-1", "web-2", "db-0"])
        if rng.random() < 0.2:
            labels["ключ"] = rng.choice(["значение", "x"])
        record_id = ids.next(ts) if i % 5 else f"custom-{rng.randint(0, 10**9):09d}-{i}"
        out.append(
            rec(
                tenant,
                ts,
                message,
                id=record_id,
                service=rng.choice(SERVICES),
                severity=rng.choice(list(Severity)),
                agent=rng.choice(AGENTS),
                labels=labels,
                trace_id=rng.choice(["", "", "abc123", "def456"]),
                span_id=rng.choice(["", "s1"]),
                template_id=rng.choice([None, None, 1, 2, 17]),
            )
        )
    return out


AGREEMENT_QUERIES = (
    "",
    "{}",
    '{service="api"}',
    '{service!="api"}',
    '{service=~"a.*|db"}',
    '{service!~"(?i)API|queue-.*"}',
    '{severity="warn"}',
    '{severity!="info"}',
    '{severity=~"err.*|crit.*"}',
    '{severity!~"DEBUG|INFO"}',
    '{severity=""}',
    '{agent="a1"}',
    '{agent=""}',
    '{agent!=""}',
    '{agent=~"a[0-9]"}',
    '{agent!~".*-7"}',
    '{trace_id="abc123"}',
    '{trace_id=""}',
    '{span_id!=""}',
    '{template="17"}',
    '{template=""}',
    '{template!="1"}',
    '{template=~"1|2"}',
    '{template!~""}',
    '{template="01"}',
    '{region="eu-west"}',
    '{region!="eu-west"}',
    '{region=""}',
    '{region=~"eu.*|ap"}',
    '{region!~"us-.*"}',
    '{k8s.pod=~"web-[12]", region!=""}',
    '{ключ="значение"}',
    '{missing=""}',
    '{missing!=""}',
    '{missing=~".*"}',
    '|= "timeout"',
    '!= "timeout"',
    '|= "héllo" |= "日本"',
    '|= ""',
    '|~ "(?i)timeout"',
    '!~ "[Tt]imeout"',
    '|~ "line.break"',
    '|~ "^$"',
    '|~ "a\\\\.b"',
    '|~ "😀|日本"',
    '|= "\\"quoted\\""',
    '|= "back\\\\slash"',
    '{service="api"} |= "timeout" != "retry"',
    '{service=~"api|web", severity!="DEBUG"} |~ "status=[0-9]+" !~ "200"',
    '| json | status="500"',
    '| json | user=~"u[12]" | ok="true"',
    '| json | nested_k="v2"',
    '| json | msg!="ok"',
    '| json | missing=""',
    '| logfmt | level="error"',
    '| logfmt | msg=~"timeout.*" | user!="u1"',
    '| logfmt | dur!~"[0-9]{3}ms"',
    '{service="web"} |= "status" | json | status!="200"',
    '| json | status="500" | logfmt | level=""',
)


@pytest.mark.parametrize("text", AGREEMENT_QUERIES)
async def test_stores_agree_with_logql_matches(store: LogStore, text: str) -> None:
    tenant = uuid.uuid4()
    records = corpus(tenant)
    await store.write(records)
    query = parse(text)
    want = newest_first([r for r in records if matches(query, r)])
    got = await everything(store, tenant, query)
    assert [r.id for r in got] == [r.id for r in want]
    assert got == want


FIELD_VALUES = {
    "service": [*SERVICES, ""],
    "agent": [*AGENTS],
    "trace_id": ["abc123", "def456", ""],
    "span_id": ["s1", ""],
    "template": ["1", "2", "17", ""],
    "region": ["eu-west", "us-east", "ap", ""],
    "k8s.pod": ["web-1", "web-2", "db-0", ""],
    "ключ": ["значение", "x", ""],
    "missing": ["", "x"],
    "severity": ["ERROR", "INFO", "WARNING", ""],
}


def random_query(rng: random.Random) -> LogQuery:
    """A query of random matchers and filters over the corpus's vocabulary."""
    regexes = ["a.*", ".*-[0-9]", "", "(?i)API|db", "e.*|ap", "[0-9]+", ".+", "web-[12]", ".*"]
    words = ["timeout", "Timeout", "héllo", "status=", "a.b", "", "😀", "\n", " "]
    line_regexes = ["[Tt]imeout", "^$", "日本|😀", "status=[0-9]{3}", "(?i)error", "line.break"]
    matchers = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        op = rng.choice(["=", "!=", "=~", "!~"])
        name = rng.choice(list(FIELD_VALUES))
        value = rng.choice(regexes if "~" in op else FIELD_VALUES[name])
        matchers.append(Matcher(name, op, value))
    lines = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        op = rng.choice(["|=", "!=", "|~", "!~"])
        lines.append(LineFilter(op, rng.choice(line_regexes if "~" in op else words)))
    fields = []
    for _ in range(1 if rng.random() < 0.3 else 0):
        op = rng.choice(["=", "!=", "=~", "!~"])
        name = rng.choice(["status", "user", "level", "msg", "nested_k", "ok", "dur"])
        plain = ["500", "u1", "error", "ok", "v2", "true", ""]
        value = rng.choice(["u[12]", "time.*", "[0-9]+ms", "e.*"] if "~" in op else plain)
        fields.append(FieldFilter(rng.choice(["json", "logfmt"]), name, op, value))
    return LogQuery(tuple(matchers), tuple(lines), tuple(fields))


async def test_random_queries_agree_with_logql_matches(store: LogStore) -> None:
    tenant = uuid.uuid4()
    records = corpus(tenant, n=300, seed=11)
    await store.write(records)
    rng = random.Random(5)
    for _ in range(60):
        query = random_query(rng)
        want = [r.id for r in newest_first([r for r in records if matches(query, r)])]
        assert [r.id for r in await everything(store, tenant, query)] == want, query


async def test_matchers_select_what_they_say(store: LogStore) -> None:
    """Expectations written out by hand (not through logql.matches) for each operator."""
    tenant = uuid.uuid4()
    records = corpus(tenant)
    await store.write(records)
    cases: dict[str, Callable[[LogRecord], bool]] = {
        '{service="api"}': lambda r: r.service == "api",
        '{service!="api"}': lambda r: r.service != "api",
        '{service=~"a.*"}': lambda r: r.service.startswith("a"),
        '{service!~"a.*"}': lambda r: not r.service.startswith("a"),
        '{severity="error"}': lambda r: r.severity is Severity.ERROR,
        '{severity=~"warn.*|err.*"}': lambda r: r.severity in (Severity.WARNING, Severity.ERROR),
        '{region="ap"}': lambda r: r.labels.get("region") == "ap",
        '{region!="ap"}': lambda r: r.labels.get("region") != "ap",
        '{region=~"e.*"}': lambda r: r.labels.get("region", "").startswith("e"),
        '{region!~"e.*"}': lambda r: not r.labels.get("region", "").startswith("e"),
        '{template="17"}': lambda r: r.template_id == 17,
        '|= "timeout"': lambda r: "timeout" in r.message,
        '!= "timeout"': lambda r: "timeout" not in r.message,
        '|~ "[Tt]imeout"': lambda r: "timeout" in r.message or "Timeout" in r.message,
        '!~ "[Tt]imeout"': lambda r: not ("timeout" in r.message or "Timeout" in r.message),
        '| json | status="500"': lambda r: (
            r.message.startswith("{") and '"status": 500' in r.message
        ),
        '| logfmt | level="warn"': lambda r: r.message.startswith("level=warn "),
    }
    for text, predicate in cases.items():
        want = [r.id for r in newest_first([r for r in records if predicate(r)])]
        assert want, text  # the corpus has lines of each kind
        assert [r.id for r in await everything(store, tenant, text)] == want, text


# --- paging --------------------------------------------------------------------------------------


async def test_cursor_paging_both_ways_with_equal_timestamps(store: LogStore) -> None:
    tenant = uuid.uuid4()
    ids = RecordIds()
    records = []
    for i in range(61):
        ts = T0 + (i // 20) * SECOND  # runs of 20 lines in the same nanosecond
        record_id = ids.next(ts) if i % 3 else f"z-{i:03d}"
        records.append(rec(tenant, ts, f"line {i}", id=record_id))
    random.Random(1).shuffle(records)
    for start in range(0, len(records), 9):  # written out of order, in pieces
        await store.write(records[start : start + 9])
    for direction in ("backward", "forward"):
        seen: list[LogRecord] = []
        cursor: Cursor | None = None
        pages = 0
        while True:
            page = await store.search(
                tenant,
                LogQuery(),
                start_ns=T0,
                end_ns=T0 + 10 * SECOND,
                limit=7,
                direction=direction,
                cursor=cursor,
            )
            seen.extend(page.records)
            pages += 1
            assert pages < 20
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        want = newest_first(records)
        if direction == "forward":
            want.reverse()
        assert [r.id for r in seen] == [r.id for r in want], direction


async def test_range_is_start_inclusive_end_exclusive(store: LogStore) -> None:
    tenant = uuid.uuid4()
    await store.write([rec(tenant, T0 + i * SECOND, f"l{i}") for i in range(5)])
    page = await store.search(
        tenant, LogQuery(), start_ns=T0 + SECOND, end_ns=T0 + 3 * SECOND, limit=10
    )
    assert [r.message for r in page.records] == ["l2", "l1"]
    page = await store.search(
        tenant, LogQuery(), start_ns=T0, end_ns=T0 + 5 * SECOND, limit=2, direction="forward"
    )
    assert [r.message for r in page.records] == ["l0", "l1"]
    assert page.next_cursor == Cursor(page.records[-1].ts_ns, page.records[-1].id)
    empty = await store.search(tenant, LogQuery(), start_ns=T0, end_ns=T0, limit=10)
    assert list(empty.records) == [] and empty.next_cursor is None


async def test_field_filter_search_pages_over_sparse_matches(store: LogStore) -> None:
    tenant = uuid.uuid4()
    records = [
        rec(tenant, T0 + i * SECOND, '{"hit": "yes"}' if i % 50 == 0 else f"noise {i}")
        for i in range(12_000)
    ]
    for start in range(0, len(records), 4000):
        await store.write(records[start : start + 4000])
    query = parse('| json | hit="yes"')
    page = await store.search(tenant, query, start_ns=T0, end_ns=END, limit=100)
    want = [r.id for r in newest_first(records) if r.message == '{"hit": "yes"}']
    assert [r.id for r in page.records] == want[:100]
    page = await store.search(tenant, query, start_ns=T0, end_ns=END, limit=300)
    assert [r.id for r in page.records] == want and page.next_cursor is None


# --- histogram ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "predicate"),
    [
        ("", lambda r: True),
        ('{service="api"}', lambda r: r.service == "api"),
        ('|= "timeout"', lambda r: "timeout" in r.message),
        ('| logfmt | level="error"', lambda r: r.message.startswith("level=error ")),
    ],
)
async def test_histogram_matches_a_python_count(
    store: LogStore, text: str, predicate: Callable[[LogRecord], bool]
) -> None:
    tenant = uuid.uuid4()
    records = corpus(tenant, n=600)
    await store.write(records)
    step = 300 * SECOND
    start, end = T0 + 7 * SECOND, records[-1].ts_ns  # an unaligned start, the last line out
    want: dict[int, Counter[Severity]] = {}
    for r in records:
        if start <= r.ts_ns < end and predicate(r):
            bucket = r.ts_ns // step * step
            want.setdefault(bucket, Counter())[r.severity] += 1
    got = await store.histogram(tenant, parse(text), start_ns=start, end_ns=end, step_ns=step)
    assert [b.start_ns for b in got] == sorted(want)
    for bucket in got:
        assert bucket.start_ns % step == 0
        assert dict(bucket.counts) == dict(want[bucket.start_ns])


async def test_histogram_refuses_bad_steps(store: LogStore) -> None:
    tenant = uuid.uuid4()
    with pytest.raises(LogQueryError):
        await store.histogram(tenant, LogQuery(), start_ns=T0, end_ns=END, step_ns=0)
    with pytest.raises(LogQueryError):
        await store.histogram(tenant, LogQuery(), start_ns=T0, end_ns=END, step_ns=1)


# --- context, labels ---------------------------------------------------------------------------


async def test_context_is_the_same_service_around_the_line(store: LogStore) -> None:
    tenant = uuid.uuid4()
    records = []
    for i in range(30):
        ts = T0 + (i // 4) * SECOND  # equal timestamps inside the window too
        records.append(rec(tenant, ts, f"line {i}", service="api" if i % 3 else "web"))
    await store.write(records)
    api = sorted((r for r in records if r.service == "api"), key=lambda r: (r.ts_ns, r.id))
    middle = api[8]
    context = await store.context(tenant, middle.id, before=3, after=2)
    assert context is not None
    assert context.record == middle
    assert list(context.before) == api[5:8]
    assert list(context.after) == api[9:11]
    assert context.more_before and context.more_after
    edge = await store.context(tenant, api[1].id, before=5, after=0)
    assert edge is not None and list(edge.before) == api[:1] and list(edge.after) == []
    assert not edge.more_before and edge.more_after
    exact = await store.context(tenant, middle.id, before=8, after=len(api) - 9)
    assert exact is not None and list(exact.before) == api[:8] and list(exact.after) == api[9:]
    assert not exact.more_before and not exact.more_after
    assert await store.context(tenant, "missing", before=1, after=1) is None


async def test_label_names_and_values(store: LogStore) -> None:
    tenant = uuid.uuid4()
    await store.write(
        [
            rec(tenant, T0 + 1, labels={"region": "eu", "k8s.pod": "web-1"}),
            rec(tenant, T0 + 2, labels={"region": "us"}, agent="a1", severity=Severity.ERROR),
            rec(tenant, T0 + 3, labels={"zone": "z"}, service="web", template_id=7),
            rec(tenant, T0 + DAY, labels={"late": "x"}, trace_id="t", service="db"),
        ]
    )
    names = await store.label_names(tenant, start_ns=T0, end_ns=T0 + 10)
    assert names == ["agent", "k8s.pod", "region", "service", "severity", "template", "zone"]
    later = await store.label_names(tenant, start_ns=T0 + 10, end_ns=END)
    assert later == ["late", "service", "severity", "trace_id"]
    assert await store.label_names(tenant, start_ns=END, end_ns=END + DAY) == []

    async def values(name: str, limit: int = 100) -> list[str]:
        return list(await store.label_values(tenant, name, start_ns=T0, end_ns=END, limit=limit))

    assert await values("region") == ["eu", "us"]
    assert await values("region", limit=1) == ["eu"]
    assert await values("service") == ["api", "db", "web"]
    assert await values("severity") == ["ERROR", "INFO"]
    assert await values("agent") == ["a1"]
    assert await values("template") == ["7"]
    assert await values("trace_id") == ["t"]
    assert await values("nothing") == []

    async def narrowed(name: str, selector: str) -> list[str]:
        found = await store.label_values(
            tenant, name, start_ns=T0, end_ns=END, limit=100, query=parse(selector)
        )
        return list(found)

    assert await narrowed("region", '{severity="error"}') == ["us"]
    assert await narrowed("service", '{region=~"eu|us"}') == ["api"]
    assert await narrowed("severity", '{service!="api"}') == ["INFO"]
    assert await narrowed("template", '{zone="z"}') == ["7"]
    assert await narrowed("region", '{service="db"}') == []


# --- tenancy, retention, errors -----------------------------------------------------------------


async def test_tenant_b_never_sees_tenant_a(store: LogStore) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    records = corpus(a, n=50)
    await store.write(records)
    await store.write([rec(b, T0 + 1, "b's own line", service="b-svc", labels={"mine": "1"})])
    assert [r.message for r in await everything(store, b)] == ["b's own line"]
    hist = await store.histogram(b, LogQuery(), start_ns=0, end_ns=END, step_ns=DAY)
    assert sum(sum(x.counts.values()) for x in hist) == 1
    for record in records[:10]:
        assert await store.get(b, record.id) is None
        assert await store.context(b, record.id, before=5, after=5) is None
    assert await store.label_names(b, start_ns=0, end_ns=END) == ["mine", "service", "severity"]
    assert list(await store.label_values(b, "service", start_ns=0, end_ns=END, limit=10)) == [
        "b-svc"
    ]
    assert list(await store.label_values(b, "region", start_ns=0, end_ns=END, limit=10)) == []
    assert await everything(store, uuid.uuid4()) == []


async def test_delete_before_per_tenant(store: LogStore) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Three days of lines per tenant, so a backend may drop whole days.
    times = [T0 + h * 3600 * SECOND for h in range(0, 72, 6)]
    await store.write([rec(t, ts, f"{ts}") for t in (a, b, c) for ts in times])
    cut_a = T0 + 36 * 3600 * SECOND  # a: its own cutoff (mid day 2)
    default = T0 + 30 * 3600 * SECOND  # b: the default
    deleted = await store.delete_before({a: cut_a, c: 0}, default_ns=default)  # c: keeps all
    want_a = [ts for ts in times if ts >= cut_a]
    want_b = [ts for ts in times if ts >= default]
    assert deleted == 2 * len(times) - len(want_a) - len(want_b)
    assert sorted(r.ts_ns for r in await everything(store, a)) == want_a
    assert sorted(r.ts_ns for r in await everything(store, b)) == want_b
    assert sorted(r.ts_ns for r in await everything(store, c)) == times
    # a later cutoff that passes whole days for everyone
    late = T0 + 49 * 3600 * SECOND
    await store.delete_before({}, default_ns=late)
    for tenant in (a, b, c):
        assert sorted(r.ts_ns for r in await everything(store, tenant)) == [
            ts for ts in times if ts >= late
        ]
    assert await store.delete_before({}, default_ns=late) == 0


async def test_bad_regexes_are_query_errors(store: LogStore) -> None:
    tenant = uuid.uuid4()
    await store.write([rec(tenant, T0 + 1, "timeout")])
    bad = [
        LogQuery(line_filters=(LineFilter("|~", "(unclosed"),)),
        LogQuery(matchers=(Matcher("service", "=~", "a{2000}"),)),
        LogQuery(matchers=(Matcher("region", "!~", "(?=lookahead)"),)),
        LogQuery(line_filters=(LineFilter("~~", "x"),)),
    ]
    for query in bad:
        with pytest.raises(LogQueryError):
            await store.search(tenant, query, start_ns=0, end_ns=END, limit=10)
        with pytest.raises(LogQueryError):
            await store.histogram(tenant, query, start_ns=0, end_ns=END, step_ns=DAY)
    with pytest.raises(LogQueryError):
        await store.search(tenant, LogQuery(), start_ns=0, end_ns=END, limit=1, direction="up")
    # A regex bomb is linear time in RE2 (every engine)
    assert await everything(store, tenant, parse('|~ "^(a+)+$"')) == []
    # RE2 syntax an engine's older RE2 may lack: an answer or a query error, never more
    for text in ('|~ "(?P<word>time)out"', '|~ "(?<word>time)out"'):
        try:
            found = await everything(store, tenant, parse(text))
        except LogQueryError:
            continue
        assert [r.message for r in found] == ["timeout"]
