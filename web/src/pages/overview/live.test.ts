import { describe, expect, it } from "vitest";
import { appendPoint, counterRate, LiveFleet, throttle } from "./live";

const at = (s: number) => new Date(1_790_000_000_000 + s * 1000).toISOString();

describe("LiveFleet", () => {
  it("turns successive counter samples into per-agent and fleet rates", () => {
    const fleet = new LiveFleet();
    fleet.ingest([
      { metric: "agent_requests_total", labels: { agent: "a" }, value: 100, ts: at(0) },
      { metric: "agent_errors_total", labels: { agent: "a" }, value: 10, ts: at(0) },
      { metric: "agent_requests_total", labels: { agent: "b" }, value: 50, ts: at(0) },
      { metric: "agent_cpu_percent", labels: { agent: "a", replica: "1" }, value: 30, ts: at(0) },
      { metric: "agent_cpu_percent", labels: { agent: "a", replica: "2" }, value: 50, ts: at(0) },
    ]);
    expect(fleet.fleet()).toBeNull(); // one sample per counter: no rate yet
    expect(fleet.agent("a").cpu).toBe(40);
    const changed = fleet.ingest([
      { metric: "agent_requests_total", labels: { agent: "a" }, value: 120, ts: at(10) },
      { metric: "agent_errors_total", labels: { agent: "a" }, value: 11, ts: at(10) },
      { metric: "agent_requests_total", labels: { agent: "b" }, value: 80, ts: at(10) },
    ]);
    expect([...changed].sort()).toEqual(["a", "b"]);
    expect(fleet.agent("a")).toMatchObject({ requestRate: 2, errorRate: 0.05, lastSeen: at(10) });
    expect(fleet.fleet()).toEqual({ requestRate: 5, errorRate: 0.1 / 5 });
  });

  it("ignores out-of-order samples and counts a restart from zero", () => {
    const fleet = new LiveFleet();
    const s = (value: number, t: number) => ({ metric: "agent_requests_total", labels: { agent: "a" }, value, ts: at(t) });
    fleet.ingest([s(100, 0)]);
    fleet.ingest([s(150, 10)]);
    fleet.ingest([s(120, 5)]); // late: ignored
    expect(fleet.agent("a").requestRate).toBe(5);
    fleet.ingest([s(30, 20)]); // restarted
    expect(fleet.agent("a").requestRate).toBe(3);
    expect(counterRate({ t: 0, v: 1 }, { t: 0, v: 2 })).toBeNull();
  });
});

describe("appendPoint", () => {
  it("keeps the span and replaces a point that is not newer", () => {
    let points: [number, number | null][] = [];
    for (const t of [0, 10, 20, 30]) points = appendPoint(points, [t, t], 15);
    expect(points).toEqual([
      [20, 20],
      [30, 30],
    ]);
    expect(appendPoint(points, [30, 99], 15).at(-1)).toEqual([30, 99]);
  });
});

describe("throttle", () => {
  it("runs at once when idle, then once at the end of the gap", () => {
    let now = 0;
    const timers: { fn: () => void; ms: number }[] = [];
    let runs = 0;
    const t = throttle(() => (runs += 1), 1000, () => now, (fn, ms) => timers.push({ fn, ms }));
    t.call();
    expect(runs).toBe(1);
    now = 200;
    t.call();
    t.call();
    expect(runs).toBe(1);
    expect(timers.map((x) => x.ms)).toEqual([800]);
    now = 1000;
    timers[0]!.fn();
    expect(runs).toBe(2);
    now = 2500;
    t.call();
    expect(runs).toBe(3);
  });
});
